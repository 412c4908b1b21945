"""Changes of the directory for the audit trail (AUD-1: permission changes). whistle cannot
import casework (layering, DESIGN §2), so its services announce what happened and
casework.receivers records it in the same transaction (as ``whistle.keys.signals.key_event``).
"""

from __future__ import annotations

from django.dispatch import Signal

#: Sent inside the changing transaction with ``tenant`` (whose audit trail records it),
#: ``actor`` (a User, or None for a command or a system job), ``verb`` ("member.added",
#: "member.role_changed", "member.removed", "tenant_admin.added", "tenant_admin.removed"),
#: ``object_type`` and ``object_id`` (ids only, never names or addresses).
directory_event = Signal()
