"""Tell open sockets when their session, account or access changed, so that they re-check at
once (DESIGN §6: a socket never outlives its session or its access). The periodic re-check
(``chat.consumers.RECHECK``) is only the safety net for changes that send no signal (bulk
updates, raw deletes)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from chat.events import announce_case_change, announce_session_change, announce_staff_change


@receiver(post_delete, sender=Session)
def _session_deleted(sender: object, instance: Session, **kwargs: Any) -> None:
    # Logout, mailbox exit, key rotation at login, expired sessions cleared by the purge.
    announce_session_change(instance.session_key)


@receiver(post_save, sender=get_user_model())
def _account_saved(sender: object, instance: Any, update_fields: Any = None, **kwargs: Any) -> None:
    # A new password (other sessions end), deactivation, any other change of the account;
    # not the last-login stamp written at every login.
    if update_fields is not None and set(update_fields) <= {"last_login"}:
        return
    if instance.pk is not None:
        announce_staff_change(instance.pk)


# Access to a case: a recusal or exclusion (casework), a membership removed or changed
# (whistle.tenants). Named lazily: chat does not import those apps' models.
@receiver(post_save, sender="casework.CaseExclusion")
@receiver(post_delete, sender="casework.CaseExclusion")
@receiver(post_save, sender="tenants.Membership")
@receiver(post_delete, sender="tenants.Membership")
def _access_changed(sender: object, instance: Any, **kwargs: Any) -> None:
    announce_staff_change(instance.user_id)


@receiver(post_save, sender="intake.Case")
@receiver(post_delete, sender="intake.Case")
def _case_changed(sender: object, instance: Any, created: bool = False, **kwargs: Any) -> None:
    # Status, office or deletion: whoever watches the case looks at their access again. A case
    # just filed has no sockets yet: no event (it would cost every submission a publish).
    if not created:
        announce_case_change(instance)
