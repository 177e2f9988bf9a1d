"""The hash-chained audit log: appending, verifying, tampering, concurrency and the CLI."""

from __future__ import annotations

import datetime as dt
import io
import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from homesafe import cli
from homesafe.audit.models import AuditEntry, AuditHead
from homesafe.audit.services import (
    GENESIS,
    AuditIn,
    audit_append,
    audit_append_many,
    audit_verify,
    entry_hash,
)
from homesafe.reports.schemas import ContactIn, PoliceIn, ReportIn
from homesafe.reports.services import (
    case_note_add,
    mailbox_post_by_caseworker,
    mailbox_post_by_reporter,
    report_submit,
    report_update,
)

TABLE = AuditEntry._meta.db_table
on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the append-only trigger is PostgreSQL's"
)

# --- helpers ---------------------------------------------------------------------------------


def append_entries(count: int, *, start: int = 0) -> list[AuditEntry]:
    return [
        audit_append(
            action="report.view",
            object_type="report",
            object_id=uuid.uuid4(),
            actor_kind="system",
            organisation_id=7,
            data={"n": start + i, "nested": {"b": [1, 2.5, None, True], "a": "ā"}},
        )
        for i in range(count)
    ]


def run_verify() -> str:
    out = io.StringIO()
    call_command("audit", "verify", stdout=out, stderr=io.StringIO())
    return out.getvalue()


def assert_broken(*expected: str) -> None:
    """`audit verify` fails, and the problems it lists mention each expected phrase."""
    err = io.StringIO()
    with pytest.raises(CommandError, match="audit chain broken"):
        call_command("audit", "verify", stdout=io.StringIO(), stderr=err)
    problems = err.getvalue()
    for phrase in expected:
        assert phrase in problems, problems


