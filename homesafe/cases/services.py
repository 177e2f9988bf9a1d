"""Writes for casework: incidents and their reports, flags, tasks and their reminders, the
contact log, referrals and outcomes. Each write is atomic and audited; audit data holds ids and
codes only, never a title, label, summary, name or reason.

Callers pass objects they got through an access checkpoint (cases/access.py, access_report).
"""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from homesafe.accounts.models import CASE_ROLES, Organisation, User
from homesafe.audit.services import audit_append
from homesafe.common.errors import DomainError
from homesafe.notify.services import notification_enqueue
from homesafe.reports.models import Report

from .models import (
    ContactChannel,
    ContactDirection,
    ContactEntry,
    FlagKind,
    Incident,
    IncidentReport,
    LinkRole,
    Outcome,
    OutcomeCode,
    Referral,
    ReferralKind,
    ReferralStatus,
    ReportFlag,
    Task,
)

Subject = Report | Incident

TITLE_MAX = 200
LABEL_MAX = 80
REASON_MAX = 500
SUMMARY_MAX = 2000
TO_WHOM_MAX = 200
NOTE_MAX = 2000
REMIND_MAX_MINUTES = 7 * 24 * 60
REMINDER_KIND = "case_task_reminder"


def _audit(
    *, action: str, object_type: str, object_id: object, user: User | None,
    organisation_id: int, data: dict[str, Any] | None = None,
) -> None:
    audit_append(
        action=action,
        object_type=object_type,
        object_id=object_id,
        actor=user,
        actor_kind=None if user is not None else "system",
        organisation_id=organisation_id,
        data=data,
    )


def _text(value: str | None, *, field: str, limit: int, required: bool, what: str) -> str:
    """Trimmed free text within `limit` characters; empty refused when `required`."""
    text = (value or "").strip()
    if required and not text:
        raise DomainError(_("Fill in %(what)s.") % {"what": what}, field=field)
    if len(text) > limit:
        raise DomainError(
            _("%(what)s is too long (at most %(n)d characters).") % {"what": what, "n": limit},
            field=field,
        )
    return text


def _choice(value: str | None, choices: Any, *, field: str) -> str:
    if value not in choices.values:
        raise DomainError(_("Choose one of the options."), field=field)
    return str(value)


def _subject_kwargs(subject: Subject) -> dict[str, Any]:
    if isinstance(subject, Report):
        return {"organisation_id": subject.organisation_id, "report": subject}
    return {"organisation_id": subject.organisation_id, "incident": subject}


def _subject_data(subject: Subject) -> dict[str, str]:
    kind = "report" if isinstance(subject, Report) else "incident"
    return {kind: str(subject.pk)}


def _touch(incident: Incident | None, when: dt.datetime) -> None:
    if incident is not None:
        Incident.objects.filter(pk=incident.pk).update(updated_at=when)


# --- incidents -----------------------------------------------------------------------------


def incident_create(
    *, organisation: Organisation, user: User, title: str,
    report: Report | None = None, role: str = LinkRole.OTHER, label: str = "",
) -> Incident:
    """A new incident, optionally starting with one report of the same organisation."""
    title = _text(title, field="title", limit=TITLE_MAX, required=True, what=_("a short title"))
    if report is not None:
        _choice(role, LinkRole, field="role")
        label = _text(label, field="label", limit=LABEL_MAX, required=False, what=_("The label"))
        if report.organisation_id != organisation.pk:
            raise DomainError(_("That report belongs to another organisation."), field="report")
    with transaction.atomic():
        incident = Incident.objects.create(
            id=uuid.uuid4(), organisation=organisation, title=title, created_by=user
        )
        _audit(action="incident.create", object_type="incident", object_id=incident.pk,
               user=user, organisation_id=organisation.pk)
        if report is not None:
            incident_link_report(incident=incident, report=report, user=user, role=role,
                                 label=label)
    return incident


def incident_rename(*, incident: Incident, user: User, title: str) -> Incident:
    """Change an incident's short title."""
    title = _text(title, field="title", limit=TITLE_MAX, required=True, what=_("a short title"))
    incident.title = title
    incident.updated_at = timezone.now()
    with transaction.atomic():
        incident.save(update_fields=["title", "updated_at"])
        _audit(action="incident.rename", object_type="incident", object_id=incident.pk,
               user=user, organisation_id=incident.organisation_id)
    return incident


