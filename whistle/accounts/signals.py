"""Account events for higher layers (console, casework), which whistle.accounts cannot import."""

from __future__ import annotations

from django.dispatch import Signal

#: Sent with ``invitation`` (the accepted :class:`~whistle.accounts.models.Invitation`) and
#: ``user`` (the account that accepted it), inside the transaction that applied the role.
invitation_accepted = Signal()
