"""The audit trail (AUD-1): per-tenant hash chains that show edits, removals and reordering."""

from __future__ import annotations

import datetime
import inspect
import itertools
import secrets
import threading
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.utils import timezone

from casework import audit
from casework.audit import (
    GENESIS_DIGEST,
    REASON_EDITED,
    REASON_LINK,
    VERBS,
    AuditProblem,
    audit_record,
    audit_verify,
    events_for_case,
)
from casework.models import AuditEvent
from intake.models import Case
from tests.fixtures import World


# These tests read whole chains: they start from an empty trail. (Building the worlds records
# events of its own, "member.added" and "tenant_admin.added", which other tests check.)
@pytest.fixture
def world_a(world_a: World) -> World:
    AuditEvent.objects.all().delete()
    return world_a


@pytest.fixture
def worlds(worlds: tuple[World, World]) -> tuple[World, World]:
    AuditEvent.objects.all().delete()
    return worlds


def make_case(world: World) -> Case:
    """A bare case row: the audit trail needs its ids, not its (encrypted) content."""
    return Case.objects.create(
        tenant=world.tenant,
        office=world.office,
        receipt_lookup=secrets.token_hex(5),
        received_on=timezone.localdate(),
    )


def record(world: World, case: Case, verb: str = "case.viewed") -> AuditEvent:
    return audit_record(
        tenant=world.tenant,
        actor=world.handler,
        verb=verb,
        object_type="case",
        object_id=str(case.public_id),
        case=case,
    )


def chain_of(world: World, length: int) -> list[AuditEvent]:
    case = make_case(world)
    return [record(world, case) for _ in range(length)]


def run_command(*args: str) -> tuple[str, CommandError | None]:
    out = StringIO()
    try:
        call_command("audit_verify", *args, stdout=out)
    except CommandError as exc:
        return out.getvalue(), exc
    return out.getvalue(), None


@pytest.mark.django_db
def test_chains_build_per_tenant_independently(worlds: tuple[World, World]) -> None:
    a, b = worlds
    case_a, case_b = make_case(a), make_case(b)
    for _ in range(3):  # interleaved: one tenant's appends do not touch the other's chain
        record(a, case_a)
        record(b, case_b)
    record(a, case_a, "case.acknowledged")

    for world, length in ((a, 4), (b, 3)):
        events = list(AuditEvent.objects.filter(tenant=world.tenant).order_by("sequence"))
        assert [e.sequence for e in events] == list(range(1, length + 1))
        assert events[0].previous_digest == GENESIS_DIGEST
        for before, after in itertools.pairwise(events):
            assert after.previous_digest == before.digest
        assert len({e.digest for e in events}) == length
        assert all(e.actor_label == world.handler.email for e in events)

    assert audit_verify() == []
    assert audit_verify(tenant=a.tenant) == []
    output, error = run_command()
    assert error is None
    assert "OK: 7 events in 2 tenants verified" in output
    output, error = run_command("--tenant", "beta")
    assert error is None
    assert "OK: 3 events in 1 tenants verified" in output


@pytest.mark.django_db
def test_unknown_tenant_is_an_error(world_a: World) -> None:
    with pytest.raises(CommandError, match="No tenant"):
        call_command("audit_verify", "--tenant", "gamma", stdout=StringIO())


@pytest.mark.django_db
@pytest.mark.parametrize(
    "change",
    [
        {"verb": "case.deleted"},
        {"object_id": "00000000-0000-4000-8000-000000000000"},
        {"actor_label": "someone-else@alpha.example"},
        {"at": datetime.datetime(2020, 1, 1, 12, 0, tzinfo=datetime.UTC)},
        {"case_public_id": None},
        {"object_type": "attachment"},
    ],
    ids=lambda change: next(iter(change)),
)
def test_an_edited_row_is_named(worlds: tuple[World, World], change: dict[str, object]) -> None:
    a, b = worlds
    events = chain_of(a, 4)
    chain_of(b, 2)
    edited = events[1]
    AuditEvent.objects.filter(pk=edited.pk).update(**change)

    assert audit_verify() == [AuditProblem("alpha", 2, edited.pk, REASON_EDITED)]
    assert audit_verify(tenant=b.tenant) == []
    output, error = run_command()
    assert error is not None
    assert f"tenant alpha, sequence 2, row {edited.pk}: {REASON_EDITED}" in output
    assert "OK" not in output


