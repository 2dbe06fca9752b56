from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from rest_framework.authtoken.models import Token

from orgs.models import Membership, Organization, Role

DEMO_ORGANIZATION = "Demo business"
# username (= password), role in the demo organization, staff (admin login)
LOGINS = (("demo", Role.OWNER, True), ("agent", Role.AGENT, False))


class Command(BaseCommand):
    help = (
        "Create the demo logins (demo / demo, owner of the 'Demo business' organization; agent / "
        "agent, its agent) and print their API tokens. Development only (DEBUG on)."
    )

    def handle(self, *args, **options):
        if not settings.DEBUG:
            self.stdout.write("DEBUG is off: no demo user (it would have a known password).")
            return
        lines, tokens = [], []
        with transaction.atomic():
            organization = demo_organization()
            for username, role, staff in LOGINS:
                user, created = get_user_model().objects.get_or_create(
                    username=username, defaults={"is_staff": staff}
                )
                if created:
                    user.set_password(username)
                    user.is_superuser = staff
                    user.save()
                if not Membership.objects.filter(user=user, organization=organization).exists():
                    Membership.objects.create(
                        user=user,
                        organization=organization,
                        role=role,
                        is_default=not Membership.objects.filter(user=user, is_default=True).exists(),
                    )
                token, _ = Token.objects.get_or_create(user=user)
                tokens.append(token.key)
                lines.append(f"Demo login: {username} / {username} ({role} of {DEMO_ORGANIZATION})")
                lines.append(f"  API token: {token.key}")
        self.stdout.write(
            "\n".join(lines) + "\n(admin at /admin/ as demo)\n"
            f'  curl -H "Authorization: Token {tokens[0]}" {settings.PUBLIC_BASE_URL}/api/meta/auth/status'
        )


def demo_organization() -> Organization:
    """The demo business: the one organization the demo user owns (made once)."""
    owned = Organization.objects.filter(
        name=DEMO_ORGANIZATION, memberships__user__username="demo", memberships__role=Role.OWNER
    ).first()
    return owned or Organization.objects.create(name=DEMO_ORGANIZATION)
