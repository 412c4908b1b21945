"""Where the key hierarchy of DESIGN §4 is stored: only public keys and wrapped private keys.

Nothing in these tables opens anything without a handler's password, a member's logged-in
session (its vault) or an office recovery key.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from whistle.tenants.models import Office


class HandlerKey(models.Model):
    """A staff member's key pair; the private key wrapped under their password (Argon2id)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="handler_key"
    )
    public_key = models.BinaryField()
    # HMAC of (account, public key) under a server secret that is not in the database: a key
    # swapped by a database write fails it and nothing is sealed to it (docs/crypto.md).
    binding = models.BinaryField()
    wrapped_private = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"handler key of {self.user_id}"


class OfficeKeyPair(models.Model):
    """One generation of an office's key pair. New cases are sealed to the active one.

    After a rotation the old generation's private key is kept sealed to its successor's public
    key (``sealed_for_successor``), so whoever holds the new key can still open cases whose
    keys were sealed to the old one.
    """

    office = models.ForeignKey(Office, on_delete=models.CASCADE, related_name="keypairs")
    version = models.PositiveIntegerField()
    public_key = models.BinaryField()
    # HMAC of (office, version, public key) under a server secret (docs/crypto.md): checked
    # before any case is sealed to this key.
    binding = models.BinaryField()
    active = models.BooleanField(default=True)
    successor = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="predecessors"
    )
    sealed_for_successor = models.BinaryField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # When the lead confirmed having printed or written down this generation's recovery key.
    recovery_stored_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["office", "version"], name="unique_keypair_version"),
            models.UniqueConstraint(
                fields=["office"], condition=Q(active=True), name="one_active_keypair_per_office"
            ),
        ]

    def __str__(self) -> str:
        return f"office key v{self.version} of {self.office_id}"


class OfficeKeyGrant(models.Model):
    """An office private key sealed to one member's handler public key."""

    keypair = models.ForeignKey(OfficeKeyPair, on_delete=models.CASCADE, related_name="grants")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="office_grants"
    )
    # Deleting the handler key (a password reset) deletes every grant made to it.
    handler_key = models.ForeignKey(HandlerKey, on_delete=models.CASCADE, related_name="grants")
    sealed_private = models.BinaryField()
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["keypair", "user"], name="unique_grant_per_keypair")
        ]

    def __str__(self) -> str:
        return f"grant of {self.keypair_id} to {self.user_id}"


class OfficeRecoveryWrap(models.Model):
    """The office private key wrapped under the office recovery key (shown once)."""

    keypair = models.OneToOneField(
        OfficeKeyPair, on_delete=models.CASCADE, related_name="recovery_wrap"
    )
    wrapped_private = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"recovery wrap of {self.keypair_id}"
