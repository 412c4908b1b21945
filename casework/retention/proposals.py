"""Four eyes (RET-2, RET-3): a handler proposes deleting a case, a message or a file early,
with a reason; a second handler of the office approves and it is deleted at once (a case by
the deletion engine, ``casework.retention.engine``)."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from casework.changes import WorkflowError, case_change, lock_case
from casework.models import DeletionProposal, DeletionRecord
from casework.notes import note_create
from casework.retention.engine import _delete_file, _finish_batch, _shred
from chat.models import Message
from intake.models import Attachment, Case, tenant_today
from whistle.accounts.models import User
from whistle.tenants.models import Membership


def deletion_propose(
    *, case: Case, actor: User, case_key: bytes, target: str, target_id: str, reason: str
) -> DeletionProposal:
    if not reason.strip():
        raise WorkflowError(_("Please give the reason for deleting it."))
    if target == DeletionProposal.Target.CASE:
        target_id = str(case.public_id)
    elif target == DeletionProposal.Target.MESSAGE:
        if not Message.objects.filter(case=case, public_id=target_id).exists():
            raise WorkflowError(_("There is no such message in this case."))
    elif target == DeletionProposal.Target.ATTACHMENT:
        if not Attachment.objects.filter(case=case, public_id=target_id).exists():
            raise WorkflowError(_("There is no such file in this case."))
    else:
        raise WorkflowError(_("Choose what to delete."))
    with case_change(case=case, actor=actor) as change:
        proposal = DeletionProposal.objects.create(
            case=case,
            target=target,
            target_id=target_id,
            proposed_by=actor,
            created_on=tenant_today(case.tenant),
        )
        note_create(
            case=case,
            actor=actor,
            case_key=case_key,
            body=_("Proposed for deletion (%(what)s): %(reason)s")
            % {"what": proposal.get_target_display(), "reason": reason.strip()},
        )
        change.record(
            "case.deletion_proposed",
            object_type="proposal",
            object_id=str(proposal.public_id),
        )
    return proposal


def deletion_approve(*, proposal: DeletionProposal, actor: User) -> None:
    """A second handler of the office approves; the deletion happens at once. Under the case's
    lock: of two handlers approving at once, one deletes and the other is told the proposal
    is gone."""
    case = proposal.case
    if proposal.proposed_by_id == actor.pk:
        raise WorkflowError(_("A second handler must approve: you proposed this deletion."))
    if not Membership.objects.filter(office=case.office, user=actor).exists():
        raise WorkflowError(_("Only a handler of the office can approve."))
    if proposal.target == DeletionProposal.Target.CASE:
        with transaction.atomic():
            lock_case(case)
            _approve(proposal, actor)
            # The case's event ("case.deleted") is written with the shredding, as for the
            # cases the retention run deletes.
            _shred(case, DeletionRecord.Reason.EARLY, actor=actor)
        _finish_batch([(case.pk, case.public_id)])
        return
    with case_change(case=case, actor=actor) as change:
        _approve(proposal, actor)
        if proposal.target == DeletionProposal.Target.MESSAGE:
            Message.objects.filter(case=case, public_id=proposal.target_id).delete()
            verb = "case.message_deleted"
        else:
            attachment = Attachment.objects.filter(case=case, public_id=proposal.target_id).first()
            if attachment is not None:
                name = attachment.storage_name
                attachment.delete()
                transaction.on_commit(lambda: _delete_file(name))
            verb = "case.attachment_deleted"
        change.record(verb, object_type=proposal.target, object_id=str(proposal.target_id))


def _approve(proposal: DeletionProposal, actor: User) -> None:
    """Mark the proposal approved, unless someone did (the case is locked: current)."""
    approved = DeletionProposal.objects.filter(pk=proposal.pk, approved_by__isnull=True).update(
        approved_by=actor
    )
    if not approved:
        raise WorkflowError(_("This proposal no longer exists."))
    proposal.approved_by = actor
