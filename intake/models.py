"""Cases as intake creates them: ids, routing, dates and wrapped keys in clear; content sealed."""

from __future__ import annotations

import datetime
import uuid
import zoneinfo
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from intake import deadlines
from whistle.keys.models import OfficeKeyPair
from whistle.tenants.models import Office, Tenant


class Questionnaire(models.Model):
    """One version of a tenant's questionnaire (validated JSON, see intake.questionnaire)."""

    # Row-level security (whistle.rls): the second wall between tenants.
    RLS: ClassVar[str] = "tenant"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="questionnaires")
    version = models.PositiveIntegerField()
    definition = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "version"], name="unique_questionnaire_version"
            )
        ]
        ordering = ["tenant", "-version"]

    def __str__(self) -> str:
        return f"questionnaire v{self.version} of {self.tenant_id}"


def tenant_today(tenant: Tenant) -> datetime.date:
    return timezone.localtime(timezone=zoneinfo.ZoneInfo(tenant.time_zone)).date()


class CaseQuerySet(models.QuerySet["Case"]):
    """Reusable reads of cases (DESIGN §3): ``Case.objects.filter(office=o).open().overdue(d)``.
    The deadline rules come from ``intake.deadlines``, the same ones as ``Case.feedback_due``."""

    def open(self) -> CaseQuerySet:
        return self.exclude(status=Case.Status.CLOSED)

    def overdue(self, today: datetime.date) -> CaseQuerySet:
        """Open cases with a deadline not met whose due date is before ``today``."""
        return self.open().filter(deadlines.overdue(today))

    def acknowledge_overdue(self, today: datetime.date) -> CaseQuerySet:
        return self.open().filter(deadlines.acknowledge_overdue(today))

    def feedback_overdue(self, today: datetime.date) -> CaseQuerySet:
        return self.open().filter(deadlines.feedback_overdue(today))

    def deadlines_outstanding(self) -> CaseQuerySet:
        """Open cases still owing the acknowledgement or the feedback, with their key (a case
        being deleted has none): what the reminders look at."""
        return self.open().filter(deadlines.outstanding()).filter(key_for_office__isnull=False)