def sql(statement: str, params: list[Any] | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


@contextmanager
def as_table_owner() -> Iterator[None]:
    """Write to the audit table as an attacker with owner rights could: on PostgreSQL they
    would first switch the append-only trigger off."""
    postgresql = connection.vendor == "postgresql"
    if postgresql:
        sql(f"ALTER TABLE {TABLE} DISABLE TRIGGER audit_append_only")
    try:
        yield
    finally:
        if postgresql:
            sql(f"ALTER TABLE {TABLE} ENABLE TRIGGER audit_append_only")


def forged_entry(*, seq: int, prev_hash: str) -> AuditEntry:
    """An entry whose hash is right for its own contents and the link it claims."""
    fields: dict[str, Any] = {
        "seq": seq,
        "created_at": timezone.now(),
        "actor_kind": "system",
        "actor_id": None,
        "action": "report.view",
        "object_type": "report",
        "object_id": str(uuid.uuid4()),
        "organisation_id": 7,
        "data": {"forged": True},
        "prev_hash": prev_hash,
    }
    digest = entry_hash(
        **{**fields, "created_at": fields["created_at"].isoformat(timespec="microseconds")}
    )
    return AuditEntry(**fields, hash=digest)


# --- an intact chain ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_verifies_an_empty_log() -> None:
    assert audit_verify().ok
    assert "audit chain intact: 0 entries" in run_verify()


@pytest.mark.django_db
def test_it_chains_appended_entries(personas: Any) -> None:
    entries = append_entries(5)
    entries.append(
        audit_append(
            action="report.status_change",
            object_type="report",
            object_id="x",
            actor=personas.caseworker,
            data={"from": "new", "to": "triaged"},
        )
    )
    stored = list(AuditEntry.objects.order_by("seq"))
    assert [e.seq for e in stored] == [1, 2, 3, 4, 5, 6]
    assert stored[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in zip(stored, stored[1:], strict=False))
    assert len({e.hash for e in stored}) == 6
    assert (stored[-1].actor_kind, stored[-1].actor_id) == ("user", personas.caseworker.pk)
    assert (stored[0].actor_kind, stored[0].actor_id) == ("system", None)
    head = AuditHead.objects.get()
    assert (head.seq, head.hash) == (6, stored[-1].hash)
    assert audit_verify().ok and audit_verify().entries == 6
    assert "audit chain intact: 6 entries" in run_verify()


@pytest.mark.django_db
def test_it_records_anonymous_actors_as_public() -> None:
    from django.contrib.auth.models import AnonymousUser

    entry = audit_append(action="x", object_type="report", object_id=1, actor=AnonymousUser())
    assert (entry.actor_kind, entry.actor_id, entry.data) == ("public", None, {})
    assert audit_verify().ok


@pytest.mark.django_db
def test_it_appends_many_entries_under_one_head_update(
    personas: Any, django_assert_num_queries: Any
) -> None:
    append_entries(2)
    wanted = [
        AuditIn(action="walk.escalate", object_type="walk", object_id=uuid.uuid4(),
                actor_kind="system", organisation_id=3, data={"alerts": 3}),
        AuditIn(action="walk.overdue", object_type="walk", object_id="w2", actor_kind="system"),
        AuditIn(action="report.view", object_type="report", object_id=9,
                actor=personas.caseworker),
    ]
    with django_assert_num_queries(3), transaction.atomic(savepoint=False):
        entries = audit_append_many(wanted)
    assert [e.seq for e in entries] == [3, 4, 5]
    stored = list(AuditEntry.objects.order_by("seq"))
    assert [e.hash for e in stored[2:]] == [e.hash for e in entries]
    assert all(b.prev_hash == a.hash for a, b in zip(stored, stored[1:], strict=False))
    assert [(e.action, e.object_id, e.actor_kind, e.actor_id) for e in stored[2:]] == [
        ("walk.escalate", str(wanted[0].object_id), "system", None),
        ("walk.overdue", "w2", "system", None),
        ("report.view", "9", "user", personas.caseworker.pk),
    ]
    assert stored[2].data == {"alerts": 3} and stored[3].data == {}
    assert (AuditHead.objects.get().seq, AuditHead.objects.get().hash) == (5, stored[-1].hash)
    assert audit_append_many([]) == []
    append_entries(1)
    result = audit_verify()
    assert result.ok and result.entries == 6
    assert "audit chain intact: 6 entries" in run_verify()


@pytest.mark.django_db
def test_it_appends_nothing_of_a_batch_whose_transaction_fails() -> None:
    append_entries(1)
    with pytest.raises(RuntimeError), transaction.atomic():
        audit_append_many(
            [AuditIn(action="walk.overdue", object_type="walk", object_id=i) for i in range(3)]
        )
        raise RuntimeError("the change being audited failed")
    assert AuditEntry.objects.count() == 1 and AuditHead.objects.get().seq == 1
    append_entries(1)
    assert audit_verify().ok


# --- tampering -----------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("action", "report.nothing_to_see"),
        ("actor_kind", "public"),
        ("object_id", "another-object"),
        ("object_type", "walk"),
        ("hash", "f" * 64),
        ("prev_hash", "e" * 64),
    ],
)
def test_it_detects_an_edited_column(column: str, value: str) -> None:
    append_entries(5)
    with as_table_owner():
        sql(f"UPDATE {TABLE} SET {column} = %s WHERE seq = 3", [value])  # noqa: S608
    assert AuditEntry.objects.get(seq=3).__dict__[column] == value
    assert_broken("entry 3")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "changes",
    [
        {"data": {"n": 2, "nested": {"a": "ā", "b": [1, 2.5, None, False]}}},
        {"data": {}},
        {"actor_id": 99},
        {"organisation_id": 8},
        {"created_at": "shifted"},
    ],
)
def test_it_detects_edited_data_time_and_ids(changes: dict[str, Any]) -> None:
    entries = append_entries(5)
    if changes.get("created_at") == "shifted":
        changes = {"created_at": entries[2].created_at + dt.timedelta(microseconds=1)}
    with as_table_owner():
        AuditEntry.objects.filter(seq=3).update(**changes)
    assert_broken("entry 3: contents do not match its hash")


@pytest.mark.django_db
@pytest.mark.parametrize(("seq", "expected"), [(1, "entry 2"), (3, "entry 4"), (5, "head")])
def test_it_detects_a_deleted_entry(seq: int, expected: str) -> None:
    append_entries(5)
    with as_table_owner():
        sql(f"DELETE FROM {TABLE} WHERE seq = %s", [seq])  # noqa: S608
    assert AuditEntry.objects.count() == 4
    assert_broken(expected)


@pytest.mark.django_db
def test_it_detects_a_deleted_log() -> None:
    append_entries(3)
    with as_table_owner():
        sql(f"DELETE FROM {TABLE}")  # noqa: S608
    assert_broken("the chain ends at entry 0 but the head records entry 3")


