from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from rest_framework.authtoken.models import Token


class Command(BaseCommand):
    help = "Create the demo login (demo / demo) and print its API token. Development only (DEBUG on)."

    def handle(self, *args, **options):
        if not settings.DEBUG:
            self.stdout.write("DEBUG is off: no demo user (it would have a known password).")
            return
        user, created = get_user_model().objects.get_or_create(username="demo", defaults={"is_staff": True})
        if created:
            user.set_password("demo")
            user.is_superuser = True
            user.save()
        token, _ = Token.objects.get_or_create(user=user)
        self.stdout.write(
            f"Demo login: demo / demo (admin at /admin/)\n"
            f"Demo API token: {token.key}\n"
            f'  curl -H "Authorization: Token {token.key}" {settings.PUBLIC_BASE_URL}/api/meta/auth/status'
        )
