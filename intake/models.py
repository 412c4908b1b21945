"""Cases as intake creates them: ids, routing and wrapped keys in clear; everything else sealed."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from whistle.keys.models import OfficeKeyPair
from whistle.tenants.models import Office, Tenant


class Case(models.Model):
    """One report and everything that follows it.

    The case key exists only wrapped: sealed to the office key pair (``key_for_office``) and
    wrapped under the reporter's receipt secret (``key_for_receipt``). Clearing both is
    crypto-shredding: every record of the case becomes unreadable wherever copies remain.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="cases")
    office = models.ForeignKey(Office, on_delete=models.PROTECT, related_name="cases")
    # The lookup part of the receipt (40 random bits): found by an indexed equality lookup
    # without any key derivation. Unique: a clash at submission draws a new receipt.
    receipt_lookup = models.CharField(max_length=16, unique=True)
    office_keypair = models.ForeignKey(
        OfficeKeyPair, on_delete=models.PROTECT, related_name="cases", null=True
    )
    key_for_office = models.BinaryField(null=True)
    key_for_receipt = models.BinaryField(null=True)
    received_on = models.DateField(_("received on"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")

    def __str__(self) -> str:
        return str(self.public_id)


class CaseRecord(models.Model):
    """An encrypted piece of a case (answers, contact details, …), bound to its row."""

    class Kind(models.TextChoices):
        ANSWERS = "answers", _("answers")
        CONTACT = "contact", _("contact details")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="records")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    ciphertext = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.kind} of {self.case_id}"
