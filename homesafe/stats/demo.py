"""Demo statistics for the Wellington organisation: publication settings, past walks home (so
the walk figures have something to show), two approved anonymised case summaries, and a first
public release. Called by homesafe/demo.py after the reports are seeded."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence

import h3
from django.utils import timezone

from homesafe.accounts.models import Membership, Organisation, Role, User
from homesafe.common import geo
from homesafe.stats import services
from homesafe.stats.models import CaseSummary, PrivacyBudgetEntry, StatsRelease
from homesafe.walks.models import Walk, WalkKind, WalkState

COURTENAY_PLACE = (-41.2935, 174.7815)
PAST_WALKS = 220

SUMMARIES = [
    (
        "Pride night: no escort home",
        "Two men waiting for food on a nightlife street were attacked by a group shouting "
        "homophobic slurs while a crowd filmed. Police separated the group but declined to "
        "walk them home; passers-by did. Police later apologised and opened an investigation.",
    ),
    (
        "Repeated abuse at a bus stop",
        "A trans woman reported being abused at the same bus stop on several evenings. The "
        "report to police was recorded as a hate incident after a caseworker followed it up.",
    ),
]


def seed_demo(org: Organisation, caseworkers: Sequence[User]) -> str:
    """Seed the demo's statistics and publish release 1; returns a short summary."""
    rng = random.Random(5)
    now = timezone.now()
    area = str(h3.latlng_to_cell(*COURTENAY_PLACE, 5))
    services.stats_settings_update(organisation=org, actor=None, map_area=[area])
    walks = _past_walks(rng, org, now)
    author, approver = caseworkers[0], caseworkers[-1]
    local = now.astimezone(dt.UTC)
    CaseSummary.objects.filter(organisation=org).delete()
    for i, (title, text) in enumerate(SUMMARIES):
        month = (local - dt.timedelta(days=40 + 120 * i)).strftime("%Y-%m")
        CaseSummary.objects.create(
            organisation=org,
            month=month,
            title=title,
            summary=text,
            written_by=author,
            approved_by=approver if approver != author else None,
            approved_at=now if approver != author else None,
        )
    delete_demo(org.slug)
    release = services.release_publish(organisation=org, actor=None, epsilon=None)
    return (
        f"statistics: {walks} past walks, {len(SUMMARIES)} case summaries, public release "
        f"{release.number} counting {release.reports_counted} consented reports"
    )


def delete_demo(org_slug: str) -> None:
    """Remove the demo organisation's releases and budget ledger (both protect the
    organisation from deletion, so a re-seed calls this first)."""
    PrivacyBudgetEntry.objects.filter(organisation__slug=org_slug).delete()
    StatsRelease.objects.filter(organisation__slug=org_slug).delete()


def _past_walks(rng: random.Random, org: Organisation, now: dt.datetime) -> int:
    member_ids = list(
        Membership.objects.filter(organisation=org, role=Role.MEMBER).values_list(
            "user_id", flat=True
        )
    )
    if not member_ids:
        return 0
    requester = User.objects.get(pk=member_ids[0])
    start = geo.Point(*COURTENAY_PLACE)
    walks = []
    for _ in range(PAST_WALKS):
        created = now - dt.timedelta(days=rng.uniform(20, 720), hours=rng.uniform(0, 6))
        roll = rng.random()
        accepted = None if roll < 0.12 else created + dt.timedelta(minutes=rng.uniform(1, 14))
        escalated = accepted + dt.timedelta(minutes=35) if accepted and roll > 0.95 else None
        walks.append(
            Walk(
                organisation=org,
                requester=requester,
                kind=WalkKind.ESCORTED,
                state=WalkState.ENDED if accepted else WalkState.CANCELLED,
                end_reason="home_safe" if accepted else "cancelled",
                pickup_cell=geo.cell_int(start, 10),
                start_cell_r7=geo.cell_int(start, 7),
                end_cell_r7=geo.cell_int(start, 7),
                distance_m=rng.randint(600, 2500),
                created_at=created,
                accepted_at=accepted,
                started_at=accepted,
                ended_at=(accepted or created) + dt.timedelta(minutes=25),
                escalated_at=escalated,
                trail_purged_at=(accepted or created) + dt.timedelta(hours=24),
            )
        )
    Walk.objects.bulk_create(walks)
    return len(walks)
