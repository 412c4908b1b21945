from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    # Separate from 0002: PostgreSQL refuses to alter a table with updates pending in the same
    # transaction.
    dependencies = [("keys", "0002_key_bindings")]

    operations = [
        migrations.AlterField(
            model_name="handlerkey", name="binding", field=models.BinaryField()
        ),
        migrations.AlterField(
            model_name="officekeypair", name="binding", field=models.BinaryField()
        ),
    ]
