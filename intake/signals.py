"""What intake announces to the layers above it (DESIGN §2: intake never imports casework)."""

from __future__ import annotations

from django.dispatch import Signal

#: A case was filed (any channel). Sent inside the filing transaction, after the case and its
#: records were written; keyword argument ``case``. casework.receivers writes the audit event
#: ``case.created`` in the same transaction, so the case and its event commit together.
case_filed = Signal()