@pytest.mark.django_db
def test_a_changed_actor_is_detected(worlds: tuple[World, World]) -> None:
    a, _b = worlds
    events = chain_of(a, 2)
    AuditEvent.objects.filter(pk=events[0].pk).update(actor=a.admin)
    assert audit_verify() == [AuditProblem("alpha", 1, events[0].pk, REASON_EDITED)]


@pytest.mark.django_db
def test_a_removed_middle_row_is_detected(world_a: World) -> None:
    events = chain_of(world_a, 5)
    AuditEvent.objects.filter(pk=events[2].pk).delete()

    problems = audit_verify()
    assert problems == [
        AuditProblem("alpha", 4, events[3].pk, "sequence gap: event 3 missing (removed)")
    ]
    output, error = run_command()
    assert error is not None
    assert f"sequence 4, row {events[3].pk}: sequence gap: event 3 missing" in output


@pytest.mark.django_db
def test_several_removed_rows_and_a_removed_first_row(world_a: World) -> None:
    events = chain_of(world_a, 6)
    AuditEvent.objects.filter(pk__in=[events[0].pk, events[3].pk, events[4].pk]).delete()
    assert audit_verify() == [
        AuditProblem("alpha", 2, events[1].pk, "sequence gap: event 1 missing (removed)"),
        AuditProblem("alpha", 6, events[5].pk, "sequence gap: events 4 to 5 missing (removed)"),
    ]


@pytest.mark.django_db
def test_renumbering_after_a_removal_is_detected(world_a: World) -> None:
    events = chain_of(world_a, 4)
    AuditEvent.objects.filter(pk=events[1].pk).delete()
    for event in events[2:]:  # close the gap, as someone covering their tracks would
        AuditEvent.objects.filter(pk=event.pk).update(sequence=event.sequence - 1)

    problems = audit_verify()
    assert AuditProblem("alpha", 2, events[2].pk, REASON_LINK) in problems
    assert {p.reason for p in problems} == {REASON_LINK, REASON_EDITED}
    assert not any("gap" in p.reason for p in problems)


@pytest.mark.django_db
def test_swapped_sequences_are_detected(world_a: World) -> None:
    events = chain_of(world_a, 4)
    second, third = events[1], events[2]
    # Through a free number: (tenant, sequence) is unique.
    AuditEvent.objects.filter(pk=second.pk).update(sequence=999)
    AuditEvent.objects.filter(pk=third.pk).update(sequence=2)
    AuditEvent.objects.filter(pk=second.pk).update(sequence=3)

    problems = audit_verify()
    assert AuditProblem("alpha", 2, third.pk, REASON_LINK) in problems
    assert AuditProblem("alpha", 2, third.pk, REASON_EDITED) in problems
    assert AuditProblem("alpha", 3, second.pk, REASON_EDITED) in problems
    output, error = run_command()
    assert error is not None
    assert f"sequence 3, row {second.pk}" in output


@pytest.mark.django_db
def test_a_chain_rebuilt_without_the_key_is_detected(world_a: World) -> None:
    """Database write access is not enough: digests need the key derived from SECRET_KEY."""
    events = chain_of(world_a, 3)
    wrong_key = secrets.token_bytes(32)
    previous = GENESIS_DIGEST
    AuditEvent.objects.filter(pk=events[1].pk).update(verb="case.deleted")
    for stored in AuditEvent.objects.filter(tenant=world_a.tenant).order_by("sequence"):
        stored.previous_digest = previous
        stored.digest = audit._digest(wrong_key, stored, str(world_a.tenant.public_id))
        stored.save(update_fields=["previous_digest", "digest"])
        previous = stored.digest

    assert audit_verify() == [
        AuditProblem("alpha", e.sequence, e.pk, REASON_EDITED) for e in events
    ]


@pytest.mark.django_db
def test_a_truncated_tail_shows_only_against_a_recorded_anchor(world_a: World) -> None:
    """The chain alone cannot show removed newest events; the printed head, kept elsewhere,
    can."""
    events = chain_of(world_a, 3)
    output, error = run_command()
    assert error is None
    assert f"alpha: latest event 3, digest {events[2].digest}" in output
    anchor = f"alpha:3:{events[2].digest}"
    assert run_command("--anchor", anchor)[1] is None

    AuditEvent.objects.filter(pk=events[2].pk).delete()
    assert audit_verify() == []  # indistinguishable from a chain that simply ended here
    output, error = run_command()
    assert error is None
    assert f"alpha: latest event 2, digest {events[1].digest}" in output

    output, error = run_command("--anchor", anchor)
    assert error is not None
    assert "recorded anchor event 3 is missing (tail truncated or removed)" in output


