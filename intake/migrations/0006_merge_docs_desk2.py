from django.db import migrations


class Migration(migrations.Migration):
    """Joins two branches of work: accessibility statements and feedback (issue 13) and
    identity disclosures (issue 15). No schema change."""

    dependencies = [
        ("intake", "0005_desk2_disclosure"),
        ("intake", "0005_docs_accessibility"),
    ]

    operations: list[migrations.operations.base.Operation] = []