def incident_link_report(
    *, incident: Incident, report: Report, user: User, role: str, label: str = ""
) -> IncidentReport:
    """Add a report of the incident's organisation, with its role and a short label."""
    role = _choice(role, LinkRole, field="role")
    label = _text(label, field="label", limit=LABEL_MAX, required=False, what=_("The label"))
    if report.organisation_id != incident.organisation_id:
        raise DomainError(_("That report belongs to another organisation."), field="report")
    now = timezone.now()
    try:
        with transaction.atomic():
            link = IncidentReport.objects.create(
                id=uuid.uuid4(), incident=incident, report=report, role=role, label=label,
                added_by=user, added_at=now,
            )
            _touch(incident, now)
            _audit(action="incident.report_add", object_type="incident", object_id=incident.pk,
                   user=user, organisation_id=incident.organisation_id,
                   data={"report": str(report.pk), "link": str(link.pk), "role": role})
    except IntegrityError:
        # The partial unique index: the report is already in an incident (this or another).
        raise DomainError(
            _("That report is already part of an incident. Remove it there first."),
            field="report", code="already_linked",
        )
    return link


def incident_unlink_report(*, link: IncidentReport, user: User) -> IncidentReport:
    """Take a report out of its incident. The link row stays, stamped as removed."""
    now = timezone.now()
    with transaction.atomic():
        removed = IncidentReport.objects.filter(pk=link.pk, removed_at__isnull=True).update(
            removed_at=now, removed_by=user
        )
        if removed != 1:
            raise DomainError(_("That report was already removed."), code="already_removed")
        _touch(link.incident, now)
        _audit(action="incident.report_remove", object_type="incident",
               object_id=link.incident_id, user=user,
               organisation_id=link.incident.organisation_id,
               data={"report": str(link.report_id), "link": str(link.pk)})
    link.removed_at, link.removed_by = now, user
    return link


# --- flags ---------------------------------------------------------------------------------


def _flag_insert(flag: ReportFlag, message: str) -> None:
    try:
        with transaction.atomic():
            flag.save(force_insert=True)
    except IntegrityError:
        raise DomainError(message, field="report", code="already_flagged")


def report_mark_duplicate(*, report: Report, original: Report, user: User) -> ReportFlag:
    """Mark `report` as a duplicate of `original` (same organisation). Nothing is deleted; both
    reports stay readable and show the mark."""
    if original.pk == report.pk:
        raise DomainError(_("A report cannot be a duplicate of itself."), field="original")
    if original.organisation_id != report.organisation_id:
        raise DomainError(_("That report belongs to another organisation."), field="original")
    with transaction.atomic():
        if ReportFlag.objects.filter(
            report=original, kind=FlagKind.DUPLICATE, cleared_at__isnull=True
        ).exists():
            # Pointing at the first report keeps chains and cycles out.
            raise DomainError(
                _("That report is itself marked as a duplicate: choose the report it "
                  "duplicates instead."),
                field="original",
            )
        flag = ReportFlag(id=uuid.uuid4(), report=report, kind=FlagKind.DUPLICATE,
                          duplicate_of=original, set_by=user)
        _flag_insert(flag, _("This report is already marked as a duplicate."))
        _audit(action="report.duplicate_mark", object_type="report", object_id=report.pk,
               user=user, organisation_id=report.organisation_id,
               data={"flag": str(flag.pk), "duplicate_of": str(original.pk)})
    return flag


def report_mark_troll(*, report: Report, user: User, reason: str) -> ReportFlag:
    """Mark a report as a suspected troll report, with a reason. It stays readable."""
    reason = _text(reason, field="reason", limit=REASON_MAX, required=True, what=_("a reason"))
    with transaction.atomic():
        flag = ReportFlag(id=uuid.uuid4(), report=report, kind=FlagKind.TROLL, reason=reason,
                          set_by=user)
        _flag_insert(flag, _("This report is already marked as a suspected troll."))
        _audit(action="report.troll_mark", object_type="report", object_id=report.pk,
               user=user, organisation_id=report.organisation_id, data={"flag": str(flag.pk)})
    return flag