class Case(models.Model):
    """One report and everything that follows it.

    The case key exists only wrapped: sealed to the office key pair (``key_for_office``) and
    wrapped under the reporter's receipt secret (``key_for_receipt``). Clearing both is
    crypto-shredding: every record of the case becomes unreadable wherever copies remain.
    Dates are calendar dates in the tenant's time zone: what the legal deadlines need, and
    nothing finer (DESIGN §5).
    """

    # Row-level security (whistle.rls): the second wall between tenants.
    RLS: ClassVar[str] = "case"

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received")
        ACKNOWLEDGED = "acknowledged", _("Receipt confirmed")
        SCOPE_CHECKED = "scope_checked", _("Responsibility checked")
        PLAUSIBILITY = "plausibility", _("Being checked")
        INVESTIGATION = "investigation", _("Being investigated")
        MEASURES = "measures", _("Measures being taken")
        FEEDBACK_GIVEN = "feedback_given", _("Feedback given")
        CLOSED = "closed", _("Closed")

    class Outcome(models.TextChoices):
        SUBSTANTIATED = "substantiated", _("Substantiated")
        NOT_SUBSTANTIATED = "not_substantiated", _("Not substantiated")
        OUT_OF_SCOPE = "out_of_scope", _("Out of scope")
        REFERRED = "referred", _("Referred to the competent body")
        WITHDRAWN = "withdrawn", _("Withdrawn by the reporter")

    class Flood(models.TextChoices):
        # Listed apart from the office's inbox (casework.flood): "suspected" is set at
        # submission (arrived above the normal rate without real writing time, intake.flood),
        # "set_aside" by a handler. Empty: an ordinary case.
        NONE = "", _("no")
        SUSPECTED = "suspected", _("suspected flood")
        SET_ASIDE = "set_aside", _("set aside as suspected flood")

    class Channel(models.TextChoices):
        WEB = "web", _("Online form")
        PHONE = "phone", _("Telephone")
        LETTER = "letter", _("Letter")
        IN_PERSON = "in_person", _("In person")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # A short human reference (``MUS-2026-0007``), unique within the tenant, allocated at
    # submission (intake.references). A display label only: URLs and lookups use public_id.
    reference = models.CharField(_("reference"), max_length=32, blank=True, db_default="")
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="cases")
    office = models.ForeignKey(Office, on_delete=models.PROTECT, related_name="cases")
    questionnaire = models.ForeignKey(
        Questionnaire, on_delete=models.PROTECT, related_name="cases", null=True
    )
    category = models.CharField(_("category"), max_length=64, blank=True)
    channel = models.CharField(max_length=16, choices=Channel.choices, default=Channel.WEB)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.RECEIVED)
    # The lookup part of the receipt (40 random bits): found by an indexed equality lookup
    # without any key derivation. Unique: a clash at submission draws a new receipt.
    receipt_lookup = models.CharField(max_length=16, unique=True)
    office_keypair = models.ForeignKey(
        OfficeKeyPair, on_delete=models.PROTECT, related_name="cases", null=True
    )
    key_for_office = models.BinaryField(null=True)
    key_for_receipt = models.BinaryField(null=True)
    has_contact = models.BooleanField(default=False)
    # The language the reporter used (the active language at submission; for a report that a
    # handler recorded, the language the handler chose): texts offered to the handler for
    # this reporter are in it.
    language = models.CharField(max_length=8, blank=True, db_default="")
    # A short label that handlers set to tell cases apart in the inbox, encrypted under the
    # case key (record context kind "label", record id the case's public id); empty: none.
    label_ciphertext = models.BinaryField(null=True, blank=True)
    flood = models.CharField(max_length=16, choices=Flood.choices, default="", blank=True)
    received_on = models.DateField(_("received on"))
    acknowledged_on = models.DateField(null=True, blank=True)
    feedback_given_on = models.DateField(null=True, blank=True)
    closed_on = models.DateField(null=True, blank=True)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, blank=True)
    in_scope = models.BooleanField(null=True)
    # External offices may extend the feedback period to 6 months, with a reason (DL-2).
    feedback_extended_until = models.DateField(null=True, blank=True)
    # Retention (RET-1): set when the case is closed, moved by an extension; a legal hold stops
    # deletion until it is released (its review date brings a reminder).
    delete_on = models.DateField(null=True, blank=True)
    retention_extended = models.BooleanField(default=False)
    deletion_notice_sent = models.BooleanField(default=False)
    legal_hold = models.BooleanField(default=False)
    legal_hold_review_on = models.DateField(null=True, blank=True)
    hold_review_sent_for = models.DateField(null=True, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    deputy = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # No creation timestamp: the date of receipt is what the law needs, and an exact time
    # would help correlate a report with who was at work when (DESIGN §5).

    objects = CaseQuerySet.as_manager()

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        indexes = [
            # The inbox: an office's cases, newest first (bench/casework.py).
            models.Index(fields=["office", "received_on", "id"], name="case_inbox"),
            models.Index(
                fields=["office", "received_on", "id"],
                condition=~models.Q(status="closed"),
                name="case_inbox_open",
            ),
            # Retention: what is due for deletion.
            models.Index(
                fields=["delete_on", "id"],
                condition=models.Q(status="closed", legal_hold=False, delete_on__isnull=False),
                name="case_deletion_due",
            ),
        ]
        constraints = [
            # Every case that intake creates has one (allocated with the case, backfilled by
            # the migration); only rows written around intake may lack it.
            models.UniqueConstraint(
                fields=["tenant", "reference"],
                condition=~models.Q(reference=""),
                name="unique_case_reference",
            ),
        ]

    def __str__(self) -> str:
        return str(self.public_id)

    @property
    def is_open(self) -> bool:
        return self.status != self.Status.CLOSED

    def can_move_to(self, status: str) -> bool:
        """Whether the workflow (WF-1) allows going from the current status to ``status``."""
        return status in ALLOWED_TRANSITIONS.get(self.status, frozenset())

    @property
    def acknowledge_due(self) -> datetime.date:
        """Acknowledgement of receipt is due 7 days after receipt (``intake.deadlines``)."""
        return deadlines.acknowledge_due(self.received_on)

    @property
    def feedback_due(self) -> datetime.date:
        """Feedback is due 3 months after the acknowledgement, or 3 months and 7 days after
        receipt when none was sent, or at the extension's date (``intake.deadlines``)."""
        return deadlines.feedback_due(
            received_on=self.received_on,
            acknowledged_on=self.acknowledged_on,
            extended_until=self.feedback_extended_until,
        )

    def is_overdue(self, today: datetime.date) -> bool:
        """Open with a deadline not met and past on ``today`` (as ``CaseQuerySet.overdue``)."""
        if not self.is_open:
            return False
        late_ack = self.acknowledged_on is None and self.acknowledge_due < today
        late_feedback = self.feedback_given_on is None and self.feedback_due < today
        return late_ack or late_feedback

    def feedback_due_if_acknowledged_on(self, day: datetime.date) -> datetime.date:
        """The feedback deadline the case will have once receipt is confirmed on ``day``: what
        the acknowledgement text promises (the same rule as :attr:`feedback_due`)."""
        return deadlines.feedback_due(
            received_on=self.received_on,
            acknowledged_on=self.acknowledged_on or day,
            extended_until=self.feedback_extended_until,
        )


class CaseReferenceCounter(models.Model):
    """The last reference number given to a case of ``tenant`` in ``year``. Incremented in the
    submitting transaction by one upsert, which holds the row locked until the case commits:
    concurrent submits of one tenant take numbers one after the other, a rolled back submit
    gives its number back (intake.references)."""

    # Row-level security (whistle.rls): the second wall between tenants.
    RLS: ClassVar[str] = "tenant"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "year"], name="unique_reference_counter")
        ]

    def __str__(self) -> str:
        return f"references {self.year} of {self.tenant_id}: {self.last}"


