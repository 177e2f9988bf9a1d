"""The deadline loop in batches: many walks due at once are prompted, escalated and alerted in
a few steps whose queries do not grow with the batch, and a bad walk holds up only itself."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from homesafe.audit.models import AuditEntry
from homesafe.audit.services import audit_verify
from homesafe.notify.models import Notification
from homesafe.walks import services
from homesafe.walks.models import DueKind, Walk, WalkState
from homesafe.walks.tests.conftest import due_walks, request_walk


def audited(action: str) -> Counter[str]:
    return Counter(AuditEntry.objects.filter(action=action).values_list("object_id", flat=True))


@pytest.mark.django_db
def test_it_escalates_more_walks_than_a_batch_in_a_few_steps(world: Any) -> None:
    walks = due_walks(world, services.DUE_BATCH + 20)
    now = timezone.now()
    assert services.handle_one_due_walk(now) is True
    # The most overdue first: the first batch is exactly the oldest DUE_BATCH walks.
    escalated = set(Walk.objects.filter(escalated_at__isnull=False).values_list("pk", flat=True))
    assert escalated == {w.pk for w in walks[: services.DUE_BATCH]}
    assert services.handle_one_due_walk(now) is True
    assert services.handle_one_due_walk(now) is False

    assert Walk.objects.filter(escalated_at=now, due_at__isnull=True, due_kind="").count() == len(
        walks
    )
    alerts = Notification.objects.filter(kind="walk_overdue")
    assert alerts.count() == 3 * len(walks)
    assert Counter(a.recipient for a in alerts) == {
        "flatmate@example.org": len(walks),
        "sister@example.org": len(walks),
        "oncall@example.org": len(walks),
    }
    walk = walks[7]
    keys = set(
        Notification.objects.filter(walk_id=walk.pk).values_list("idempotency_key", flat=True)
    )
    assert keys == {
        f"walk:{walk.pk}:walk_overdue:contact:{world.contacts[0].pk}:email",
        f"walk:{walk.pk}:walk_overdue:contact:{world.contacts[1].pk}:email",
        f"walk:{walk.pk}:walk_overdue:oncall:{world.caseworker.pk}:email",
    }
    body = Notification.objects.filter(walk_id=walk.pk).first().body  # type: ignore[union-attr]
    assert "Rua has not checked in as home safe" in body
    assert "-41.29500, 174.77900" in body and "call 111" in body
    assert audited("walk.escalate") == {str(w.pk): 1 for w in walks}
    entry = AuditEntry.objects.filter(action="walk.escalate").first()
    assert entry is not None
    assert (entry.actor_kind, entry.data) == ("system", {"alerts": 3})
    assert audit_verify().ok


@pytest.mark.django_db
def test_a_step_costs_the_same_queries_for_five_walks_as_for_a_full_batch(world: Any) -> None:
    def queries_for(count: int) -> int:
        due_walks(world, count)
        with CaptureQueriesContext(connection) as ctx:
            assert services.handle_one_due_walk() is True
        assert services.handle_one_due_walk() is False
        return len(ctx.captured_queries)

    queries_for(1)  # the audit log's first append creates its head row
    few, full = queries_for(5), queries_for(services.DUE_BATCH)
    # SQLite splits the alert rows' insert into statements of at most 999 parameters.
    extra = 0 if connection.vendor == "postgresql" else 2
    assert few <= full <= few + extra
    assert full <= 17 + extra  # savepoints (transactions outside tests) included


@pytest.mark.django_db
def test_it_prompts_escalates_and_widens_in_one_batch(world: Any) -> None:
    searching = request_walk(world)  # nobody on duty: the widening alerts on-call
    Walk.objects.filter(pk=searching.pk).update(due_at=timezone.now() - dt.timedelta(seconds=1))
    prompted = due_walks(world, 3, kind=DueKind.OVERDUE_PROMPT, ago_s=3)
    escalating = due_walks(world, 2, ago_s=2)
    ended = due_walks(world, 1, ago_s=1)[0]
    Walk.objects.filter(pk=ended.pk).update(state=WalkState.ENDED)
    now = timezone.now()
    assert services.handle_one_due_walk(now) is True
    assert services.handle_one_due_walk(now) is False

    grace = dt.timedelta(minutes=services.walk_settings(world.org).grace_min)
    for walk in prompted:
        walk.refresh_from_db()
        assert (walk.overdue_prompted_at, walk.due_at, walk.due_kind) == (
            now,
            now + grace,
            DueKind.ESCALATE,
        )
    for walk in escalating:
        walk.refresh_from_db()
        assert (walk.escalated_at, walk.due_at, walk.due_kind) == (now, None, "")
    searching.refresh_from_db()
    assert searching.no_volunteer_at == now and searching.due_kind == DueKind.WIDEN
    assert (
        Notification.objects.filter(walk_id=searching.pk, kind="oncall_no_volunteer").count() == 1
    )
    ended.refresh_from_db()
    assert (ended.escalated_at, ended.due_at) == (None, None)
    assert Notification.objects.filter(kind="walk_overdue").count() == 6
    assert not Notification.objects.filter(walk_id__in=[w.pk for w in prompted]).exists()
    assert audited("walk.overdue") == {str(w.pk): 1 for w in prompted}
    assert audited("walk.widen") == {str(searching.pk): 1}
    assert audit_verify().ok

    # The prompted walks escalate when their grace period is over.
    assert services.handle_one_due_walk(now + grace) is True
    assert Notification.objects.filter(kind="walk_overdue").count() == 6 + 3 * len(prompted)


@pytest.mark.django_db
def test_a_bad_walk_in_a_batch_holds_up_only_itself(world: Any, monkeypatch: Any) -> None:
    walks = due_walks(world, 5)
    bad = walks[2]
    real = services._alert_messages

    def broken_for_one(walk: Walk, **kwargs: Any) -> Any:
        if walk.pk == bad.pk:
            raise RuntimeError("a bad row")
        return real(walk, **kwargs)

    monkeypatch.setattr(services, "_alert_messages", broken_for_one)
    now = timezone.now()
    with pytest.raises(RuntimeError):
        services.handle_one_due_walk(now)
    handled = Walk.objects.filter(escalated_at__isnull=False)
    assert set(handled.values_list("pk", flat=True)) == {w.pk for w in walks} - {bad.pk}
    assert Notification.objects.filter(kind="walk_overdue").count() == 3 * 4
    assert not Notification.objects.filter(walk_id=bad.pk).exists()
    assert audited("walk.escalate") == {str(w.pk): 1 for w in walks if w.pk != bad.pk}

    monkeypatch.setattr(services, "_alert_messages", real)
    assert services.handle_one_due_walk(now) is False  # leased: not before the lease ends
    assert services.handle_one_due_walk(now + services.CLAIM_LEASE) is True
    assert Notification.objects.filter(walk_id=bad.pk, kind="walk_overdue").count() == 3
    assert audit_verify().ok


@pytest.mark.django_db
def test_a_walk_that_ends_after_its_claim_is_left_alone(world: Any) -> None:
    walk = due_walks(world, 1)[0]
    now = timezone.now()
    claimed = services._claim_due_walks(Walk.objects.filter(due_at__lte=now), now)
    assert claimed == {walk.pk: DueKind.ESCALATE}
    services.walk_checkin(walk=Walk.objects.get(pk=walk.pk), user=world.member)  # home safe
    services._act_on_due_walks(claimed, now + services.CLAIM_LEASE, now)
    walk.refresh_from_db()
    assert (walk.state, walk.escalated_at, walk.due_at) == (WalkState.ENDED, None, None)
    assert not Notification.objects.filter(kind="walk_overdue").exists()


@pytest.mark.django_db(transaction=True)
def test_three_threads_escalate_each_walk_once(world: Any) -> None:
    walks = due_walks(world, 2 * services.DUE_BATCH + 30)
    errors: list[BaseException] = []
    start = threading.Barrier(3)

    def work() -> None:
        try:
            start.wait(timeout=10)
            while services.handle_one_due_walk():
                pass
        except BaseException as exc:  # reported to the test below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert Walk.objects.filter(escalated_at__isnull=False, due_at__isnull=True).count() == len(
        walks
    )
    assert Notification.objects.filter(kind="walk_overdue").count() == 3 * len(walks)
    assert audited("walk.escalate") == {str(w.pk): 1 for w in walks}
    assert audit_verify().ok
