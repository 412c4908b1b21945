from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0002_offices_deputy_service"),
        ("tenants", "0002_setup_settings"),
    ]

    operations = []
