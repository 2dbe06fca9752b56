"""Every Meta account now has an organization: require it."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("accounts", "0004_personal_organizations")]

    operations = [
        migrations.AlterField(
            model_name="metaaccount",
            name="organization",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="meta_accounts", to="orgs.organization"
            ),
        ),
        migrations.AddIndex(
            model_name="metaaccount",
            index=models.Index(
                fields=["organization", "status", "-connected_at"], name="accounts_me_organiz_223a39_idx"
            ),
        ),
        migrations.AddConstraint(
            model_name="metaaccount",
            constraint=models.UniqueConstraint(
                fields=("organization", "meta_app_id", "meta_user_id"), name="uniq_meta_account_per_org"
            ),
        ),
    ]
