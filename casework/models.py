"""What handlers add to a case: notes, exclusions and recusals, reminders sent, the audit trail."""

from __future__ import annotations

import uuid
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from casework.audit_labels import verb_label
from intake.models import Case
from whistle.tenants.models import Office, Tenant


class Note(models.Model):
    """An internal note, encrypted under the case key; never shown to the reporter."""

    # Row-level security (whistle.rls): the second wall between tenants.
    RLS: ClassVar[str] = "via_case"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    body_ciphertext = models.BinaryField()
    created_on = models.DateField()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"note {self.public_id}"


class CaseExclusion(models.Model):
    """A member who may not see this case: recused themself, or excluded by the lead (CF-5)."""

    # Row-level security (whistle.rls): the second wall between tenants.
    RLS: ClassVar[str] = "via_case"

    class Kind(models.TextChoices):
        RECUSAL = "recusal", _("Recused")
        EXCLUSION = "exclusion", _("Excluded")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="exclusions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_on = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["case", "user"], name="unique_case_exclusion")
        ]

    def __str__(self) -> str:
        return f"{self.kind} of {self.user_id} from {self.case_id}"


class ReminderSent(models.Model):
    """One reminder due and when its e-mail went out (``sent_at``, set after sending:
    casework.tasks). Either for one case (``case``: recorded once per case, deadline, stage and
    day) or an office's daily flood digest (``office``, with ``stage`` "flood_digest": recorded
    once per office and day), which stands in for the reminders of the office's cases set apart
    as suspected flood (casework.reminders)."""

    # Row-level security (whistle.rls): the second wall between tenants.
    RLS: ClassVar[str] = "case_or_office"

    case = models.ForeignKey(
        Case, null=True, blank=True, on_delete=models.CASCADE, related_name="reminders"
    )
    office = models.ForeignKey(
        Office, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    deadline = models.CharField(max_length=16)  # "acknowledge" or "feedback"; "" for a digest
    stage = models.CharField(max_length=16)  # "before", "due", "overdue"; "flood_digest"
    on_date = models.DateField()
    sent_at = models.DateTimeField(null=True, blank=True)
    # When the row was recorded: the reminder lag metric is the age of the oldest unsent one.
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=models.Q(sent_at__isnull=True),
                name="reminder_unsent",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "deadline", "stage", "on_date"], name="unique_reminder"
            ),
            models.UniqueConstraint(
                fields=["office", "on_date"],
                condition=models.Q(case__isnull=True),
                name="unique_flood_digest",
            ),
            models.CheckConstraint(
                condition=models.Q(case__isnull=False, office__isnull=True)
                | models.Q(case__isnull=True, office__isnull=False),
                name="reminder_for_a_case_or_an_office",
            ),
        ]

    def __str__(self) -> str:
        if self.case_id is None:
            return f"flood digest for office {self.office_id} on {self.on_date}"
        return f"{self.deadline}/{self.stage} reminder for {self.case_id} on {self.on_date}"


class AuditEvent(models.Model):
    """Append-only, hash-chained per tenant (AUD-1). Never holds content: actor, verb, object
    id, time. ``digest`` = HMAC-SHA256 (keyed from SECRET_KEY) over the previous event's digest
    and this event's fields, so editing or removing an event breaks the chain
    (``manage.py audit_verify``, casework/audit.py)."""

    # Row-level security (whistle.rls): the second wall between tenants.
    RLS: ClassVar[str] = "tenant"

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="audit_events")
    sequence = models.PositiveBigIntegerField()
    at = models.DateTimeField()
    # PROTECT: the actor's id is part of the digest; staff accounts are deactivated, not deleted.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(max_length=254)  # kept if the account is deleted later
    verb = models.CharField(max_length=64)
    object_type = models.CharField(max_length=32)
    object_id = models.CharField(max_length=64)
    case_public_id = models.UUIDField(null=True, blank=True, db_index=True)
    previous_digest = models.CharField(max_length=64)
    digest = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "sequence"], name="unique_audit_sequence")
        ]
        ordering = ["tenant", "sequence"]

    def __str__(self) -> str:
        return f"audit {self.tenant_id}#{self.sequence} {self.verb}"

    @property
    def verb_label(self) -> str:
        return verb_label(self.verb)


class DeletionRecord(models.Model):
    """What is left of a deleted case: no content, only that it existed and when (RET-1)."""

    # Row-level security (whistle.rls): the second wall between tenants.
    RLS: ClassVar[str] = "tenant"

    class Reason(models.TextChoices):
        RETENTION = "retention", _("Retention period over")
        EARLY = "early", _("Early deletion, approved by a second handler")

    case_public_id = models.UUIDField(unique=True)
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="deletion_records")
    office_name = models.CharField(max_length=200)
    received_on = models.DateField()
    closed_on = models.DateField(null=True)
    deleted_on = models.DateField()
    reason = models.CharField(max_length=16, choices=Reason.choices)
    counts = models.JSONField(default=dict)
    finished = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"deletion record of {self.case_public_id}"


class DeletionProposal(models.Model):
    """Four eyes (RET-2, RET-3): one handler proposes deleting a case, a message or a file; a
    second handler of the office approves. The reason is an encrypted note of the case."""

    # Row-level security (whistle.rls): the second wall between tenants.
    RLS: ClassVar[str] = "via_case"

    class Target(models.TextChoices):
        CASE = "case", _("the whole case")
        MESSAGE = "message", _("a message")
        ATTACHMENT = "attachment", _("a file")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="deletion_proposals")
    target = models.CharField(max_length=16, choices=Target.choices)
    target_id = models.UUIDField()
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_on = models.DateField()

    def __str__(self) -> str:
        return f"proposal to delete {self.target} {self.target_id}"


class Handover(models.Model):
    """A redacted dossier of the case handed to a named recipient (WF-4, CF-3): what was
    handed to whom and when. The recipient's name and the list of files included (with their
    names) are case content: an encrypted record under the case key (``details_ciphertext``,
    casework.handover). The dossier itself is not kept: it can be made again from the case."""

    # Row-level security (whistle.rls): the second wall between tenants.
    RLS: ClassVar[str] = "via_case"

    class Kind(models.TextChoices):
        UNIT = "unit", _("the organisation's unit that must act")
        AUTHORITY = "authority", _("an authority")
        INVESTIGATOR = "investigator", _("an investigator")
        OTHER = "other", _("someone else")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="handovers")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # {"recipient": str, "files": [{"id": public id, "name": str}, …]}
    details_ciphertext = models.BinaryField()
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    handed_on = models.DateField()
    with_conversation = models.BooleanField(default=False)
    with_notes = models.BooleanField(default=False)
    file_count = models.PositiveIntegerField(default=0)
    redaction_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"hand-over {self.public_id}"


class NewReportNotice(models.Model):
    """One office member to be told that a report arrived: written with the case (in its
    filing transaction, for every active member of the office), sent at once or in the
    member's daily digest, and marked sent after the mail went out (casework.notices)."""

    # Row-level security (whistle.rls): the second wall between tenants.
    RLS: ClassVar[str] = "via_case"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    # In the daily digest (the member's choice, or a report suspected to be part of a flood).
    digest = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["case", "user"], name="unique_new_report_notice")
        ]
        indexes = [
            models.Index(
                fields=["digest", "created_at"],
                condition=models.Q(sent_at__isnull=True),
                name="new_report_notice_unsent",
            ),
        ]

    def __str__(self) -> str:
        return f"new-report notice of {self.case_id} for {self.user_id}"
