"""The office's content-free e-mails and who gets them: the one place that mails handlers
about cases (DESIGN §5: they say only that something is waiting, never what).

- ``recipients``: who is told about a case: assignee (or the leads while nobody is assigned),
  the deputy when the assignee is away, the leads on escalation; never anyone excluded.
- ``office_mail``: the one loop that renders ``casework/mail/<template>.txt`` (and its
  ``_subject``) in the site's language and mails each recipient; used by the deadline reminders
  (``casework.reminders``), the retention notices (``casework.retention.notices``) and the
  new-message notice below. ``flood_digest_mail``: an office's daily digest of cases set apart
  as suspected flood, to its leads.

**New-message notice.** A content-free e-mail to the office when the reporter wrote: at most
one per case per hour, and none while everything is read. Chat announces a reporter's message
with the signal ``chat.signals.reporter_messages_posted``; ``casework.receivers`` queues, after
commit, the task ``casework.tasks.notify_office`` (the case's public id only), which calls
``office_notice_send``.

Queuing is gated by a per-case cache entry (``chat:notice-gate:<case public id>``: a time, no
content) so that a busy conversation does not publish a task per message. The entry says until
when no further task is needed: set when a task was queued, and by the task to an hour after
the last notice. The task deletes it *before* it looks for unread messages, so a message
committed after that look finds no gate and queues a task of its own. The time is in the entry
(not only in the cache's expiry) so that the gate follows the application's clock. It is keyed
by the case's public id, not its row id: a restored or recreated database reuses row ids, and a
gate left in Redis would then silence another case's notices.

Queuing is best effort (DESIGN §3): it runs after the message was committed and must never
fail the request that stored it. When Redis or the broker is down nothing is queued and a
warning (without content) is logged; the beat job ``casework.tasks.catch_up_office_notices``
finds every case with unread reporter messages that no notice covered yet (``notices_due``) and
sends what is due. ``OfficeNotification.last_message_id`` is the newest reporter message the
last notice covered, so neither path mails twice for the same messages.

A notice is marked sent *after* the mail went out, in the transaction that holds the case's
notification row locked: a worker killed while mailing leaves the row unmarked and the task
(acknowledged late, ``CELERY_TASK_ACKS_LATE``) runs again; a second run after the mark sends
nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.core.cache import cache
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F, Max, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from casework.models import CaseExclusion, NewReportNotice
from chat.models import Message, OfficeNotification
from intake.models import Case
from whistle.accounts.models import User
from whistle.tenants.models import Membership, Office

NOTIFY_EVERY = timedelta(hours=1)
# Cases the catch-up job handles per run; the rest wait for the next run (every few minutes).
CATCH_UP_BATCH = 200

logger = logging.getLogger(__name__)


# --- who is told, and the one mail loop -----------------------------------------------------


def recipients(case: Case, stage: str) -> list[User]:
    """Who is told about ``case``: the assignee (or the leads when unassigned), and the leads
    on escalation (``stage`` "overdue").

    Absence (DL-3): a member marked away is not told; their notice goes to the deputy they
    named (``Membership.deputy``), else to the case's deputy when they are its assignee, else
    to the office's present leads; only when nobody else is there are they told themself.
    Someone who is no longer a member of the case's office is not told (an assignee who was
    removed counts as no assignee). Never anyone excluded from the case, nor inactive."""
    members = {
        m.user_id: m
        for m in Membership.objects.filter(office=case.office).select_related("user", "deputy")
    }
    excluded = set(CaseExclusion.objects.filter(case=case).values_list("user_id", flat=True))
    leads = [m.user for m in members.values() if m.is_lead]

    def present(user: User | None) -> bool:
        return (
            user is not None
            and user.is_active
            and user.pk in members
            and not members[user.pk].away
            and user.pk not in excluded
        )

    def covered(person: User) -> list[User]:
        membership = members[person.pk]
        if not membership.away:
            return [person]
        case_deputy = case.deputy if person.pk == case.assignee_id else None
        for substitute in (membership.deputy, case_deputy):
            if present(substitute):
                return [substitute]  # type: ignore[list-item]
        return [lead for lead in leads if present(lead)] or [person]

    people: list[User] = []
    if case.assignee is not None and case.assignee_id in members:
        people.extend(covered(case.assignee))
    else:
        for lead in leads:
            people.extend(covered(lead))
    if stage == "overdue":
        for lead in leads:
            people.extend(covered(lead))
    unique: dict[int, User] = {}
    for person in people:
        if person.is_active and person.pk not in excluded:
            unique[person.pk] = person
    return list(unique.values())


def flood_digest_recipients(office: Office, cases: Collection[int]) -> list[tuple[User, int]]:
    """Who gets the office's flood digest and how many of ``cases`` (row ids) it counts for
    each: the active leads, each counting the cases they are not excluded from; none for a lead
    excluded from every one of them."""
    if not cases:
        return []
    excluded: dict[int, int] = {}
    for user_id in CaseExclusion.objects.filter(case__in=cases).values_list("user_id", flat=True):
        excluded[user_id] = excluded.get(user_id, 0) + 1
    leads = (
        Membership.objects.filter(office=office, role=Membership.Role.LEAD, user__is_active=True)
        .select_related("user")
        .order_by("user_id")
    )
    counted = [(m.user, len(cases) - excluded.get(m.user_id, 0)) for m in leads]
    return [(user, count) for user, count in counted if count > 0]


def _send(person: User, template: str, context: Mapping[str, object]) -> int:
    with translation.override(settings.LANGUAGE_CODE):
        subject = render_to_string(f"casework/mail/{template}_subject.txt", context).strip()
        body = render_to_string(f"casework/mail/{template}.txt", context)
    return send_mail(subject, body, None, [person.email])


def office_mail(
    *, case: Case, stage: str, template: str, context: Mapping[str, object] | None = None
) -> int:
    """Mail ``recipients(case, stage)`` the content-free text ``casework/mail/<template>.txt``
    (with ``office`` and ``base_url`` added to ``context``). Returns the number of mails sent."""
    full = {
        **(context or {}),
        "office": case.office,
        "base_url": settings.WHISTLE_BASE_URL,
        # The case reference only if the tenant allows it: a reference in a mailbox tells
        # whoever reads it that a case exists.
        "reference": case.reference if case.tenant.references_in_mail else "",
    }
    return sum(_send(person, template, full) for person in recipients(case, stage))


def flood_digest_mail(*, office: Office, cases: Collection[int]) -> int:
    """One e-mail per lead: how many of ``cases`` (set apart as suspected flood, deadline near
    or passed) they may see, and the link to the set-apart list; nothing about any case."""
    link = settings.WHISTLE_BASE_URL + reverse(
        "casework:set_apart", kwargs={"office_id": office.public_id}
    )
    return sum(
        _send(person, "flood_digest", {"office": office, "count": count, "link": link})
        for person, count in flood_digest_recipients(office, cases)
    )


# --- the new-message notice -----------------------------------------------------------------


def _gate(case_id: str) -> str:
    return f"chat:notice-gate:{case_id}"


def _close_gate(case_id: str, until: float) -> None:
    # The cache's own expiry only tidies up; the time in the entry decides. Best effort: with
    # Redis down the gate stays open and the catch-up job still finds the case.
    try:
        cache.set(_gate(case_id), until, timeout=int(2 * NOTIFY_EVERY.total_seconds()))
    except Exception as error:  # any failure of the cache: the job catches up
        logger.warning("office notice gate not written (%s)", type(error).__name__)


def queue_office_notices(case_ids: Collection[str], *, queue: Callable[[str], object]) -> None:
    """After reporters' messages are committed: call ``queue`` (the task's ``delay``, given by
    the caller: tasks sit above this module) with each case's public id, unless a queued task
    will see its messages anyway or a notice went out within the hour. One cache round trip for
    the gates. (Two processes may both queue at the same moment: harmless, the task decides
    under the notification row's lock.) Never raises: a failure is logged and the catch-up job
    sends the notice."""
    now = timezone.now().timestamp()
    try:
        gates = cache.get_many([_gate(case_id) for case_id in case_ids])
    except Exception as error:  # Redis down: the broker is too, most likely
        logger.warning(
            "office notices not queued for %d case(s): cache unavailable (%s); "
            "the catch-up job will send them",
            len(case_ids),
            type(error).__name__,
        )
        return
    for case_id in case_ids:
        gate = gates.get(_gate(case_id))
        if isinstance(gate, (int, float)) and gate > now:
            continue
        try:
            queue(case_id)
        except Exception as error:  # broker down or the eager task failed
            logger.warning(
                "office notice not queued (%s); the catch-up job will send it",
                type(error).__name__,
            )
            continue
        # Closed only once a task is on its way: otherwise the next message tries again.
        _close_gate(case_id, now + NOTIFY_EVERY.total_seconds())


def _open_gate(case_id: str) -> None:
    try:
        cache.delete(_gate(case_id))
    except Exception as error:  # the gate is only an optimisation
        logger.warning("office notice gate not cleared (%s)", type(error).__name__)


def office_notice_send(*, case_id: str) -> int:
    """Mail the office of this case (public id) that something new is waiting, if a
    reporter's message is unread that no notice covered yet and no notice went out within the
    hour. Marked sent after the mail went out. Returns the number of mails sent."""
    _open_gate(case_id)
    case = (
        Case.objects.select_related("office", "assignee", "deputy")
        .filter(public_id=case_id)
        .first()
    )
    if case is None:
        return 0
    OfficeNotification.objects.get_or_create(case=case)
    now = timezone.now()
    with transaction.atomic():
        # The notification row is the lock: a second task for the same case waits here until
        # this one has mailed and marked, then finds nothing left to send. (Not the case row:
        # handlers' actions lock that one and must not wait for an SMTP server.)
        state = OfficeNotification.objects.select_for_update().get(case=case)
        newest = Message.objects.filter(
            case=case, side=Message.Side.REPORTER, read=False, pk__gt=state.last_message_id
        ).aggregate(newest=Max("pk"))["newest"]
        if newest is None:
            return 0
        if state.last_sent_at is not None and now - state.last_sent_at < NOTIFY_EVERY:
            # Within the hour after a notice: nothing to queue until the hour is over.
            until = (state.last_sent_at + NOTIFY_EVERY).timestamp()
            transaction.on_commit(partial(_close_gate, case_id, until))
            return 0
        sent = _mail_office(case)
        state.last_sent_at = now
        state.last_message_id = newest
        state.save(update_fields=["last_sent_at", "last_message_id"])
        transaction.on_commit(partial(_close_gate, case_id, (now + NOTIFY_EVERY).timestamp()))
    return sent


def _mail_office(case: Case) -> int:
    return office_mail(case=case, stage="due", template="new_message")


def notices_due(*, limit: int = CATCH_UP_BATCH) -> list[str]:
    """Public ids of cases with an unread reporter message that no notice covered yet, whose
    last notice is over an hour old (or that never had one): what the catch-up job sends."""
    state = OfficeNotification.objects.filter(case=OuterRef("case_id"))
    cutoff = timezone.now() - NOTIFY_EVERY
    rows = (
        Message.objects.filter(side=Message.Side.REPORTER, read=False)
        .annotate(
            covered=Coalesce(Subquery(state.values("last_message_id")[:1]), 0),
            last_sent=Subquery(state.values("last_sent_at")[:1]),
        )
        .filter(pk__gt=F("covered"))
        .filter(Q(last_sent__isnull=True) | Q(last_sent__lt=cutoff))
        .order_by()
        .values_list("case__public_id", flat=True)
        .distinct()[:limit]
    )
    return [str(case_id) for case_id in rows]


def office_notices_catch_up() -> int:
    """Send every notice that is due but was not sent (its queuing failed, its task was lost).
    Returns the number of mails sent."""
    sent = 0
    for case_id in notices_due():
        try:
            sent += office_notice_send(case_id=case_id)
        except Exception as error:  # one SMTP failure must not stop the rest
            logger.warning("office notice not sent (%s); retried next run", type(error).__name__)
    return sent


# --- the new-report notice --------------------------------------------------------------------
#
# When a report arrives (any channel: ``intake.signals.case_filed``, sent in the filing
# transaction), every active member of the office gets a ``NewReportNotice`` row in that same
# transaction: the case and who is to be told commit together. After commit the task
# ``casework.tasks.send_new_report_notices`` (the case's public id only) mails the members who
# chose "at once"; the others, and everyone for a report suspected to be part of a flood
# (``Case.flood``), get it in their daily digest (``casework.tasks.send_new_report_digests``).
# The mails say only which office has a new report and link to its inbox (the reference only if
# the tenant allows it; never in the digest). Each row is locked while its mail goes out and
# marked sent afterwards, in the same transaction: a run killed while mailing leaves it unmarked
# and is repeated; a second run after the mark sends nothing. Queuing is best effort: the beat
# job ``casework.tasks.catch_up_new_report_notices`` sends what is still unsent a few minutes
# after the report arrived (the broker was down, the task or the mail failed).

#: Immediate notices still unsent after this long are sent by the catch-up job.
NEW_REPORT_CATCH_UP_AFTER = timedelta(minutes=2)


def new_report_notices_plan(case: Case) -> int:
    """Write who is to be told about the new ``case`` (in the filing transaction). Returns
    the number of members."""
    members = (
        Membership.objects.filter(office_id=case.office_id, user__is_active=True)
        .select_related("user")
        .order_by("user_id")
    )
    flood = case.flood != Case.Flood.NONE
    rows = [
        NewReportNotice(
            case=case,
            user=m.user,
            digest=flood or m.user.new_report_notices == User.NewReportNotices.DIGEST,
        )
        for m in members
    ]
    NewReportNotice.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def new_report_notice_send(*, case_id: str) -> int:
    """Mail the members who chose to hear of new reports at once about this case (public id),
    each exactly once. A case set apart as suspected flood meanwhile goes into the digest
    instead. Returns the number of mails sent."""
    sent = 0
    pending = list(
        NewReportNotice.objects.filter(
            case__public_id=case_id, digest=False, sent_at__isnull=True
        ).values_list("pk", flat=True)
    )
    for pk in pending:
        with transaction.atomic():
            notice = (
                NewReportNotice.objects.select_for_update(of=("self",), skip_locked=True)
                .select_related("case__office", "case__tenant", "user")
                .filter(pk=pk, sent_at__isnull=True, digest=False)
                .first()
            )
            if notice is None:  # sent meanwhile, or another run is sending it
                continue
            case = notice.case
            if case.flood != Case.Flood.NONE or not notice.user.is_active:
                notice.digest = case.flood != Case.Flood.NONE
                if not notice.digest:  # deactivated meanwhile: nothing to send, ever
                    notice.sent_at = timezone.now()
                notice.save(update_fields=["digest", "sent_at"])
                continue
            if not Membership.objects.filter(office=case.office, user=notice.user).exists():
                notice.sent_at = timezone.now()  # left the office: not told any more
                notice.save(update_fields=["sent_at"])
                continue
            link = settings.WHISTLE_BASE_URL + reverse(
                "casework:inbox", kwargs={"office_id": case.office.public_id}
            )
            sent += _send(
                notice.user,
                "new_report",
                {
                    "office": case.office,
                    "link": link,
                    "reference": case.reference if case.tenant.references_in_mail else "",
                },
            )
            notice.sent_at = timezone.now()
            notice.save(update_fields=["sent_at"])
    return sent


def new_report_notices_due() -> list[str]:
    """Public ids of cases with an immediate notice unsent for a few minutes: the catch-up."""
    cutoff = timezone.now() - NEW_REPORT_CATCH_UP_AFTER
    return [
        str(case_id)
        for case_id in NewReportNotice.objects.filter(
            digest=False, sent_at__isnull=True, created_at__lt=cutoff
        )
        .order_by()
        .values_list("case__public_id", flat=True)
        .distinct()[:CATCH_UP_BATCH]
    ]


def new_report_digest_send(*, user_id: int) -> int:
    """One e-mail to this member (row id) for every new report not yet told of, counted per
    office, with each office's inbox link; marked sent after the mail went out. Returns the
    number of mails sent (0 or 1)."""
    with transaction.atomic():
        notices = list(
            NewReportNotice.objects.select_for_update(of=("self",), skip_locked=True)
            .select_related("case__office", "user")
            .filter(user_id=user_id, digest=True, sent_at__isnull=True)
            .order_by("id")
        )
        if not notices:
            return 0
        person = notices[0].user
        offices: dict[int, tuple[Office, int]] = {}
        member_of = set(Membership.objects.filter(user=person).values_list("office_id", flat=True))
        for notice in notices:
            office = notice.case.office
            if office.pk in member_of:
                offices[office.pk] = (office, offices.get(office.pk, (office, 0))[1] + 1)
        sent = 0
        if offices and person.is_active:
            lines = [
                {
                    "office": office,
                    "count": count,
                    "link": settings.WHISTLE_BASE_URL
                    + reverse("casework:inbox", kwargs={"office_id": office.public_id}),
                }
                for office, count in sorted(offices.values(), key=lambda item: item[0].name)
            ]
            sent = _send(person, "new_report_digest", {"offices": lines})
        NewReportNotice.objects.filter(pk__in=[n.pk for n in notices]).update(
            sent_at=timezone.now()
        )
    return sent


def new_report_digest_recipients() -> list[int]:
    """Row ids of members with new reports waiting for their digest."""
    return list(
        NewReportNotice.objects.filter(digest=True, sent_at__isnull=True)
        .order_by("user_id")
        .values_list("user_id", flat=True)
        .distinct()
    )
