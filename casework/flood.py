"""Reports set aside as suspected flood (issue 12, point 3): listed apart from the office's inbox
so a flood cannot bury it, restored one by one or in bulk, and discarded with four eyes.

Intake marks a report *suspected* when it arrived above the normal rate without real writing
time (intake.flood); handlers set aside others in bulk from the inbox. Setting aside and
restoring are case changes with an audit event each. Discarding reuses retention's four-eyes
early deletion: one handler proposes (a ``DeletionProposal`` of the whole case, its reason an
encrypted note), a second handler of the office approves, and the case is crypto-shredded with
a deletion record and a ``case.deleted`` event, exactly as an early deletion."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from casework import retention
from casework.audit import audit_record_cases
from casework.models import DeletionProposal
from casework.services import WorkflowError
from intake.models import Case
from intake.services import case_key_for_office
from whistle.accounts.models import User
from whistle.tenants.models import Office

SET_APART = (Case.Flood.SUSPECTED, Case.Flood.SET_ASIDE)


def cases_set_apart(*, office: Office, user: User) -> QuerySet[Case]:
    """The office's suspected and set-aside cases that ``user`` may see, newest first."""
    return (
        Case.objects.filter(office=office, flood__in=SET_APART)
        .exclude(exclusions__user=user)
        .select_related("tenant", "office")
        .order_by("-received_on", "-id")
    )


def _selected(
    *, office: Office, user: User, case_ids: Sequence[str], flood: Sequence[str]
) -> QuerySet[Case]:
    # Filtered by office, exclusions and state in the query: ids of other offices' cases, or
    # cases the user is excluded from, select nothing.
    return (
        Case.objects.filter(office=office, public_id__in=list(case_ids), flood__in=list(flood))
        .exclude(exclusions__user=user)
        .order_by("pk")
    )


def cases_set_aside(*, office: Office, actor: User, case_ids: Sequence[str]) -> int:
    """Set these open cases of the office aside as suspected flood; returns how many."""
    with transaction.atomic():
        rows = list(
            _selected(office=office, user=actor, case_ids=case_ids, flood=[Case.Flood.NONE])
            .select_for_update()
            .values_list("pk", "tenant_id", "public_id")
        )
        Case.objects.filter(pk__in=[pk for pk, _t, _p in rows]).update(flood=Case.Flood.SET_ASIDE)
        audit_record_cases(
            cases=[(tenant_id, public_id) for _pk, tenant_id, public_id in rows],
            actor=actor,
            verb="case.set_aside",
        )
    return len(rows)


def cases_restore(*, office: Office, actor: User, case_ids: Sequence[str]) -> int:
    """Back into the inbox (a proposal to discard them lapses); returns how many."""
    with transaction.atomic():
        rows = list(
            _selected(office=office, user=actor, case_ids=case_ids, flood=SET_APART)
            .select_for_update()
            .values_list("pk", "tenant_id", "public_id")
        )
        pks = [pk for pk, _t, _p in rows]
        Case.objects.filter(pk__in=pks).update(flood=Case.Flood.NONE)
        DeletionProposal.objects.filter(
            case__in=pks, target=DeletionProposal.Target.CASE, approved_by__isnull=True
        ).delete()
        audit_record_cases(
            cases=[(tenant_id, public_id) for _pk, tenant_id, public_id in rows],
            actor=actor,
            verb="case.restored",
        )
    return len(rows)


def discard_propose(
    *, office: Office, actor: User, handler_private: bytes, case_ids: Sequence[str]
) -> int:
    """Propose discarding these set-apart cases (first pair of eyes). The reason, a note of each
    case, is encrypted under its key, which the proposer must be able to open."""
    cases = _selected(office=office, user=actor, case_ids=case_ids, flood=SET_APART).exclude(
        deletion_proposals__target=DeletionProposal.Target.CASE,
        deletion_proposals__approved_by__isnull=True,
    )
    proposed = 0
    for case in cases.select_related("tenant", "office", "office_keypair"):
        key = case_key_for_office(case=case, user=actor, handler_private=handler_private)
        retention.deletion_propose(
            case=case,
            actor=actor,
            case_key=key,
            target=DeletionProposal.Target.CASE,
            target_id=str(case.public_id),
            reason=_("Set aside as suspected flood"),
        )
        proposed += 1
    return proposed


def discard_pending(*, office: Office, user: User) -> QuerySet[DeletionProposal]:
    """Open proposals to discard set-apart cases of the office that ``user`` may see."""
    return DeletionProposal.objects.filter(
        case__office=office,
        case__flood__in=SET_APART,
        target=DeletionProposal.Target.CASE,
        approved_by__isnull=True,
    ).exclude(case__exclusions__user=user)


def discard_approve(*, office: Office, actor: User, case_ids: Sequence[str]) -> int:
    """Second pair of eyes: discard these set-apart cases that another handler proposed
    (crypto-shred, deletion record, audit event: retention's early deletion)."""
    proposals = (
        discard_pending(office=office, user=actor)
        .filter(case__public_id__in=list(case_ids))
        .select_related("case", "case__tenant", "case__office")
    )
    mine = [p for p in proposals if p.proposed_by_id == actor.pk]
    others = [p for p in proposals if p.proposed_by_id != actor.pk]
    if mine and not others:
        raise WorkflowError(
            _("A second handler must approve: you proposed discarding these reports.")
        )
    for proposal in others:
        retention.deletion_approve(proposal=proposal, actor=actor)
    return len(others)
