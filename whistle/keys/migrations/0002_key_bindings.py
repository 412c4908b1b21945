"""Bind the public keys stored before bindings existed (trust on first use).

Whatever public key a row holds when this migration runs is taken as genuine and bound to its
owner; from then on a key changed by a database write fails its binding. docs/crypto.md ("Key
authenticity") says what this does and does not prove, and how the office fingerprint lets an
office check its key against the one written down when the keys were made.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import migrations, models

from crypto.binding import HANDLER, OFFICE, bind_public_key, binding_key


def bind_existing(apps: Any, schema_editor: Any) -> None:
    key = binding_key(settings.RECEIPT_PEPPER.encode("utf-8"))
    HandlerKey = apps.get_model("keys", "HandlerKey")
    OfficeKeyPair = apps.get_model("keys", "OfficeKeyPair")
    for handler_key in HandlerKey.objects.filter(binding__isnull=True).select_related("user"):
        handler_key.binding = bind_public_key(
            key,
            kind=HANDLER,
            owner=str(handler_key.user.public_id),
            version=0,
            public=bytes(handler_key.public_key),
        )
        handler_key.save(update_fields=["binding"])
    for keypair in OfficeKeyPair.objects.filter(binding__isnull=True).select_related("office"):
        keypair.binding = bind_public_key(
            key,
            kind=OFFICE,
            owner=str(keypair.office.public_id),
            version=keypair.version,
            public=bytes(keypair.public_key),
        )
        keypair.save(update_fields=["binding"])


class Migration(migrations.Migration):
    dependencies = [("keys", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="handlerkey", name="binding", field=models.BinaryField(null=True)
        ),
        migrations.AddField(
            model_name="officekeypair", name="binding", field=models.BinaryField(null=True)
        ),
        migrations.RunPython(bind_existing, migrations.RunPython.noop),
    ]
