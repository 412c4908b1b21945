"""What each audit verb means, in words for the people reading the audit trail."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

VERB_LABELS: dict[str, Promise] = {
    "case.viewed": _("opened the case"),
    "case.created": _("case created"),
    "case.status_changed": _("changed the status"),
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
    "case.attachment_deleted": _("deleted a file"),
    "case.legal_hold": _("changed the legal hold"),
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
    "member.removed": _("removed a member"),
    "file.downloaded": _("downloaded a file"),
}


def verb_label(verb: str) -> str:
    return str(VERB_LABELS.get(verb, verb))
