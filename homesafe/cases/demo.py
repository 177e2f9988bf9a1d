"""Demo casework for the Wellington demo data (homesafe/demo.py calls `seed_demo`).

Everything goes through the cases services, so the demo leaves the same rows and audit entries
as real use; history is then back-dated where a service stamps "now". All text is invented.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections import defaultdict
from collections.abc import Sequence

from django.utils import timezone

from homesafe.accounts.models import Organisation, User
from homesafe.reports.models import Report

from . import services
from .models import ContactEntry, Incident, Referral, Task

SEED = 4

TROLL_REASON = (
    "Same wording as three other submissions the same evening; no time, place or detail that "
    "matches anything we know of."
)
OPEN_TASKS = (
    "Check in by phone: how are they going after a week?",
    "Send the counselling partner's intake details",
    "Ask whether they want us at the police statement",
    "Follow up on the housing referral",
    "Chase the venue manager about CCTV footage",
)
CONTACT_SUMMARIES = (
    "Talked through options; wants support but no police for now.",
    "Left a message at the safe time given. No reply yet.",
    "Reporter replied by email: feeling better, happy to stay in touch.",
    "Met at the office with a support person. Agreed next steps.",
)


def _story_groups(reports: Sequence[Report]) -> list[list[Report]]:
    """Reports told about one moment and place (same day, time and map cell), oldest first:
    the night DESIGN.md starts from is one such group."""
    groups: dict[tuple[object, ...], list[Report]] = defaultdict(list)
    for report in reports:
        if report.occurred_on and report.occurred_time and report.h3_cell is not None:
            groups[(report.occurred_on, report.occurred_time, report.h3_cell)].append(report)
    return [sorted(g, key=lambda r: r.reported_at) for g in groups.values() if len(g) > 1]


def _backdate(
    model: type[Task | ContactEntry | Referral | Incident], pk: uuid.UUID, **fields: object
) -> None:
    model._default_manager.filter(pk=pk).update(**fields)


def seed_demo(org: Organisation, caseworkers: Sequence[User], reports: Sequence[Report]) -> str:
    """Incidents, flags, tasks, contacts, referrals and outcomes on some demo reports; returns
    a one-line summary. Deterministic for the same reports."""
    rng = random.Random(SEED)
    now = timezone.now()
    aroha, sam = caseworkers[0], caseworkers[-1]
    day = dt.timedelta(days=1)
    counts: dict[str, int] = defaultdict(int)

    # The story: the two men's report and the witness who walked them home.
    for group in _story_groups(reports)[:1]:
        first = group[0]
        incident = services.incident_create(
            organisation=org,
            user=aroha,
            title="Courtenay Place takeaway, Pride night: assault and refused escort",
        )
        for report in group:
            role = "victim" if report.reporter_role == "victim" else "witness"
            label = "one of the two men" if role == "victim" else "walked them home, has video"
            services.incident_link_report(
                incident=incident, report=report, user=aroha, role=role, label=label
            )
        _backdate(Incident, incident.pk, created_at=first.reported_at + 4 * day)
        counts["incidents"] += 1
        victim = next((r for r in group if r.reporter_role == "victim"), first)
        meeting = services.task_add(
            subject=incident,
            user=aroha,
            title="Bring refused-escort figures (last two years) to the district commander meeting",
            due_at=now + 5 * day,
            assignee_id=aroha.pk,
            remind_minutes_before=24 * 60,
        )
        asked = services.task_add(
            subject=incident,
            user=aroha,
            title="Ask the witness whether the video may go to police",
            due_at=now + day,
            assignee_id=aroha.pk,
        )
        services.task_done(task=asked, user=aroha)
        counts["tasks"] += 2
        services.contact_add(
            subject=victim,
            user=aroha,
            happened_at=min(
                victim.reported_at + 3 * dt.timedelta(hours=1), now - 2 * dt.timedelta(hours=1)
            ),
            channel="email",
            direction="outbound",
            summary="First contact through the mailbox; offered to come to the police station.",
        )
        services.contact_add(
            subject=victim,
            user=aroha,
            happened_at=min(victim.reported_at + 2 * day, now - dt.timedelta(hours=1)),
            channel="phone",
            direction="inbound",
            summary="Wants support at the statement. Still not going into town at night.",
        )
        counts["contacts"] += 2
        police = services.referral_add(
            subject=incident,
            user=aroha,
            kind="police",
            to_whom="Wellington Central police, hate crime liaison",
            status="made",
        )
        services.referral_set_status(referral=police, user=aroha, status="accepted")
        services.referral_add(
            subject=victim,
            user=aroha,
            kind="counselling",
            to_whom="Rainbow counselling partner (demo)",
            status="made",
        )
        services.referral_add(
            subject=victim, user=aroha, kind="legal_aid", to_whom="Community law centre (demo)"
        )
        counts["referrals"] += 3
        _backdate(Task, meeting.pk, created_at=first.reported_at + 6 * day)

    # Everyday casework on other reports of the last few months.
    story_ids = {r.pk for g in _story_groups(reports)[:1] for r in g}
    others = [r for r in reports if r.pk not in story_ids]
    recent = sorted(
        (r for r in others if now - r.reported_at < dt.timedelta(days=120)),
        key=lambda r: r.reported_at,
        reverse=True,
    )
    supported = [r for r in recent if r.status in ("in_support", "referred_to_police")][:8]
    for index, report in enumerate(supported):
        worker = report.assignee or (aroha if index % 2 == 0 else sam)
        task = services.task_add(
            subject=report,
            user=worker,
            title=OPEN_TASKS[index % len(OPEN_TASKS)],
            due_at=now + dt.timedelta(hours=rng.randint(6, 96)),
            assignee_id=worker.pk,
            remind_minutes_before=60,
        )
        counts["tasks"] += 1
        if index in (1, 4):
            # Overdue: due yesterday; its reminder went out before that.
            due = now - dt.timedelta(hours=rng.randint(5, 30))
            _backdate(
                Task,
                task.pk,
                due_at=due,
                remind_at=None,
                reminded_at=due - dt.timedelta(hours=1),
                created_at=due - 3 * day,
            )
        services.contact_add(
            subject=report,
            user=worker,
            happened_at=min(
                report.reported_at + dt.timedelta(hours=rng.randint(4, 48)),
                now - dt.timedelta(hours=1),
            ),
            channel=rng.choice(["phone", "email", "mailbox", "in_person"]),
            direction=rng.choice(["outbound", "inbound", "attempt"]),
            summary=CONTACT_SUMMARIES[index % len(CONTACT_SUMMARIES)],
        )
        counts["contacts"] += 1
        if index % 3 == 0:
            kind = ("counselling", "housing", "medical")[index // 3 % 3]
            referral = services.referral_add(
                subject=report,
                user=worker,
                kind=kind,
                to_whom=f"{kind.replace('_', ' ').title()} partner (demo)",
                status="suggested",
            )
            _backdate(Referral, referral.pk, suggested_at=report.reported_at + 2 * day)
            counts["referrals"] += 1

    # Outcomes on closed reports.
    closed = [r for r in others if r.status == "closed"][:12]
    for report in closed:
        code = (
            "no_contact_possible"
            if report.identity_level == "anonymous"
            else rng.choice(["supported", "resolved", "referred_on", "closed_no_action"])
        )
        services.outcome_set(subject=report, user=report.assignee or aroha, code=code)
        counts["outcomes"] += 1

    # A duplicate (the same person sent it twice) and a suspected troll, both still readable.
    by_day: dict[object, list[Report]] = defaultdict(list)
    for report in recent:
        if report.occurred_on and report.status in ("new", "triaged"):
            by_day[report.occurred_on].append(report)
    pair = next((g for g in by_day.values() if len(g) > 1), None)
    if pair:
        original, repeat = sorted(pair[:2], key=lambda r: r.reported_at)
        services.report_mark_duplicate(report=repeat, original=original, user=sam)
        counts["duplicates"] += 1
    troll = next(
        (
            r
            for r in recent
            if r.status == "new" and r.identity_level == "anonymous" and (not pair or r not in pair)
        ),
        None,
    )
    if troll is not None:
        services.report_mark_troll(report=troll, user=sam, reason=TROLL_REASON)
        counts["trolls"] += 1

    return (
        f"casework: {counts['incidents']} incident, {counts['tasks']} tasks, "
        f"{counts['contacts']} contacts, {counts['referrals']} referrals, "
        f"{counts['outcomes']} outcomes, {counts['duplicates']} duplicate, "
        f"{counts['trolls']} suspected troll"
    )
