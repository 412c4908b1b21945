"""What the conversation announces to the layers above it (DESIGN §2: a lower layer tells a
higher one with a signal; chat never imports casework)."""

from __future__ import annotations

from django.dispatch import Signal

#: Reporters' messages were stored (sent inside the storing transaction, before commit).
#: Keyword argument ``case_public_ids``: a set of the cases' public ids (strings), nothing else.
#: casework.receivers queues the office's content-free notice after commit.
reporter_messages_posted = Signal()