class CaseRecord(models.Model):
    """An encrypted piece of a case (answers, contact details …), bound to its row."""

    # Row-level security (whistle.rls): the second wall between tenants.
    RLS: ClassVar[str] = "via_case"

    class Kind(models.TextChoices):
        ANSWERS = "answers", _("answers")
        CONTACT = "contact", _("contact details")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="records")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    ciphertext = models.BinaryField()

    def __str__(self) -> str:
        return f"{self.kind} of {self.case_id}"


class Attachment(models.Model):
    """An encrypted file of a case. Its name, type and cleaning report are an encrypted record
    (``meta_ciphertext``); its content is an encrypted stream in the default storage."""

    # Row-level security (whistle.rls): the second wall between tenants.
    RLS: ClassVar[str] = "via_case"

    class Side(models.TextChoices):
        REPORTER = "reporter", _("reporter")
        OFFICE = "office", _("office")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="attachments")
    side = models.CharField(max_length=16, choices=Side.choices, default=Side.REPORTER)
    storage_name = models.CharField(max_length=200, unique=True)
    stored_size = models.BigIntegerField()
    meta_ciphertext = models.BinaryField()

    def __str__(self) -> str:
        return f"attachment {self.public_id}"


_S = Case.Status
#: WF-1: received → acknowledged → scope checked → plausibility → investigation → measures →
#: feedback given → closed. A case out of scope, or not plausible, may be closed early; after
#: feedback the office may investigate further before closing.
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    _S.RECEIVED: frozenset({_S.ACKNOWLEDGED}),
    _S.ACKNOWLEDGED: frozenset({_S.SCOPE_CHECKED}),
    _S.SCOPE_CHECKED: frozenset({_S.PLAUSIBILITY, _S.CLOSED}),
    _S.PLAUSIBILITY: frozenset({_S.INVESTIGATION, _S.FEEDBACK_GIVEN, _S.CLOSED}),
    _S.INVESTIGATION: frozenset({_S.MEASURES, _S.FEEDBACK_GIVEN, _S.CLOSED}),
    _S.MEASURES: frozenset({_S.FEEDBACK_GIVEN, _S.CLOSED}),
    _S.FEEDBACK_GIVEN: frozenset({_S.INVESTIGATION, _S.MEASURES, _S.CLOSED}),
    _S.CLOSED: frozenset(),
}


class PendingUpload(models.Model):
    """A file stored for a case that has no ``Attachment`` row yet: one of a draft's files (the
    draft lives only in the reporter's encrypted session until the report is sent) or one of a
    mailbox message's files in the moment before the message commits.

    Written once the file is completely stored; deleted in the transaction that creates the
    file's ``Attachment`` row, or with the file when it leaves the draft. It says nothing that
    the storage does not show already (a random name, a time) but the tenant, which the
    tenant's off-boarding and row-level security need. ``casework.retention.purge_orphan_files``
    keeps a file with such a row until ``refreshed`` is older than a draft can live, and
    removes a file with neither row within minutes."""

    # Row-level security (whistle.rls): the second wall between tenants.
    RLS: ClassVar[str] = "tenant"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    storage_name = models.CharField(max_length=200, unique=True)
    # Set when the file is stored and renewed while its draft is saved (intake.drafts).
    refreshed = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"pending upload {self.pk}"


class AccessibilityStatement(models.Model):
    """A tenant's accessibility statement (A11Y-2, BITV 2.0 § 12b, EU model statement
    2018/1523): what the tenant admin fills in on the console; the reporter-side page shows it
    in the tenant's languages. Holds no report content."""

    # Row-level security (whistle.rls): the second wall between tenants.
    RLS: ClassVar[str] = "tenant"

    class Status(models.TextChoices):
        FULL = "full", _("fully compliant")
        PARTIAL = "partial", _("partially compliant")
        NONE = "none", _("not compliant")

    class Assessment(models.TextChoices):
        SELF = "self", _("a self-assessment")
        THIRD_PARTY = "third_party", _("an assessment by a third party")

    tenant = models.OneToOneField(
        Tenant, on_delete=models.CASCADE, related_name="accessibility_statement"
    )
    status = models.CharField(
        _("conformance status"), max_length=16, choices=Status.choices, default=Status.PARTIAL
    )
    # {language code: text}: the known limitations and their alternatives, per tenant language.
    limitations = models.JSONField(_("known limitations"), default=dict, blank=True)
    assessment = models.CharField(
        _("method of preparation"),
        max_length=16,
        choices=Assessment.choices,
        default=Assessment.SELF,
    )
    prepared_on = models.DateField(_("statement prepared on"))
    reviewed_on = models.DateField(_("last reviewed on"))
    contact = models.TextField(_("contact for feedback"))
    enforcement_region = models.CharField(_("competent enforcement body for"), max_length=8)
    enforcement_body = models.TextField(_("enforcement procedure: body and address"))
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"accessibility statement of tenant {self.tenant_id}"

    def limitations_for(self, language: str) -> str:
        """The limitations in ``language``, else in the first language that has them."""
        texts = self.limitations if isinstance(self.limitations, dict) else {}
        if texts.get(language):
            return str(texts[language])
        return next((str(t) for t in texts.values() if t), "")