@pytest.mark.django_db
def test_it_detects_a_forged_entry_at_the_end() -> None:
    entries = append_entries(4)
    forged_entry(seq=5, prev_hash=entries[-1].hash).save()
    # Each entry is consistent in itself; only the head knows the chain ended at 4.
    assert_broken("the chain ends at entry 5 but the head records entry 4")


@pytest.mark.django_db
def test_it_detects_a_forged_entry_slipped_into_the_middle() -> None:
    entries = append_entries(5)
    with as_table_owner():
        # Make room at seq 3 (in two steps: seq is unique), then slip a forgery in.
        sql(f"UPDATE {TABLE} SET seq = -seq WHERE seq >= 3")  # noqa: S608
        sql(f"UPDATE {TABLE} SET seq = 1 - seq WHERE seq < 0")  # noqa: S608
    forged_entry(seq=3, prev_hash=entries[1].hash).save()
    AuditHead.objects.update(seq=6)
    seqs = list(AuditEntry.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, 7))
    assert_broken("entry 4: does not link", "entry 4: contents do not match its hash")


@pytest.mark.django_db
def test_it_detects_swapped_entries() -> None:
    append_entries(5)
    with as_table_owner():
        sql(f"UPDATE {TABLE} SET seq = -1 WHERE seq = 2")  # noqa: S608
        sql(f"UPDATE {TABLE} SET seq = 2 WHERE seq = 3")  # noqa: S608
        sql(f"UPDATE {TABLE} SET seq = 3 WHERE seq = -1")  # noqa: S608
    assert_broken("entry 2", "entry 3")


@pytest.mark.django_db
@pytest.mark.parametrize("changes", [{"seq": 4}, {"hash": "a" * 64}, {"seq": 6}])
def test_it_detects_an_edited_head(changes: dict[str, Any]) -> None:
    append_entries(5)
    AuditHead.objects.update(**changes)
    assert_broken("the head records entry")


@pytest.mark.django_db
def test_it_detects_a_deleted_head() -> None:
    append_entries(2)
    AuditHead.objects.all().delete()
    assert_broken("the head records entry 0")


@pytest.mark.django_db
def test_it_stops_listing_problems_at_a_limit() -> None:
    append_entries(30)
    with as_table_owner():
        sql(f"UPDATE {TABLE} SET action = 'x'")  # noqa: S608
    result = audit_verify(max_problems=5)
    assert not result.ok and len(result.problems) == 5


# --- the database refuses changes (PostgreSQL) --------------------------------------------------


@pytest.mark.django_db
@on_postgresql
@pytest.mark.parametrize(
    "statement",
    [
        f"UPDATE {TABLE} SET action = 'changed' WHERE seq = 2",  # noqa: S608
        f"UPDATE {TABLE} SET data = '{{}}'",  # noqa: S608
        f"DELETE FROM {TABLE} WHERE seq = 3",  # noqa: S608
        f"DELETE FROM {TABLE}",  # noqa: S608
    ],
)
def test_it_refuses_updates_and_deletes_in_the_database(statement: str) -> None:
    append_entries(3)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        sql(statement)
    assert AuditEntry.objects.count() == 3
    assert audit_verify().ok


@pytest.mark.django_db
@on_postgresql
def test_it_refuses_orm_updates_and_deletes_in_the_database() -> None:
    append_entries(2)
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(seq=1).update(action="changed")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(seq=2).delete()
    entry = AuditEntry.objects.get(seq=1)
    entry.action = "changed"
    with pytest.raises(DatabaseError), transaction.atomic():
        entry.save()
    # Switched back on after a tamper test, the trigger refuses again.
    with as_table_owner():
        pass
    with pytest.raises(DatabaseError), transaction.atomic():
        sql(f"DELETE FROM {TABLE}")  # noqa: S608
    assert audit_verify().ok and AuditEntry.objects.count() == 2


# --- no personal data in the log ---------------------------------------------------------------


