from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("console", "0001_offboard_records"),
        ("console", "0001_qedit_questionnaire_draft"),
    ]

    operations = []
