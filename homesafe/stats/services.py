"""Writes for statistics: publishing a release (and spending privacy budget), case summaries."""

from __future__ import annotations

import logging
import time
import zoneinfo
from typing import Any

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from homesafe.accounts.models import Organisation, User
from homesafe.audit.services import audit_append
from homesafe.common.errors import DomainError
from homesafe.stats import engine, rollup, selectors
from homesafe.stats.models import CaseSummary, PrivacyBudgetEntry, StatsRelease, StatsSettings

logger = logging.getLogger(__name__)

SUMMARY_MAX = 4000
TITLE_MAX = 120


class BudgetExceeded(DomainError):
    status = 409


class NotDue(DomainError):
    """The latest release already covers the last complete month."""

    status = 409


def stats_settings_update(
    *,
    organisation: Organisation,
    actor: User | None,
    k: int | None = None,
    map_resolution: int | None = None,
    map_area: list[str] | None = None,
    release_epsilon: float | None | str = "keep",
    yearly_epsilon_budget: float | None = None,
) -> StatsSettings:
    """Change an organisation's publication rules (k, map resolution, DP)."""
    import h3

    if k is not None and not 2 <= k <= 100:
        raise DomainError(_("The threshold must be between 2 and 100."), field="k")
    if map_resolution is not None and not 5 <= map_resolution <= 9:
        raise DomainError(_("The map resolution must be between 5 and 9."), field="map_resolution")
    if map_area is not None and not all(
        isinstance(c, str) and h3.is_valid_cell(c) and h3.get_resolution(c) == 5 for c in map_area
    ):
        raise DomainError(_("The map area must be resolution-5 H3 cells."), field="map_area")
    if isinstance(release_epsilon, float) and not 0 < release_epsilon <= 10:
        raise DomainError(_("Epsilon must be above 0 and at most 10."), field="release_epsilon")
    if yearly_epsilon_budget is not None and not 0 < yearly_epsilon_budget <= 100:
        raise DomainError(_("The yearly budget must be above 0."), field="yearly_epsilon_budget")
    with transaction.atomic():
        found, _created = StatsSettings.objects.select_for_update().get_or_create(
            organisation=organisation
        )
        if k is not None:
            found.k = k
        if map_resolution is not None:
            found.map_resolution = map_resolution
        if map_area is not None:
            found.map_area = map_area
        if release_epsilon != "keep":
            found.release_epsilon = release_epsilon  # type: ignore[assignment]
        if yearly_epsilon_budget is not None:
            found.yearly_epsilon_budget = yearly_epsilon_budget
        found.save()
        audit_append(
            action="stats.settings",
            object_type="organisation",
            object_id=organisation.pk,
            actor=actor,
            organisation_id=organisation.pk,
            data={"k": found.k, "res": found.map_resolution, "eps": found.release_epsilon},
        )
    return found


def budget_spent(organisation: Organisation, year: int) -> float:
    total = PrivacyBudgetEntry.objects.filter(organisation=organisation, year=year).aggregate(
        s=Sum("epsilon")
    )["s"]
    return float(total or 0.0)


