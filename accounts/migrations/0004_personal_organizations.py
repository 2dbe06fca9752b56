"""Every existing user gets a personal organization, as its owner (their default), holding the
Meta accounts they connected and through them everything else. A read notification stays read
for its owner."""

from django.conf import settings
from django.db import migrations


def personal_organizations(apps, schema_editor):
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    Organization = apps.get_model("orgs", "Organization")
    Membership = apps.get_model("orgs", "Membership")
    MetaAccount = apps.get_model("accounts", "MetaAccount")
    Notification = apps.get_model("accounts", "Notification")
    NotificationRead = apps.get_model("accounts", "NotificationRead")
    for user in User.objects.order_by("pk").iterator():
        name = f"{user.first_name} {user.last_name}".strip() or user.username
        organization = Organization.objects.create(name=name[:120])
        Membership.objects.create(user=user, organization=organization, role="owner", is_default=True)
        MetaAccount.objects.filter(connected_by=user).update(organization=organization)
        NotificationRead.objects.bulk_create(
            [
                NotificationRead(notification_id=pk, user=user)
                for pk in Notification.objects.filter(account__connected_by=user, read=True).values_list(
                    "pk", flat=True
                )
            ],
            batch_size=1000,
        )



class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_organizations")]

    operations = [migrations.RunPython(personal_organizations, migrations.RunPython.noop, elidable=False)]
