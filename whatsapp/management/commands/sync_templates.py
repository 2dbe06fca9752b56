"""Reconcile the template mirror with Meta for every WABA (or the ones named)."""

from django.core.management.base import BaseCommand, CommandError

from accounts.models import MetaAccount
from botopia_meta.graph import GraphError
from whatsapp.message_templates import services as template_services
from whatsapp.models import WhatsAppBusinessAccount


class Command(BaseCommand):
    help = (
        "Page through every message template at Meta and reconcile our mirror: add new ones, "
        "update changed ones, soft-delete those Meta no longer has."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--waba", action="append", default=[], help="Meta WABA id (repeatable).")

    def handle(self, *args, **options) -> None:
        matching = WhatsAppBusinessAccount.objects.filter(
            account__status=MetaAccount.Status.ACTIVE, account__deleted_at__isnull=True
        ).select_related("account")
        if options["waba"]:
            matching = matching.filter(waba_id__in=options["waba"])
        wabas = list(matching.order_by("created_at"))
        if not wabas:
            raise CommandError(
                "No WABA of an active Meta account matches. Connect one (POST /api/meta/auth/connect) "
                "or check the --waba ids in the admin."
            )
        failed = []
        total = template_services.SyncResult()
        for position, waba in enumerate(wabas, start=1):
            label = f"[{position}/{len(wabas)}] WABA {waba.waba_id}"
            seen = 0

            def progress(n: int, label: str = label) -> None:
                nonlocal seen
                seen += n
                filled = min(30, seen // 10)
                self.stdout.write(
                    f"\r{label} [{'#' * filled}{'.' * (30 - filled)}] {seen} template(s)", ending=""
                )
                self.stdout.flush()

            try:
                result = template_services.templates_sync(waba=waba, progress=progress)
            except GraphError as exc:
                failed.append(waba.waba_id)
                self.stdout.write("")
                self.stderr.write(
                    f"{label}: Meta refused ({exc.code}: {exc.message}). If the token expired, reconnect the "
                    "account; if Meta is throttling, run again later with --waba " + waba.waba_id
                )
                continue
            total.merge(result)
            self.stdout.write(
                f"\r{label}: {seen} at Meta; {result.added} added, {result.updated} updated, "
                f"{result.removed} removed{' ' * 20}"
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Done: {total.added} added, {total.updated} updated, {total.unchanged} unchanged, "
                f"{total.removed} removed across {len(wabas) - len(failed)} WABA(s)."
            )
        )
        if failed:
            raise CommandError(f"{len(failed)} WABA(s) failed: {', '.join(failed)}. Re-run with --waba <id>.")