def report_flag_clear(*, flag: ReportFlag, user: User) -> ReportFlag:
    """Undo a duplicate or troll mark; the flag row stays as history."""
    now = timezone.now()
    with transaction.atomic():
        if ReportFlag.objects.filter(pk=flag.pk, cleared_at__isnull=True).update(
            cleared_at=now, cleared_by=user
        ) != 1:
            raise DomainError(_("That mark was already cleared."), code="already_cleared")
        _audit(action=f"report.{flag.kind}_clear", object_type="report",
               object_id=flag.report_id, user=user,
               organisation_id=flag.report.organisation_id, data={"flag": str(flag.pk)})
    flag.cleared_at, flag.cleared_by = now, user
    return flag


# --- tasks and reminders -------------------------------------------------------------------


def _caseworker(organisation_id: int, user_id: int | None) -> User | None:
    if user_id is None:
        return None
    found = (
        User.objects.filter(
            pk=user_id, is_active=True,
            memberships__organisation_id=organisation_id,
            memberships__role__in=list(CASE_ROLES),
        ).distinct().first()
    )
    if found is None:
        raise DomainError(_("The assignee must be a caseworker of this organisation."),
                          field="assignee_id")
    return found


def _remind_at(due_at: dt.datetime, minutes: int | None) -> dt.datetime | None:
    return None if minutes is None else due_at - dt.timedelta(minutes=minutes)


def task_add(
    *, subject: Subject, user: User, title: str, due_at: dt.datetime,
    assignee_id: int | None = None, remind_minutes_before: int | None = None,
) -> Task:
    """A task on a report or incident, due at `due_at` (aware), for one of the organisation's
    caseworkers; with `remind_minutes_before` the assignee is emailed that long before."""
    title = _text(title, field="title", limit=TITLE_MAX, required=True, what=_("the task"))
    if timezone.is_naive(due_at):
        raise ValueError("due_at must be timezone-aware")
    now = timezone.now()
    if due_at <= now:
        raise DomainError(_("Choose a due time in the future."), field="due_at")
    if remind_minutes_before is not None and not 0 <= remind_minutes_before <= REMIND_MAX_MINUTES:
        raise DomainError(_("Choose one of the reminder options."), field="remind")
    assignee = _caseworker(subject.organisation_id, assignee_id)
    if assignee is None and remind_minutes_before is not None:
        raise DomainError(_("A reminder needs someone to remind: choose an assignee."),
                          field="assignee_id")
    task = Task(
        id=uuid.uuid4(), **_subject_kwargs(subject), title=title, due_at=due_at,
        assignee=assignee, remind_minutes_before=remind_minutes_before,
        remind_at=_remind_at(due_at, remind_minutes_before), created_by=user, created_at=now,
    )
    with transaction.atomic():
        task.save(force_insert=True)
        _touch(task.incident, now)
        _audit(action="task.add", object_type="task", object_id=task.pk, user=user,
               organisation_id=task.organisation_id,
               data={**_subject_data(subject), "assignee": assignee.pk if assignee else None,
                     "remind_minutes_before": remind_minutes_before})
    return task


def task_done(*, task: Task, user: User) -> Task:
    """Tick a task off; a reminder not yet sent is dropped."""
    now = timezone.now()
    with transaction.atomic():
        if Task.objects.filter(pk=task.pk, done_at__isnull=True).update(
            done_at=now, done_by=user, remind_at=None
        ) != 1:
            raise DomainError(_("That task is already done."), code="already_done")
        _audit(action="task.done", object_type="task", object_id=task.pk, user=user,
               organisation_id=task.organisation_id)
    task.refresh_from_db()
    return task


def task_reopen(*, task: Task, user: User) -> Task:
    """Undo "done". A reminder that was never sent is scheduled again."""
    with transaction.atomic():
        fresh = Task.objects.select_for_update().get(pk=task.pk)
        if fresh.done_at is None:
            raise DomainError(_("That task is not done."), code="not_done")
        update: dict[str, Any] = {"done_at": None, "done_by": None}
        if fresh.reminded_at is None and fresh.remind_minutes_before is not None:
            update["remind_at"] = _remind_at(fresh.due_at, fresh.remind_minutes_before)
            update["reminder_seq"] = fresh.reminder_seq + 1
        Task.objects.filter(pk=task.pk).update(**update)
        _audit(action="task.reopen", object_type="task", object_id=task.pk, user=user,
               organisation_id=task.organisation_id)
    task.refresh_from_db()
    return task