@pytest.mark.django_db
def test_a_rewritten_anchor_event_and_bad_anchors(world_a: World) -> None:
    events = chain_of(world_a, 2)
    anchor = f"alpha:2:{events[1].digest}"
    AuditEvent.objects.filter(pk=events[1].pk).update(digest="f" * 64)
    output, error = run_command("--anchor", anchor)
    assert error is not None
    assert "digest differs from the recorded anchor (rewritten)" in output
    with pytest.raises(CommandError, match="slug:sequence:digest"):
        call_command("audit_verify", "--anchor", "alpha:2", stdout=StringIO())
    with pytest.raises(CommandError, match="not being verified: gamma"):
        call_command("audit_verify", "--anchor", f"gamma:1:{'0' * 64}", stdout=StringIO())


@pytest.mark.django_db
def test_unknown_verb_and_non_ids_are_refused(worlds: tuple[World, World]) -> None:
    a, b = worlds
    case = make_case(a)
    good = {"tenant": a.tenant, "actor": a.handler, "object_type": "case", "case": case}
    with pytest.raises(ValueError, match="unknown audit verb"):
        audit_record(verb="case.veiwed", object_id=str(case.public_id), **good)  # type: ignore[arg-type]
    # Free text cannot ride in as an id.
    for text in ("Der Chef hat Geld veruntreut", "", "x" * 65, "a\nb"):
        with pytest.raises(ValueError, match="object_id"):
            audit_record(verb="case.viewed", object_id=text, **good)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="object_type"):
        audit_record(
            tenant=a.tenant,
            actor=a.handler,
            verb="case.viewed",
            object_type="Case file",
            object_id="1",
        )
    with pytest.raises(ValueError, match="another tenant"):
        audit_record(
            tenant=b.tenant,
            actor=b.handler,
            verb="case.viewed",
            object_type="case",
            object_id=str(case.public_id),
            case=case,
        )
    with pytest.raises(ValueError, match="without an actor"):
        audit_record(
            tenant=a.tenant,
            actor=a.handler,
            verb="case.viewed",
            object_type="case",
            object_id="1",
            actor_label="system",
        )
    with pytest.raises(ValueError, match="actor_label"):
        audit_record(
            tenant=a.tenant,
            actor=None,
            verb="case.viewed",
            object_type="case",
            object_id="1",
            actor_label="Anna from accounting",
        )
    assert not AuditEvent.objects.exists()


def test_the_api_takes_no_free_text() -> None:
    """Only ids, a verb from a fixed set and a constrained label: nowhere to put content."""
    parameters = inspect.signature(audit_record).parameters
    assert set(parameters) == {
        "tenant",
        "actor",
        "verb",
        "object_type",
        "object_id",
        "case",
        "actor_label",
    }
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in parameters.values())
    assert {f.name for f in AuditEvent._meta.get_fields()} == {
        "id",
        "tenant",
        "sequence",
        "at",
        "actor",
        "actor_label",
        "verb",
        "object_type",
        "object_id",
        "case_public_id",
        "previous_digest",
        "digest",
    }
    assert all(verb.replace("_", "").replace(".", "").isalpha() for verb in VERBS)


@pytest.mark.django_db
def test_reporter_events_keep_only_the_date(world_a: World) -> None:
    case = make_case(world_a)
    moment = datetime.datetime(2025, 3, 4, 23, 27, 13, 123456, tzinfo=datetime.UTC)
    with time_machine.travel(moment, tick=False):
        reporter = audit_record(
            tenant=world_a.tenant,
            actor=None,
            verb="case.message_sent",
            object_type="message",
            object_id="42",
            case=case,
        )
        job = audit_record(
            tenant=world_a.tenant,
            actor=None,
            actor_label="system:retention",
            verb="case.deleted",
            object_type="case",
            object_id=str(case.public_id),
            case=case,
        )
        staff = record(world_a, case)
    midnight = datetime.datetime(2025, 3, 4, tzinfo=datetime.UTC)
    reporter.refresh_from_db()
    assert (reporter.at, reporter.actor_id, reporter.actor_label) == (midnight, None, "reporter")
    job.refresh_from_db()
    assert (job.at, job.actor_label) == (midnight, "system:retention")
    staff.refresh_from_db()
    assert staff.at == moment
    assert audit_verify() == []


@pytest.mark.django_db
def test_events_for_case_is_that_case_only_in_order(worlds: tuple[World, World]) -> None:
    a, b = worlds
    mine, other = make_case(a), make_case(a)
    first = record(a, mine, "case.created")
    record(a, other)
    audit_record(
        tenant=a.tenant,
        actor=a.admin,
        verb="key.granted",
        object_type="user",
        object_id=str(a.handler.public_id),
    )
    second = record(a, mine, "case.acknowledged")
    record(b, make_case(b))
    assert list(events_for_case(mine)) == [first, second]
    mine.delete()  # the trail outlives the case: it is found by the public id
    assert list(events_for_case(mine)) == [first, second]