@pytest.mark.django_db
def test_it_keeps_personal_data_out_of_audit_entries(personas: Any) -> None:
    tag = uuid.uuid4().hex[:10]
    markers = [
        f"Narrative{tag}",
        f"Place{tag}",
        f"Name{tag}",
        f"mail{tag}@example.org",
        f"PoliceRef{tag}",
        f"Reply{tag}",
        f"Note{tag}",
        f"Mailbox{tag}",
    ]
    narrative, place, name, email, police_ref, reply, note, mailbox = markers
    report = report_submit(
        data=ReportIn(
            organisation=personas.org.slug,
            reporter_role="victim",
            identity_level="identified",
            contact=ContactIn(name=name, email=email),
            place_text=place,
            narrative=narrative,
            police=PoliceIn(contacted="yes", police_reference=police_ref),
        )
    ).report
    mailbox_post_by_reporter(report=report, body=mailbox)
    mailbox_post_by_caseworker(report=report, user=personas.caseworker, body=reply)
    case_note_add(report=report, user=personas.caseworker, body=note)
    report_update(
        report=report,
        user=personas.caseworker,
        status="triaged",
        assignee_id=personas.caseworker.pk,
    )

    entries = list(AuditEntry.objects.order_by("seq"))
    assert [e.action for e in entries] == [
        "police_response.add",  # the police answers given on the form, then the report
        "report.submit",
        "mailbox.reporter_message",
        "mailbox.caseworker_message",
        "report.note_add",
        "report.status_change",
        "report.assignee_change",
    ]
    for entry in entries:
        stored = [str(getattr(entry, f.attname)) for f in AuditEntry._meta.concrete_fields]
        stored.append(json.dumps(entry.data, ensure_ascii=False))
        for marker in markers:
            assert not any(marker.lower() in value.lower() for value in stored), (marker, entry)
    assert audit_verify().ok


# --- concurrent appenders ------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_it_keeps_one_chain_under_concurrent_appends() -> None:
    threads, per_thread = 2, 20
    start = threading.Barrier(threads)
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            start.wait()
            append_entries(per_thread, start=worker * 1000)
        except BaseException as exc:  # reported to the test below
            errors.append(exc)
        finally:
            connection.close()

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(timeout=120)
    assert errors == []
    total = threads * per_thread
    assert list(AuditEntry.objects.order_by("seq").values_list("seq", flat=True)) == list(
        range(1, total + 1)
    )
    result = audit_verify()
    assert result.ok, result.problems
    assert result.entries == total
    # Both threads' appends are in it.
    assert {e["n"] // 1000 for e in AuditEntry.objects.values_list("data", flat=True)} == {0, 1}


@pytest.mark.django_db(transaction=True)
def test_it_keeps_one_chain_when_batches_and_single_appends_interleave() -> None:
    start = threading.Barrier(3)
    errors: list[BaseException] = []

    def singles() -> None:
        append_entries(15, start=0)

    def batches(worker: int) -> None:
        for batch in range(5):
            audit_append_many(
                [
                    AuditIn(action="walk.escalate", object_type="walk", object_id=i,
                            actor_kind="system", data={"n": worker * 1000 + batch * 10 + i})
                    for i in range(4)
                ]
            )

    def work(job: Any, *args: Any) -> None:
        try:
            start.wait()
            job(*args)
        except BaseException as exc:  # reported to the test below
            errors.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=work, args=(singles,)),
        threading.Thread(target=work, args=(batches, 1)),
        threading.Thread(target=work, args=(batches, 2)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    total = 15 + 2 * 5 * 4
    assert list(AuditEntry.objects.order_by("seq").values_list("seq", flat=True)) == list(
        range(1, total + 1)
    )
    result = audit_verify()
    assert result.ok, result.problems
    assert result.entries == total
    # Each batch's entries are consecutive: nobody appended in the middle of one.
    by_batch: dict[int, list[int]] = {}
    for seq, data in AuditEntry.objects.filter(action="walk.escalate").values_list("seq", "data"):
        by_batch.setdefault(data["n"] // 10, []).append(seq)
    assert len(by_batch) == 10
    assert all(max(seqs) - min(seqs) == 3 for seqs in by_batch.values())


# --- the `homesafe` command line -----------------------------------------------------------------


@pytest.mark.django_db(transaction=True)  # management commands close connections when done
def test_it_verifies_through_the_command_line(capsys: Any) -> None:
    append_entries(3)
    assert cli.main(["audit", "verify"]) == 0
    assert "audit chain intact: 3 entries" in capsys.readouterr().out

    with as_table_owner():
        sql(f"UPDATE {TABLE} SET action = 'report.nothing' WHERE seq = 2")  # noqa: S608
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["audit", "verify"])
    assert exit_info.value.code not in (0, None)
    err = capsys.readouterr().err
    assert "entry 2: contents do not match its hash" in err
    assert "audit chain broken" in err