def reminder_key(task: Task) -> str:
    return f"task:{task.pk}:reminder:{task.reminder_seq}:email"


def _task_url(task: Task) -> str:
    if task.report_id:
        path = reverse("cases:report_casework", kwargs={"report_id": task.report_id})
    else:
        path = reverse("cases:incident_detail", kwargs={"incident_id": task.incident_id})
    return f"{settings.HOMESAFE_BASE_URL}{path}#tasks"


def _reminder_text(task: Task, organisation: Organisation) -> tuple[str, str]:
    """Subject and body without the task's title: that may hold personal data, and mail
    leaves the platform. The link needs a logged-in, second-factor session."""
    tz = zoneinfo.ZoneInfo(organisation.timezone)
    when = timezone.localtime(task.due_at, tz).strftime("%a %-d %b %Y, %H:%M")
    subject = _("Casework task due %(when)s") % {"when": when}
    body = _(
        "A casework task assigned to you is due %(when)s (%(tz)s).\n\n"
        "Open it in homesafe (you will be asked to log in): %(url)s\n"
    ) % {"when": when, "tz": organisation.timezone, "url": _task_url(task)}
    return subject, body


def handle_one_task_reminder(now: dt.datetime | None = None) -> bool:
    """Claim one task whose reminder is due and queue its email. False when none was due.

    The claim (moving `remind_at` from the value read to None) and the notification row are
    one transaction, and the row's idempotency key names the task and its reminder number, so
    any number of workers queue each reminder exactly once; the notify loop sends it."""
    now = now or timezone.now()
    due = Task.objects.filter(remind_at__lte=now, done_at__isnull=True)
    with transaction.atomic():
        # PostgreSQL: skip a row another worker is claiming; SQLite serialises this block.
        row = (
            due.select_for_update(skip_locked=True)
            .order_by("remind_at")
            .values_list("id", "remind_at")
            .first()
        )
        if row is None:
            return False
        pk, remind_at = row
        if due.filter(pk=pk, remind_at=remind_at).update(remind_at=None, reminded_at=now) != 1:
            return True  # another worker got there first; look again at once
        task = Task.objects.select_related("assignee", "organisation").get(pk=pk)
        assignee = task.assignee
        still_caseworker = assignee is not None and assignee.is_active and (
            assignee.memberships.filter(
                organisation_id=task.organisation_id, role__in=list(CASE_ROLES)
            ).exists()
        )
        # A report whose reporter withdrew consent for caseworkers is out of reach: no mail.
        hidden = task.report_id is not None and not Report.objects.filter(
            pk=task.report_id, consent_caseworkers=True
        ).exists()
        if not still_caseworker or assignee is None or hidden:
            _audit(action="task.reminder_skipped", object_type="task", object_id=task.pk,
                   user=None, organisation_id=task.organisation_id)
            return True
        subject, body = _reminder_text(task, task.organisation)
        notification = notification_enqueue(
            key=reminder_key(task), channel="email", recipient=assignee.email,
            kind=REMINDER_KIND, subject=subject, body=body,
            organisation_id=task.organisation_id,
        )
        _audit(action="task.reminder_queued", object_type="task", object_id=task.pk,
               user=None, organisation_id=task.organisation_id,
               data={"notification": str(notification.pk), "assignee": assignee.pk})
    return True


# --- contact log, referrals, outcomes ------------------------------------------------------


def contact_add(
    *, subject: Subject, user: User, happened_at: dt.datetime, channel: str, direction: str,
    summary: str,
) -> ContactEntry:
    """Log one contact (or attempt) with the people of a report or incident."""
    channel = _choice(channel, ContactChannel, field="channel")
    direction = _choice(direction, ContactDirection, field="direction")
    summary = _text(summary, field="summary", limit=SUMMARY_MAX, required=False,
                    what=_("The summary"))
    now = timezone.now()
    if timezone.is_naive(happened_at):
        raise ValueError("happened_at must be timezone-aware")
    if happened_at > now + dt.timedelta(minutes=5):
        raise DomainError(_("A contact cannot be in the future."), field="happened_at")
    entry = ContactEntry(
        id=uuid.uuid4(), **_subject_kwargs(subject), happened_at=happened_at, channel=channel,
        direction=direction, summary=summary, author=user, created_at=now,
    )
    with transaction.atomic():
        entry.save(force_insert=True)
        _touch(entry.incident, now)
        _audit(action="contact.add", object_type="contact", object_id=entry.pk, user=user,
               organisation_id=entry.organisation_id,
               data={**_subject_data(subject), "channel": channel, "direction": direction})
    return entry


