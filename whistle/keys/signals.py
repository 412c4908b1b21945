"""Key events for the audit trail. whistle.keys cannot import casework (layering, DESIGN §2),
so it announces what happened and casework records it, in the same transaction."""

from __future__ import annotations

from django.dispatch import Signal

#: Sent with ``tenant``, ``actor``, ``verb`` (e.g. "key.granted"), ``object_type``, ``object_id``.
key_event = Signal()
