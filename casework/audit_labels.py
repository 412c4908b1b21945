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
    "questionnaire.published": _("published a new questionnaire version"),
    "tenant.exported": _("exported all of the organisation's data"),
    "accessibility.statement_saved": _("saved the accessibility statement"),
    "accessibility.feedback_deleted": _("deleted accessibility feedback"),
    "tenant.settings_changed": _("changed a setting of the organisation"),
    "tenant.hostname_added": _("added a host name"),
    "tenant.hostname_verified": _("verified a host name"),
    "tenant.hostname_removed": _("removed a host name"),
    "tenant.reviewed": _("reviewed the questionnaire and texts"),
    "tenant.published": _("published the reporting page"),
    "key.recovery_stored": _("confirmed that the recovery key is stored safely"),
    "office.created": _("created a reporting office"),
    "office.external_changed": _("changed whether the office is external"),
    "office.code_renewed": _("renewed the office's service code"),
    "member.away_changed": _("changed their absence or deputy"),
    "office.service_requested": _("asked an office to serve the organisation"),
    "office.service_accepted": _("accepted to serve an organisation"),
    "office.service_refused": _("refused to serve an organisation"),
    "office.service_ended": _("ended an office's service for an organisation"),
    "tenant.created": _("created the organisation"),
    "tenant.suspended": _("suspended the reporting channel"),
    "tenant.resumed": _("resumed the reporting channel"),
    "invitation.created": _("sent an invitation"),
    "invitation.accepted": _("accepted an invitation"),
}


def verb_label(verb: str) -> str:
    return str(VERB_LABELS.get(verb, verb))