def _stamp_referral(referral: Referral, status: str, now: dt.datetime) -> None:
    referral.status = status
    referral.status_changed_at = now
    if status == ReferralStatus.MADE and referral.made_at is None:
        referral.made_at = now
    if status in (ReferralStatus.ACCEPTED, ReferralStatus.DECLINED):
        referral.answered_at = now
        referral.made_at = referral.made_at or now
    if status == ReferralStatus.COMPLETED:
        referral.completed_at = now
        referral.made_at = referral.made_at or now


def referral_add(
    *, subject: Subject, user: User, kind: str, to_whom: str,
    status: str = ReferralStatus.SUGGESTED,
) -> Referral:
    """Suggest or record a referral (police, counselling, legal aid, medical, housing, other)."""
    kind = _choice(kind, ReferralKind, field="kind")
    status = _choice(status, ReferralStatus, field="status")
    to_whom = _text(to_whom, field="to_whom", limit=TO_WHOM_MAX, required=False,
                    what=_("Who it is to"))
    now = timezone.now()
    referral = Referral(id=uuid.uuid4(), **_subject_kwargs(subject), kind=kind,
                        to_whom=to_whom, created_by=user, suggested_at=now)
    _stamp_referral(referral, status, now)
    with transaction.atomic():
        referral.save(force_insert=True)
        _touch(referral.incident, now)
        _audit(action="referral.add", object_type="referral", object_id=referral.pk, user=user,
               organisation_id=referral.organisation_id,
               data={**_subject_data(subject), "kind": kind, "status": status})
    return referral


def referral_set_status(*, referral: Referral, user: User, status: str) -> Referral:
    """Move a referral to another status; the date of that step is recorded."""
    status = _choice(status, ReferralStatus, field="status")
    if status == referral.status:
        return referral
    before = referral.status
    _stamp_referral(referral, status, timezone.now())
    with transaction.atomic():
        referral.save(update_fields=["status", "status_changed_at", "made_at", "answered_at",
                                     "completed_at"])
        _audit(action="referral.status_change", object_type="referral", object_id=referral.pk,
               user=user, organisation_id=referral.organisation_id,
               data={"from": before, "to": status})
    return referral


def outcome_set(*, subject: Subject, user: User, code: str, note: str = "") -> Outcome:
    """Record (or replace) the outcome of a report or incident."""
    code = _choice(code, OutcomeCode, field="code")
    note = _text(note, field="note", limit=NOTE_MAX, required=False, what=_("The note"))
    now = timezone.now()
    kwargs = _subject_kwargs(subject)
    lookup = {k: v for k, v in kwargs.items() if k != "organisation_id"}
    with transaction.atomic():
        outcome = Outcome.objects.select_for_update().filter(**lookup).first()
        before = outcome.code if outcome else None
        if outcome is None:
            outcome = Outcome(id=uuid.uuid4(), **kwargs)
        outcome.code, outcome.note, outcome.set_by, outcome.set_at = code, note, user, now
        try:
            with transaction.atomic():
                outcome.save()
        except IntegrityError:
            raise DomainError(_("Someone else just set the outcome; reload and try again."),
                              code="conflict")
        _touch(outcome.incident, now)
        _audit(action="outcome.set", object_type=next(iter(_subject_data(subject))),
               object_id=subject.pk, user=user, organisation_id=subject.organisation_id,
               data={"outcome": str(outcome.pk), "from": before, "to": code})
    return outcome


def outcome_clear(*, subject: Subject, user: User) -> None:
    """Remove the outcome of a report or incident (the audit log keeps what it was)."""
    lookup = {k: v for k, v in _subject_kwargs(subject).items() if k != "organisation_id"}
    with transaction.atomic():
        outcome = Outcome.objects.select_for_update().filter(**lookup).first()
        if outcome is None:
            raise DomainError(_("There is no outcome to clear."), code="no_outcome")
        before = outcome.code
        outcome.delete()
        _audit(action="outcome.clear", object_type=next(iter(_subject_data(subject))),
               object_id=subject.pk, user=user, organisation_id=subject.organisation_id,
               data={"from": before})