class AccessibilityFeedback(models.Model):
    """A message sent with the feedback form of the accessibility statement (BITV 2.0 § 7).

    Not a report: it never becomes a case and never reaches an office. The message is stored
    only encrypted under a server key (``whistle.vault.seal_at_rest``), read by the tenant's
    admins on the console, and deleted after ``ACCESSIBILITY_FEEDBACK_DAYS``. Only the date is
    kept; no address, user agent or time of day."""

    RLS: ClassVar[str] = "tenant"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    ciphertext = models.BinaryField()
    received_on = models.DateField(db_index=True)

    class Meta:
        ordering = ["-received_on", "-id"]

    def __str__(self) -> str:
        return f"accessibility feedback {self.public_id}"


class Disclosure(models.Model):
    """One passing-on of the reporter's identity (HinSchG § 9, CF-4), and the reporter's
    consent to it or the statutory ground that allows it without.

    With consent (§ 9(3)): the office asks, naming recipient and purpose; the reporter consents
    or refuses in the mailbox; a consent allows this one disclosure only. On a ground
    (§ 9(2)): the office records the ground and, before disclosing, informs the reporter in
    writing with the reasons (a message to the mailbox) — unless the prosecuting authority,
    administrative authority or court said that this would jeopardise its proceedings; then
    why is recorded instead. Recipient, purpose and that reason are case content: an
    encrypted record under the case key (``details_ciphertext``). Lives here, below chat and
    casework, because the reporter's mailbox shows and answers it (intake.disclosures)."""

    # Row-level security (whistle.rls): the second wall between tenants.
    RLS: ClassVar[str] = "via_case"

    class Basis(models.TextChoices):
        CONSENT = "consent", _("the reporter's consent")
        GROUND = "ground", _("a statutory ground")

    class Ground(models.TextChoices):
        # HinSchG § 9(2) sentence 1, nos. 1-5.
        CRIMINAL = (
            "criminal",
            _("criminal proceedings, at the request of the prosecuting authorities (§ 9(2) no. 1)"),
        )
        ADMINISTRATIVE = (
            "administrative",
            _(
                "an order in administrative proceedings following the report, including an "
                "administrative investigation (§ 9(2) no. 2)"
            ),
        )
        COURT = "court", _("a court decision (§ 9(2) no. 3)")
        BAFIN = (
            "bafin",
            _(
                "BaFin as external reporting office, to its competent departments and the bodies "
                "named in § 109a WpHG (§ 9(2) no. 4)"
            ),
        )
        CARTEL_OFFICE = (
            "cartel_office",
            _(
                "the Federal Cartel Office as external reporting office, to its competent "
                "departments and the competent competition authority (§ 9(2) no. 5)"
            ),
        )

    class State(models.TextChoices):
        REQUESTED = "requested", _("waiting for the reporter's answer")
        REFUSED = "refused", _("refused by the reporter")
        ALLOWED = "allowed", _("may be disclosed")
        DISCLOSED = "disclosed", _("disclosed")

    class Notice(models.TextChoices):
        NONE = "", _("not needed (consent)")
        SENT = "sent", _("reporter informed in writing beforehand")
        WITHHELD = "withheld", _("not informed: it would jeopardise the proceedings")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="disclosures")
    basis = models.CharField(max_length=16, choices=Basis.choices)
    ground = models.CharField(max_length=32, choices=Ground.choices, blank=True)
    state = models.CharField(max_length=16, choices=State.choices)
    notice = models.CharField(max_length=16, choices=Notice.choices, blank=True, default="")
    # {"recipient", "purpose"} and, for a withheld notice, {"withheld_reason"}.
    details_ciphertext = models.BinaryField()
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_on = models.DateField()
    # Dates only, as everywhere on the reporter's side (DESIGN §5).
    answered_on = models.DateField(null=True, blank=True)
    disclosed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    disclosed_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"disclosure {self.public_id}"
