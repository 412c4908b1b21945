"""Retention (RET-1..3), by job:

- ``policy``: when a closed case is deleted, legal holds and extensions;
- ``proposals``: four-eyes early deletion of a case, a message or a file;
- ``engine``: the deletion itself (crypto-shredding, in batches, safe to repeat) and the run;
- ``files``: the orphan purge of stored files nothing will open;
- ``notices``: the office's deletion notices and hold reviews.

The public names are importable from here too.
"""

from __future__ import annotations

from casework.retention.engine import (
    BATCH_PAUSE,
    BATCH_SIZE,
    RetentionReport,
    due_batches,
    retention_run,
)
from casework.retention.files import (
    OrphanReport,
    draft_file_age,
    orphan_file_age,
    purge_orphan_files,
)
from casework.retention.notices import NOTICE_DAYS, deletion_notices_send, hold_reviews_send
from casework.retention.policy import (
    EXTENSION_YEARS,
    case_extend_retention,
    case_legal_hold,
    case_release_hold,
    case_schedule_deletion,
    deletion_date,
    retention_years,
)
from casework.retention.proposals import deletion_approve, deletion_propose

__all__ = [
    "BATCH_PAUSE",
    "BATCH_SIZE",
    "EXTENSION_YEARS",
    "NOTICE_DAYS",
    "OrphanReport",
    "RetentionReport",
    "case_extend_retention",
    "case_legal_hold",
    "case_release_hold",
    "case_schedule_deletion",
    "deletion_approve",
    "deletion_date",
    "deletion_notices_send",
    "deletion_propose",
    "draft_file_age",
    "due_batches",
    "hold_reviews_send",
    "orphan_file_age",
    "purge_orphan_files",
    "retention_run",
    "retention_years",
]
