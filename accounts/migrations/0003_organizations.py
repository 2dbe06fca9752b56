"""Meta accounts belong to organizations (issue 18). This adds the schema, 0004 gives every
existing user a personal organization holding their accounts, 0005 then requires one; `user`
becomes `connected_by` (who connected the account, kept if that user goes)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_granular_scopes_and_discovery"),
        ("orgs", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="metaaccount", name="uniq_meta_account_per_user"),
        migrations.RemoveIndex(model_name="metaaccount", name="accounts_me_user_id_ff4980_idx"),
        migrations.RenameField(model_name="metaaccount", old_name="user", new_name="connected_by"),
        migrations.AlterField(
            model_name="metaaccount",
            name="connected_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="meta_accounts",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="metaaccount",
            name="organization",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="meta_accounts",
                to="orgs.organization",
            ),
        ),
        migrations.CreateModel(
            name="NotificationRead",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("read_at", models.DateTimeField(auto_now_add=True)),
                (
                    "notification",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="reads", to="accounts.notification"
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to=settings.AUTH_USER_MODEL
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("notification", "user"), name="uniq_notification_read")
                ]
            },
        ),
    ]