def release_publish(
    *,
    organisation: Organisation,
    actor: User | None,
    epsilon: float | None | str = "settings",
    only_if_due: bool = False,
) -> StatsRelease:
    """Compute and store the next release from the data as it is now (consent as it is now);
    a DP release is refused if its epsilon would exceed the organisation's yearly budget."""
    settings_row = selectors.stats_settings(organisation)
    eps = settings_row.release_epsilon if epsilon == "settings" else epsilon
    if eps is not None and not (isinstance(eps, float | int) and 0 < float(eps) <= 10):
        raise DomainError(_("Epsilon must be above 0 and at most 10."), field="epsilon")
    tz = zoneinfo.ZoneInfo(organisation.timezone)
    today = timezone.now().astimezone(tz).date()
    spec = engine.ReleaseSpec(
        months=selectors.months_before(today, settings_row.months_published),
        k=settings_row.k,
        resolution=settings_row.map_resolution,
        epsilon=float(eps) if eps is not None else None,
        map_area=tuple(settings_row.map_area or ()),
    )
    start, end = selectors.month_bounds(spec.months)
    with transaction.atomic():
        # One publisher at a time per organisation: the budget check and the spend are atomic.
        locked, _created = StatsSettings.objects.select_for_update().get_or_create(
            organisation=organisation
        )
        latest = selectors.latest_release(organisation)
        if only_if_due and latest is not None and latest.last_month >= spec.months[-1]:
            raise NotDue(_("The latest release already covers the last complete month."))
        if spec.epsilon is not None:
            spent = budget_spent(organisation, today.year)
            if spent + spec.epsilon > locked.yearly_epsilon_budget + 1e-9:
                raise BudgetExceeded(
                    _(
                        "This release would spend more privacy budget than is left this year "
                        "(%(left).2f of %(budget).2f)."
                    )
                    % {
                        "left": max(0.0, locked.yearly_epsilon_budget - spent),
                        "budget": locked.yearly_epsilon_budget,
                    },
                    code="budget_exceeded",
                    field="epsilon",
                )
        reports = selectors.release_report_facts(organisation, spec)
        walks = selectors.walk_facts(organisation, start, end)
        cells = public_cells(organisation, spec)
        if sum(cells.values()) != sum(1 for r in reports if r.cell is not None):
            # Something changed reports without signals (a bulk load, a queryset update):
            # recount, so a release never disagrees with the data.
            logger.warning("stats: per-cell counts of org %s were stale; rebuilt", organisation.pk)
            rollup.cell_counts_rebuild(organisation)
            cells = public_cells(organisation, spec)
        built = engine.build_release(spec, reports, walks, cells)
        try:
            release = StatsRelease.objects.create(
                organisation=organisation,
                number=(latest.number + 1) if latest else 1,
                created_by=actor,
                first_month=spec.months[0],
                last_month=spec.months[-1],
                k=spec.k,
                epsilon=spec.epsilon,
                reports_counted=len(reports),
                payload=built.as_json(),
            )
        except IntegrityError:
            raise DomainError(_("Another release is being published; try again."), code="busy")
        if spec.epsilon is not None:
            PrivacyBudgetEntry.objects.create(
                organisation=organisation, release=release, year=today.year, epsilon=spec.epsilon
            )
        audit_append(
            action="stats.release",
            object_type="stats_release",
            object_id=release.pk,
            actor=actor,
            actor_kind=None if actor else "system",
            organisation_id=organisation.pk,
            data={"number": release.number, "epsilon": spec.epsilon, "k": spec.k},
        )
        # Dropped now and again after commit: a reader between the two could have put the
        # previous release's number back.
        slug = organisation.slug
        _public_current_drop(slug)
        transaction.on_commit(lambda: _public_current_drop(slug))
    return release


def public_pointer_key(org_slug: str) -> str:
    """Cache key of the number of an organisation's current release."""
    return f"stats:public:{org_slug}:current"


def public_page_key(org_slug: str, number: int, variant: str) -> str:
    return f"stats:public:{org_slug}:{number}:{variant}"


# Each process also remembers the current release number for a few seconds, so a cached page
# costs one cache read. Another process may serve the previous release for up to this long
# after a publish.
POINTER_LOCAL_SECONDS = 5.0
_pointer_local: dict[str, tuple[float, int]] = {}


def public_current_number(org_slug: str) -> int | None:
    """The number of the organisation's current release as cached, or None if not cached."""
    held = _pointer_local.get(org_slug)
    if held is not None and held[0] > time.monotonic():
        return held[1]
    number = cache.get(public_pointer_key(org_slug))
    if number is not None:
        _pointer_local[org_slug] = (time.monotonic() + POINTER_LOCAL_SECONDS, int(number))
    return number


