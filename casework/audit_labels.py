"""Every audit verb and what it means, in words for the people reading the audit trail. A verb
says what happened; adding one here makes it valid (``casework.audit.VERBS``). Verbs are never
renamed: events already written keep theirs."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

VERB_LABELS: dict[str, Promise] = {
    "case.viewed": _("opened the case"),
    "case.created": _("case created"),
    "case.status_changed": _("changed the status"),
    "case.scope_checked": _("decided on responsibility"),
    "case.feedback_given": _("gave feedback to the reporter"),
    "case.closed": _("closed the case"),
    "case.acknowledged": _("confirmed receipt"),
    "case.assigned": _("changed the assignment"),
    "case.deputy_set": _("changed the deputy"),
    "case.recused": _("recused"),
    "case.excluded": _("excluded a member"),
    "case.identity_revealed": _("looked at the contact details"),
    "case.exported": _("exported the case"),
    "case.note_added": _("added a note"),
    "case.message_sent": _("wrote to the reporter"),
    "case.deleted": _("deleted the case"),
    "case.deletion_proposed": _("proposed a deletion"),
    "case.message_deleted": _("deleted a message"),
    "case.attachment_deleted": _("deleted a file"),
    "case.legal_hold": _("placed a legal hold"),
    "case.legal_hold_released": _("released the legal hold"),
    "case.retention_extended": _("extended the retention period"),
    "case.feedback_extended": _("extended the feedback period"),
    "case.handler_intake": _("recorded a report received by phone, letter or in person"),
    "case.label_set": _("set the label"),
    "case.label_removed": _("removed the label"),
    "case.set_aside": _("set the report aside as suspected flood"),
    "case.restored": _("put the report back into the inbox"),
    "key.office_created": _("created the office keys"),
    "key.granted": _("granted access"),
    "key.recovered": _("restored access with the recovery key"),
    "key.rotated": _("renewed the office keys"),
    "member.added": _("added a member"),
    "member.role_changed": _("changed a member's role"),
    "member.removed": _("removed a member"),
    "tenant_admin.added": _("made someone a tenant admin"),
    "tenant_admin.removed": _("removed a tenant admin"),
    "file.downloaded": _("downloaded a file"),
}


def verb_label(verb: str) -> str:
    return str(VERB_LABELS.get(verb, verb))
