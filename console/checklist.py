"""What a tenant's set-up still lacks, derived from the data alone (never from a session), so
the wizard resumes wherever anyone left it and the tenant page can list what is missing."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from console.questionnaires import missing_translations
from intake.services import questionnaire_current
from whistle.keys.services import active_keypair
from whistle.tenants.models import Membership, Office, Tenant

#: The wizard's steps in order; each checklist item belongs to one.
STEPS = ("organisation", "office", "keys", "review", "publish")


@dataclass(frozen=True)
class Item:
    key: str
    label: Promise
    done: bool
    step: str
    url: str


def _offices(tenant: Tenant) -> list[Office]:
    return list(Office.objects.serving(tenant).order_by("name"))


def setup_checklist(tenant: Tenant) -> list[Item]:
    offices = _offices(tenant)
    with_lead = [
        o
        for o in offices
        if Membership.objects.filter(office=o, role=Membership.Role.LEAD).exists()
    ]
    keyed = [kp for o in offices if (kp := active_keypair(o)) is not None]
    stored = [kp for kp in keyed if kp.recovery_stored_at is not None]
    questionnaire = questionnaire_current(tenant).definition
    untranslated = missing_translations(questionnaire, list(tenant.languages))

    def url(step: str) -> str:
        return reverse("console:setup_step", kwargs={"tenant_id": tenant.public_id, "step": step})

    items = [
        (
            "organisation",
            _("Name, languages, branding and the organisation's address"),
            bool(tenant.controller_address),
            "organisation",
        ),
        ("office", _("A reporting office serves the organisation"), bool(offices), "office"),
        ("lead", _("The office has a lead"), bool(with_lead), "office"),
        ("keys", _("The office lead has created the office keys"), bool(keyed), "keys"),
        (
            "recovery",
            _("The office lead has confirmed that the recovery key is stored safely"),
            bool(stored),
            "keys",
        ),
        (
            "questionnaire",
            _("The questionnaire has its texts in every language of the reporting page"),
            not untranslated,
            "review",
        ),
        (
            "review",
            _("Questionnaire and texts reviewed in the preview"),
            tenant.reviewed_at is not None,
            "review",
        ),
        ("publish", _("The reporting page is published"), tenant.published, "publish"),
    ]
    return [Item(key=k, label=label, done=done, step=s, url=url(s)) for k, label, done, s in items]


def missing(tenant: Tenant) -> list[Item]:
    return [item for item in setup_checklist(tenant) if not item.done]


def ready_to_publish(tenant: Tenant) -> bool:
    return all(item.done for item in setup_checklist(tenant) if item.key != "publish")


def first_open_step(tenant: Tenant) -> str:
    open_items = missing(tenant)
    return open_items[0].step if open_items else "publish"