@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_get_unique_gapless_sequences(world_a: World) -> None:
    threads, appends = 4, 5
    case_ids = [make_case(world_a).pk for _ in range(threads)]
    start = threading.Barrier(threads, timeout=20)
    errors: list[BaseException] = []

    def work(case_pk: int) -> None:
        try:
            case = Case.objects.get(pk=case_pk)
            start.wait()
            for _ in range(appends):
                with transaction.atomic():
                    # An immediate foreign-key check takes FOR KEY SHARE on the tenant row
                    # first, as any insert referencing the tenant does; the append's own lock
                    # must not deadlock with it.
                    with connection.cursor() as cursor:
                        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                    make_case(world_a)
                    record(world_a, case)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    workers = [threading.Thread(target=work, args=(pk,)) for pk in case_ids]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert not any(worker.is_alive() for worker in workers)
    assert errors == []

    sequences = list(
        AuditEvent.objects.filter(tenant=world_a.tenant)
        .order_by("sequence")
        .values_list("sequence", flat=True)
    )
    assert sequences == list(range(1, threads * appends + 1))
    assert audit_verify() == []


def test_every_verb_has_a_label() -> None:
    from casework.audit import VERBS
    from casework.audit_labels import VERB_LABELS

    assert set(VERB_LABELS) == set(VERBS)


@pytest.mark.django_db
@pytest.mark.parametrize("max_query_params", [None, 20])
def test_a_batch_append_chains_like_appends_one_by_one(
    worlds: tuple[World, World], monkeypatch: pytest.MonkeyPatch, max_query_params: int | None
) -> None:
    """audit_record_cases (retention): the tenants' events interleaved, after existing events,
    in one INSERT or (a database that limits a statement's parameters, as SQLite does) in
    several; the chains verify and every event holds what audit_record would have stored."""
    world_a, world_b = worlds
    monkeypatch.setattr(connection.features, "max_query_params", max_query_params)
    chain_of(world_a, 2)
    cases_a = [make_case(world_a) for _ in range(4)]
    cases_b = [make_case(world_b) for _ in range(3)]
    interleaved = [
        (case.tenant_id, case.public_id)
        for case in itertools.chain.from_iterable(itertools.zip_longest(cases_a, cases_b))
        if case is not None
    ]
    appended = audit.audit_record_cases(
        cases=interleaved, actor=None, actor_label="system:retention", verb="case.deleted"
    )
    assert appended == 7
    by_handler = [(cases_b[0].tenant_id, cases_b[0].public_id)]
    assert audit.audit_record_cases(cases=by_handler, actor=world_b.handler, verb="case.deleted")
    assert audit_verify() == []
    sequences = AuditEvent.objects.order_by("sequence").values_list("sequence", flat=True)
    assert list(sequences.filter(tenant=world_a.tenant)) == [1, 2, 3, 4, 5, 6]
    assert list(sequences.filter(tenant=world_b.tenant)) == [1, 2, 3, 4]
    for case in [*cases_a, *cases_b]:
        event = events_for_case(case).filter(actor=None).get()
        assert (event.verb, event.object_type, event.object_id, event.actor_label) == (
            "case.deleted",
            "case",
            str(case.public_id),
            "system:retention",
        )
        assert event.at.astimezone(datetime.UTC).time() == datetime.time(0)  # date only
    by_actor = events_for_case(cases_b[0]).get(actor=world_b.handler)
    assert by_actor.actor_label == world_b.handler.email and by_actor.sequence == 4
    assert audit.audit_record_cases(cases=[], actor=None, verb="case.deleted") == 0


def test_a_batch_append_writes_only_plain_ids_into_its_statement() -> None:
    params: list[object] = []
    assert audit._values_sql(12, params) == "12"
    digest = "ab" * 32
    assert audit._values_sql(digest, params) == f"'{digest}'"
    case_id = "0b5e4a4c-3d7e-4f0b-9d6b-6b1a3c1a2f00"
    assert audit._values_sql(case_id, params) == f"'{case_id}'"
    assert params == []
    bound: list[object] = ["it's", "50%", "a b", "x" * 65, "\\", True, None, 1.5]
    assert [audit._values_sql(value, params) for value in bound] == ["%s"] * len(bound)
    assert params == bound
