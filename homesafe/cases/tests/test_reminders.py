"""Task reminders end to end: the claim step, the notification row, a real SMTP server, and
real `homesafe worker` processes (two at once never send a reminder twice)."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

import pytest
from django.db import connection

from homesafe.audit.models import AuditEntry
from homesafe.cases import services
from homesafe.cases.models import Task
from homesafe.common.loops import registered_loops
from homesafe.notify.models import Notification
from homesafe.notify.services import handle_one_notification
from homesafe.notify.transports import IDEMPOTENCY_HEADER

from .helpers import in_hours, make_report

ROOT = Path(__file__).resolve().parents[3]
TITLE = "Ring Jordan Sample on 021 555 0101"


def _drain(step: Callable[..., bool], **kwargs: Any) -> int:
    done = 0
    while step(**kwargs):
        done += 1
    return done


def test_the_loop_is_registered() -> None:
    assert "case-reminders" in registered_loops()


@pytest.mark.django_db
def test_it_emails_the_assignee_once_when_the_reminder_is_due(
    personas: Any, smtp_server: Any
) -> None:
    cw = personas.caseworker
    report = make_report(personas.org, narrative="Followed home.")
    due = in_hours(30)
    task = services.task_add(subject=report, user=cw, title=TITLE, due_at=due,
                             assignee_id=cw.pk, remind_minutes_before=60)
    quiet = services.task_add(subject=report, user=cw, title="No reminder", due_at=in_hours(2),
                              assignee_id=cw.pk)
    # Not yet: the reminder is due one hour before the task.
    assert services.handle_one_task_reminder(now=due - dt.timedelta(hours=2)) is False
    assert not Notification.objects.exists()

    at = due - dt.timedelta(minutes=59)
    assert _drain(services.handle_one_task_reminder, now=at) == 1
    assert _drain(services.handle_one_task_reminder, now=at) == 0  # claimed: never again
    notification = Notification.objects.get()
    assert notification.idempotency_key == f"task:{task.pk}:reminder:0:email"
    assert notification.kind == "case_task_reminder" and notification.recipient == cw.email
    assert _drain(handle_one_notification) == 1

    assert len(smtp_server.messages) == 1
    mail = smtp_server.messages[0]
    assert mail["To"] == cw.email
    assert smtp_server.header_values(IDEMPOTENCY_HEADER) == [notification.idempotency_key]
    text = mail.get_payload(decode=True).decode()
    # Due time in the organisation's timezone (NZ is UTC+12/13), a link, and no title.
    local = due.astimezone(__import__("zoneinfo").ZoneInfo("Pacific/Auckland"))
    assert local.strftime("%H:%M") in text and "Pacific/Auckland" in text
    assert f"/cases/report/{report.pk}/#tasks" in text
    assert "Jordan" not in text and "Jordan" not in str(mail["Subject"])
    task.refresh_from_db()
    assert task.reminded_at == at and task.remind_at is None
    assert AuditEntry.objects.filter(action="task.reminder_queued", object_id=str(task.pk)).exists()
    quiet.refresh_from_db()
    assert quiet.reminded_at is None


@pytest.mark.django_db
def test_done_tasks_are_not_reminded_and_reopening_schedules_a_new_reminder(
    personas: Any, smtp_server: Any
) -> None:
    cw = personas.caseworker
    report = make_report(personas.org)
    task = services.task_add(subject=report, user=cw, title="Call", due_at=in_hours(5),
                             assignee_id=cw.pk, remind_minutes_before=1440)
    services.task_done(task=task, user=cw)
    assert services.handle_one_task_reminder() is False
    services.task_reopen(task=task, user=cw)
    assert _drain(services.handle_one_task_reminder) == 1
    assert Notification.objects.get().idempotency_key.endswith(":reminder:1:email")
    # An assignee who left the organisation's casework gets nothing; the claim is recorded.
    other = services.task_add(subject=report, user=cw, title="Call", due_at=in_hours(5),
                              assignee_id=personas.admin.pk, remind_minutes_before=1440)
    personas.admin.memberships.all().delete()
    assert _drain(services.handle_one_task_reminder) == 1
    assert Notification.objects.count() == 1
    assert AuditEntry.objects.filter(action="task.reminder_skipped",
                                     object_id=str(other.pk)).exists()
    # Nor does anyone about a report whose reporter withdrew consent for caseworkers.
    withdrawn = make_report(personas.org)
    services.task_add(subject=withdrawn, user=cw, title="Call", due_at=in_hours(5),
                      assignee_id=cw.pk, remind_minutes_before=1440)
    withdrawn.__class__.objects.filter(pk=withdrawn.pk).update(consent_caseworkers=False)
    assert _drain(services.handle_one_task_reminder) == 1
    assert Notification.objects.count() == 1


# --- real worker processes -------------------------------------------------------------------


def _database_env() -> dict[str, str]:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return {"HOMESAFE_SQLITE_PATH": str(db["NAME"])}
    auth = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        auth += ":" + quote(db["PASSWORD"], safe="")
    return {"DATABASE_URL": f"postgres://{auth}@{db['HOST'] or 'localhost'}:"
                            f"{db['PORT'] or 5432}/{db['NAME']}"}


class Workers:
    def __init__(self, smtp: Any, folder: Path) -> None:
        self.smtp, self.folder = smtp, folder
        self.running: list[tuple[subprocess.Popen[bytes], IO[bytes]]] = []

    def start(self) -> subprocess.Popen[bytes]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("HOMESAFE_SMTP") and k != "DATABASE_URL"}
        env.update(_database_env())
        env.update({
            "HOMESAFE_SMTP_HOST": self.smtp.host,
            "HOMESAFE_SMTP_PORT": str(self.smtp.port),
            "HOMESAFE_SMTP_TLS": "off",
            "HOMESAFE_NOTIFY_POLL_SECONDS": "0.1",
            "HOMESAFE_CASES_POLL_SECONDS": "0.1",
        })
        log = open(self.folder / f"worker-{len(self.running)}.log", "w+b")  # noqa: SIM115
        proc = subprocess.Popen(
            [sys.executable, "-m", "homesafe.cli", "worker", "--loops",
             "case-reminders,notifications"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        self.running.append((proc, log))
        return proc

    def stop_all(self) -> None:
        for proc, _log in self.running:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc, log in self.running:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
            log.close()

    def logs(self) -> str:
        return "\n".join(Path(log.name).read_text(errors="replace") for _p, log in self.running)


@pytest.fixture
def workers(transactional_db: Any, smtp_server: Any, tmp_path: Path) -> Iterator[Workers]:
    pool = Workers(smtp_server, tmp_path)
    yield pool
    pool.stop_all()


def _wait(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def test_two_workers_send_every_due_reminder_exactly_once(
    personas: Any, workers: Workers, smtp_server: Any
) -> None:
    cw = personas.caseworker
    report = make_report(personas.org)
    tasks = [
        services.task_add(subject=report, user=cw, title=f"Task {n}", due_at=in_hours(2 + n / 60),
                          assignee_id=cw.pk, remind_minutes_before=1440)
        for n in range(40)
    ]
    later = services.task_add(subject=report, user=cw, title="Next week", due_at=in_hours(200),
                              assignee_id=cw.pk, remind_minutes_before=60)
    smtp_server.delay = 0.005
    pair = [workers.start(), workers.start()]
    _wait(lambda: len(smtp_server.messages) >= len(tasks), "every reminder to arrive")
    _wait(lambda: not Notification.objects.exclude(state="sent").exists(), "rows marked sent")
    time.sleep(1)  # a double send would show up now
    workers.stop_all()
    for proc in pair:
        assert proc.returncode == 0, workers.logs()
    received = Counter(smtp_server.header_values(IDEMPOTENCY_HEADER))
    assert set(received) == {f"task:{t.pk}:reminder:0:email" for t in tasks}
    assert set(received.values()) == {1}
    assert Task.objects.filter(remind_at__isnull=True, reminded_at__isnull=False).count() == 40
    later.refresh_from_db()
    assert later.remind_at is not None and later.reminded_at is None
    assert "Task 1" not in workers.logs()  # titles never reach the logs
