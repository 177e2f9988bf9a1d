"""Never lose an alert: real `homesafe worker` processes escalate overdue walks through the
notification rows to a loopback SMTP server, survive SIGKILL, run in pairs without sending
twice, and keep alerting with Redis unreachable."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from homesafe.notify.models import Notification
from homesafe.notify.tests.test_worker import Workers, wait_for
from homesafe.notify.transports import IDEMPOTENCY_HEADER
from homesafe.walks.models import DueKind, Walk
from homesafe.walks.tests.conftest import due_walks

LOOPS = "walk-deadlines,notifications"


def expected_keys(walks: list[Walk], world: Any) -> set[str]:
    keys = set()
    for walk in walks:
        for contact in world.contacts:
            keys.add(f"walk:{walk.pk}:walk_overdue:contact:{contact.pk}:email")
        keys.add(f"walk:{walk.pk}:walk_overdue:oncall:{world.caseworker.pk}:email")
    return keys


def alerts_out() -> bool:
    return (
        Notification.objects.filter(kind="walk_overdue").exists()
        and not Notification.objects.exclude(state="sent").exists()
        and not Walk.objects.filter(due_kind=DueKind.ESCALATE).exists()
    )


@pytest.mark.django_db(transaction=True)
def test_it_escalates_every_overdue_walk_after_the_worker_is_killed(
    workers: Workers, smtp_server: Any, world: Any
) -> None:
    walks = due_walks(world, 100)
    smtp_server.delay = 0.02
    first = workers.start(loops=LOOPS)
    wait_for(lambda: len(smtp_server.messages) >= 30, "the first alerts")
    first.kill()
    first.wait(10)
    smtp_server.delay = 0
    second = workers.start(loops=LOOPS)
    wait_for(alerts_out, "every overdue walk to be escalated and alerted", timeout=60)
    workers.stop(second)

    assert Walk.objects.filter(escalated_at__isnull=False).count() == 100
    received = Counter(smtp_server.header_values(IDEMPOTENCY_HEADER))
    assert set(received) == expected_keys(walks, world)  # everyone, at least once
    recipients = Counter(str(m["To"]) for m in smtp_server.messages)
    assert recipients["flatmate@example.org"] >= 100 and recipients["sister@example.org"] >= 100
    for key, count in received.items():  # a duplicate is the same alert, recognisably
        if count > 1:
            assert (
                len(
                    {
                        str(m["Message-ID"])
                        for m in smtp_server.messages
                        if "".join(str(m[IDEMPOTENCY_HEADER]).split()) == key
                    }
                )
                == 1
            )


@pytest.mark.django_db(transaction=True)
def test_two_workers_escalate_and_alert_without_sending_twice(
    workers: Workers, smtp_server: Any, world: Any
) -> None:
    walks = due_walks(world, 60)
    pair = [workers.start(loops=LOOPS), workers.start(loops=LOOPS)]
    wait_for(alerts_out, "every alert", timeout=60)
    for proc in pair:
        workers.stop(proc)
    received = Counter(smtp_server.header_values(IDEMPOTENCY_HEADER))
    assert set(received) == expected_keys(walks, world)
    assert set(received.values()) == {1}