def public_current_set(org_slug: str, number: int, seconds: int) -> None:
    cache.set(public_pointer_key(org_slug), number, seconds)
    _pointer_local[org_slug] = (time.monotonic() + POINTER_LOCAL_SECONDS, number)


def _public_current_drop(org_slug: str) -> None:
    _pointer_local.pop(org_slug, None)
    cache.delete(public_pointer_key(org_slug))


def case_summary_write(
    *, organisation: Organisation, author: User, month: str, title: str, summary: str
) -> CaseSummary:
    """A caseworker drafts an anonymised case summary (month precision only)."""
    title, summary = (title or "").strip(), (summary or "").strip()
    errors: dict[str, Any] = {}
    if not title or len(title) > TITLE_MAX:
        errors["title"] = _("Give the summary a short title (up to 120 characters).")
    if not summary or len(summary) > SUMMARY_MAX:
        errors["summary"] = _("Write the summary (up to 4000 characters).")
    if not _valid_month(month):
        errors["month"] = _("Choose the month as YYYY-MM.")
    if errors:
        field, message = next(iter(errors.items()))
        raise DomainError(str(message), field=field)
    with transaction.atomic():
        row = CaseSummary.objects.create(
            organisation=organisation, month=month, title=title, summary=summary, written_by=author
        )
        audit_append(
            action="stats.summary_write",
            object_type="case_summary",
            object_id=row.pk,
            actor=author,
            organisation_id=organisation.pk,
        )
    return row


def case_summary_approve(*, summary: CaseSummary, approver: User) -> CaseSummary:
    """Someone other than the author approves a summary for the police-meeting pack."""
    if summary.written_by_id == approver.pk:
        raise DomainError(_("Someone other than the author must approve a summary."))
    with transaction.atomic():
        changed = CaseSummary.objects.filter(pk=summary.pk, approved_at__isnull=True).update(
            approved_by=approver, approved_at=timezone.now()
        )
        if changed != 1:
            raise DomainError(_("This summary is already approved."), code="conflict")
        audit_append(
            action="stats.summary_approve",
            object_type="case_summary",
            object_id=summary.pk,
            actor=approver,
            organisation_id=summary.organisation_id,
        )
    summary.refresh_from_db()
    return summary


def _valid_month(value: str) -> bool:
    try:
        year, month = value.split("-")
        return len(year) == 4 and 2000 <= int(year) <= 2100 and 1 <= int(month) <= 12
    except (ValueError, AttributeError):
        return False


def public_cells(organisation: Organisation, spec: engine.ReleaseSpec) -> dict[int, int]:
    """Consented reports per stored cell over the spec's months, less those marked duplicate
    or troll (few, so they are taken out here rather than tracked in the per-cell counts)."""
    start, end = selectors.month_bounds(spec.months)
    cells = dict(rollup.cell_counts(organisation, start, end))
    for fact in selectors.release_report_facts(organisation, spec, flagged=True):
        if fact.cell is not None and cells.get(fact.cell, 0) > 0:
            cells[fact.cell] -= 1
    return {cell: n for cell, n in cells.items() if n > 0}


def handle_one_monthly_release() -> bool:
    """Loop step: publish the next release of one organisation that publishes (has released
    before, without differential privacy) once a new month is complete. DP releases spend
    budget, so they stay a person's decision."""
    for organisation in selectors.publishing_organisations():
        if selectors.stats_settings(organisation).release_epsilon is not None:
            continue
        tz = zoneinfo.ZoneInfo(organisation.timezone)
        due = selectors.months_before(timezone.now().astimezone(tz).date(), 1)[-1]
        latest = selectors.latest_release(organisation)
        if latest is None or latest.last_month >= due:
            continue
        try:
            release_publish(organisation=organisation, actor=None, epsilon=None, only_if_due=True)
        except NotDue:
            continue
        except DomainError as exc:
            logger.warning(
                "stats: monthly release of org %s not published (%s)", organisation.pk, exc.code
            )
            continue
        return True
    return False
