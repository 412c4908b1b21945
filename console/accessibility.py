"""The accessibility statement a tenant admin fills in, and the feedback it receives.

The statement has the parts BITV 2.0 § 12b and the EU model statement (Implementing Decision
(EU) 2018/1523) require: the status of compliance, the content that is not accessible, how and
when the statement was prepared and last reviewed, a contact for feedback, and the enforcement
procedure with the competent body of the Federation or the Land. The defaults below name the
body for each; the admin checks them and adds the current address (they change more often than
this code).
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from django import forms
from django.conf import settings
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from casework.audit import audit_record
from intake.models import AccessibilityFeedback, AccessibilityStatement
from whistle.accounts.models import User
from whistle.tenants.models import Tenant

_LAND = "Schlichtungs- bzw. Durchsetzungsstelle bei der oder dem Beauftragten des Landes {} für die Belange von Menschen mit Behinderungen"  # noqa: E501

# (code, label, default body). The bodies are official German names: they stay German.
REGIONS: list[tuple[str, Promise, str]] = [
    (
        "bund",
        _("Federation (federal bodies)"),
        "Schlichtungsstelle nach § 16 Behindertengleichstellungsgesetz (BGG) bei dem "
        "Beauftragten der Bundesregierung für die Belange von Menschen mit Behinderungen\n"
        "www.schlichtungsstelle-bgg.de",
    ),
    ("bw", _("Baden-Württemberg"), _LAND.format("Baden-Württemberg")),
    (
        "by",
        _("Bavaria"),
        "Durchsetzungs- und Überwachungsstelle für barrierefreie Informationstechnik (BayDÜB) "
        "beim Zentrum Bayern Familie und Soziales",
    ),
    (
        "be",
        _("Berlin"),
        "Schlichtungsstelle nach dem Landesgleichberechtigungsgesetz (LGBG) bei der oder dem "
        "Landesbeauftragten für Menschen mit Behinderungen Berlin",
    ),
    ("bb", _("Brandenburg"), _LAND.format("Brandenburg")),
    ("hb", _("Bremen"), _LAND.format("Bremen")),
    (
        "hh",
        _("Hamburg"),
        "Ombudsstelle für barrierefreie Informationstechnik bei der Senatskoordination für die "
        "Gleichstellung von Menschen mit Behinderungen, Hamburg",
    ),
    ("he", _("Hesse"), _LAND.format("Hessen")),
    ("mv", _("Mecklenburg-Western Pomerania"), _LAND.format("Mecklenburg-Vorpommern")),
    ("ni", _("Lower Saxony"), _LAND.format("Niedersachsen")),
    (
        "nw",
        _("North Rhine-Westphalia"),
        "Ombudsstelle für barrierefreie Informationstechnik bei der oder dem Beauftragten der "
        "Landesregierung für Menschen mit Behinderung sowie für Patientinnen und Patienten in "
        "Nordrhein-Westfalen",
    ),
    ("rp", _("Rhineland-Palatinate"), _LAND.format("Rheinland-Pfalz")),
    ("sl", _("Saarland"), _LAND.format("Saarland")),
    ("sn", _("Saxony"), _LAND.format("Sachsen")),
    ("st", _("Saxony-Anhalt"), _LAND.format("Sachsen-Anhalt")),
    (
        "sh",
        _("Schleswig-Holstein"),
        "Beschwerdestelle für barrierefreie Informationstechnik bei der oder dem "
        "Landesbeauftragten für Menschen mit Behinderung Schleswig-Holstein",
    ),
    ("th", _("Thuringia"), _LAND.format("Thüringen")),
]
DEFAULT_BODIES = {code: body for code, _label, body in REGIONS}


def _language_name(code: str) -> str:
    return str(dict(settings.LANGUAGES).get(code, code))


class StatementForm(forms.Form):
    """The statement's parts; one "limitations" field per tenant language."""

    status = forms.ChoiceField(
        label=_("Status of compliance"),
        choices=AccessibilityStatement.Status.choices,
        widget=forms.RadioSelect,
    )
    assessment = forms.ChoiceField(
        label=_("The statement is based on"),
        choices=AccessibilityStatement.Assessment.choices,
        widget=forms.RadioSelect,
    )
    prepared_on = forms.DateField(
        label=_("Date of preparation"), widget=forms.DateInput(attrs={"type": "date"})
    )
    reviewed_on = forms.DateField(
        label=_("Date of the last review"), widget=forms.DateInput(attrs={"type": "date"})
    )
    contact = forms.CharField(
        label=_("Contact for feedback"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("An office, e-mail address, telephone number or postal address."),
    )
    enforcement_region = forms.ChoiceField(
        label=_("Enforcement procedure: competent body of"),
        choices=[(code, label) for code, label, _body in REGIONS],
        help_text=_(
            "Public bodies of a Land turn to the Land's body, federal bodies to the federal one."
        ),
    )
    enforcement_body = forms.CharField(
        label=_("Enforcement body: name, address, web address"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_(
            "Leave empty to use the default for the chosen body (listed below); check it and "
            "add the current address."
        ),
    )

    def __init__(self, *args: Any, tenant: Tenant, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.languages = [str(code) for code in tenant.languages]
        for code in self.languages:
            self.fields[f"limitations_{code}"] = forms.CharField(
                label=_("Content that is not accessible, and alternatives (%(language)s)")
                % {"language": _language_name(code)},
                max_length=10000,
                required=False,
                widget=forms.Textarea(attrs={"rows": 5}),
            )

    def limitation_fields(self) -> list[forms.BoundField]:
        return [self[f"limitations_{code}"] for code in self.languages]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        prepared, reviewed = data.get("prepared_on"), data.get("reviewed_on")
        today = timezone.localdate()
        if prepared and prepared > today:
            self.add_error("prepared_on", _("The date cannot be in the future."))
        if reviewed and reviewed > today:
            self.add_error("reviewed_on", _("The date cannot be in the future."))
        if prepared and reviewed and reviewed < prepared:
            self.add_error("reviewed_on", _("The review cannot be before the preparation."))
        if data.get("status") != AccessibilityStatement.Status.FULL and not any(
            data.get(f"limitations_{code}", "").strip() for code in self.languages
        ):
            self.add_error(
                None,
                _("Describe the content that is not accessible, or choose “fully compliant”."),
            )
        return data


def statement_initial(tenant: Tenant, statement: AccessibilityStatement | None) -> dict[str, Any]:
    if statement is None:
        today = timezone.localdate()
        return {
            "status": AccessibilityStatement.Status.PARTIAL,
            "assessment": AccessibilityStatement.Assessment.SELF,
            "prepared_on": today,
            "reviewed_on": today,
            "enforcement_region": "bund",
        }
    initial: dict[str, Any] = {
        "status": statement.status,
        "assessment": statement.assessment,
        "prepared_on": statement.prepared_on,
        "reviewed_on": statement.reviewed_on,
        "contact": statement.contact,
        "enforcement_region": statement.enforcement_region,
        "enforcement_body": statement.enforcement_body,
    }
    texts = statement.limitations if isinstance(statement.limitations, dict) else {}
    for code in tenant.languages:
        initial[f"limitations_{code}"] = texts.get(code, "")
    return initial


def accessibility_statement_save(
    *, tenant: Tenant, actor: User, data: dict[str, Any]
) -> AccessibilityStatement:
    """Create or replace the tenant's statement from a valid :class:`StatementForm`; audited."""
    region = str(data["enforcement_region"])
    body = str(data.get("enforcement_body") or "").strip() or DEFAULT_BODIES[region]
    values = {
        "status": data["status"],
        "assessment": data["assessment"],
        "prepared_on": data["prepared_on"],
        "reviewed_on": data["reviewed_on"],
        "contact": str(data["contact"]).strip(),
        "enforcement_region": region,
        "enforcement_body": body,
        "limitations": {
            str(code): str(data.get(f"limitations_{code}") or "").strip()
            for code in tenant.languages
        },
    }
    with transaction.atomic():
        statement, _created = AccessibilityStatement.objects.update_or_create(
            tenant=tenant, defaults=values
        )
        audit_record(
            tenant=tenant,
            actor=actor,
            verb="accessibility.statement_saved",
            object_type="tenant",
            object_id=str(tenant.public_id),
        )
    return statement


def access_admin_feedback(
    *, user: User, tenant: Tenant, feedback_id: uuid.UUID
) -> AccessibilityFeedback:
    """A feedback message of ``tenant``, if ``user`` administers it."""
    feedback = (
        AccessibilityFeedback.objects.select_related("tenant")
        .filter(public_id=feedback_id, tenant=tenant, tenant__admins__user=user)
        .first()
    )
    if feedback is None:
        raise Http404
    return feedback


def accessibility_feedback_delete(*, feedback: AccessibilityFeedback, actor: User) -> None:
    with transaction.atomic():
        audit_record(
            tenant=feedback.tenant,
            actor=actor,
            verb="accessibility.feedback_deleted",
            object_type="feedback",
            object_id=str(feedback.public_id),
        )
        feedback.delete()


def feedback_expires(feedback: AccessibilityFeedback) -> datetime.date:
    return feedback.received_on + datetime.timedelta(days=settings.ACCESSIBILITY_FEEDBACK_DAYS)
