"""Writes for walk home: volunteers, requests and offers, live positions, check-in, SOS,
escalation and retention. Every change is atomic; real-time pushes go out after commit;
alerts are notification rows with idempotency keys, so a crash can delay one, never lose it."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from homesafe.accounts.models import CASE_ROLES, Membership, Organisation, TrustedContact, User
from homesafe.accounts.selectors import has_confirmed_totp
from homesafe.audit.services import AuditIn, audit_append, audit_append_many
from homesafe.common import geo
from homesafe.common.errors import DomainError
from homesafe.notify.services import (
    NotificationIn,
    notification_enqueue,
    notification_enqueue_many,
)
from homesafe.walks import events
from homesafe.walks.matching import nearest_volunteers
from homesafe.walks.models import (
    DueKind,
    DutyState,
    OfferState,
    SavedPlace,
    VolunteerApproval,
    VolunteerProfile,
    VolunteerStatus,
    Walk,
    WalkFeedback,
    WalkKind,
    WalkOffer,
    WalkPosition,
    WalkSettings,
    WalkState,
    WalkWatch,
)

log = logging.getLogger(__name__)

WALKING_SPEED_M_PER_MIN = 70.0  # a calm adult pace; the buffer absorbs the rest
ROUTE_FACTOR = 1.3  # streets are longer than the straight line
RETENTION = dt.timedelta(hours=24)


def _withdraw_pending_offers(offers: Any) -> None:
    """Withdraw these offers if still pending and tell each volunteer live."""
    pending = list(offers.filter(state=OfferState.PENDING))
    WalkOffer.objects.filter(pk__in=[o.pk for o in pending]).update(
        state=OfferState.WITHDRAWN, responded_at=timezone.now()
    )
    for offer in pending:
        events.offer_withdrawn(offer)


def _walk_audit(
    walk: Walk, action: str, *, actor: User | None = None, data: dict[str, Any] | None = None
) -> AuditIn:
    """An audit entry for a change to a walk, by a person or (no actor) by the system's loops."""
    return AuditIn(
        action=action,
        object_type="walk",
        object_id=walk.pk,
        actor=actor,
        actor_kind=None if actor is not None else "system",
        organisation_id=walk.organisation_id,
        data=data or {},
    )


def _audit_walk(
    walk: Walk, action: str, *, actor: User | None = None, data: dict[str, Any] | None = None
) -> None:
    """Append that entry now (the deadline loop collects them for one append per batch)."""
    audit_append_many([_walk_audit(walk, action, actor=actor, data=data)])


def walk_settings(organisation: Organisation | int) -> WalkSettings:
    org_id = organisation if isinstance(organisation, int) else organisation.pk
    found, _created = WalkSettings.objects.get_or_create(organisation_id=org_id)
    return found


def _point(value: Any) -> geo.Point:
    try:
        lat, lng = float(value["lat"]), float(value["lng"])
    except (KeyError, TypeError, ValueError):
        raise DomainError(_("A location needs a latitude and a longitude."), field="location")
    if not geo.valid_point(lat, lng):
        raise DomainError(_("That location is not on Earth."), field="location")
    return geo.Point(lat, lng)


# --- volunteers ------------------------------------------------------------------------------


def _is_org_staff(user: User, organisation_id: int, roles: frozenset[str]) -> bool:
    return Membership.objects.filter(
        user=user, organisation_id=organisation_id, role__in=list(roles)
    ).exists()


def volunteer_apply(*, user: User, organisation: Organisation, first_name: str) -> VolunteerProfile:
    """A member offers to walk people home; approval by staff comes next."""
    first_name = first_name.strip()
    if not first_name or len(first_name) > 40:
        raise DomainError(
            _("Give the first name people will see (up to 40 letters)."), field="first_name"
        )
    with transaction.atomic():
        profile, created = VolunteerProfile.objects.get_or_create(
            user=user, organisation=organisation, defaults={"first_name": first_name}
        )
        if not created and profile.status != VolunteerStatus.REJECTED:
            raise DomainError(
                _("You have already applied to this organisation."), code="already_applied"
            )
        if not created:
            profile.status, profile.first_name = VolunteerStatus.APPLIED, first_name
            profile.save(update_fields=["status", "first_name"])
            profile.approvals.all().delete()
        audit_append(
            action="volunteer.apply",
            object_type="volunteer",
            object_id=profile.pk,
            actor=user,
            organisation_id=organisation.pk,
        )
    return profile


def volunteer_approve(*, profile: VolunteerProfile, approver: User) -> VolunteerProfile:
    """One staff approval; the profile is approved once enough different staff agree."""
    if not _is_org_staff(approver, profile.organisation_id, frozenset(CASE_ROLES)):
        raise DomainError(
            _("Only this organisation's staff can approve volunteers."), code="forbidden"
        )
    if approver.pk == profile.user_id:
        raise DomainError(_("Nobody can approve themselves."), code="self_approval")
    if profile.status != VolunteerStatus.APPLIED:
        raise DomainError(_("This application is not waiting for approval."), code="not_applied")
    needed = walk_settings(profile.organisation_id).approvals_required
    with transaction.atomic():
        _approval, created = VolunteerApproval.objects.get_or_create(
            profile=profile, approver=approver
        )
        if not created:
            raise DomainError(
                _("You have already approved this volunteer."), code="already_approved"
            )
        count = profile.approvals.count()
        audit_append(
            action="volunteer.approval",
            object_type="volunteer",
            object_id=profile.pk,
            actor=approver,
            organisation_id=profile.organisation_id,
            data={"approvals": count, "needed": needed},
        )
        if count >= needed:
            VolunteerProfile.objects.filter(pk=profile.pk, status=VolunteerStatus.APPLIED).update(
                status=VolunteerStatus.APPROVED, decided_at=timezone.now()
            )
            audit_append(
                action="volunteer.approved",
                object_type="volunteer",
                object_id=profile.pk,
                actor=approver,
                organisation_id=profile.organisation_id,
            )
    profile.refresh_from_db()
    return profile


def volunteer_set_status(
    *, profile: VolunteerProfile, actor: User, status: str, reason: str = ""
) -> VolunteerProfile:
    """Org admins pause, suspend, reinstate or reject a volunteer; a pause or suspension also
    takes them off duty and withdraws their open offers at once."""
    if not _is_org_staff(actor, profile.organisation_id, frozenset({"org_admin"})):
        raise DomainError(
            _("Only an organisation admin can change a volunteer's standing."), code="forbidden"
        )
    if status not in {
        VolunteerStatus.PAUSED,
        VolunteerStatus.SUSPENDED,
        VolunteerStatus.APPROVED,
        VolunteerStatus.REJECTED,
    }:
        raise DomainError(_("Unknown volunteer status."), field="status")
    if status == VolunteerStatus.APPROVED and profile.status == VolunteerStatus.APPLIED:
        raise DomainError(
            _("New volunteers are approved through the approval step."), code="use_approval"
        )
    return _volunteer_restrict(profile, status=status, reason=reason[:40], actor=actor)


def _volunteer_restrict(
    profile: VolunteerProfile, *, status: str, reason: str, actor: User | None
) -> VolunteerProfile:
    with transaction.atomic():
        old = profile.status
        fields: dict[str, Any] = {
            "status": status,
            "status_reason": reason,
            "decided_at": timezone.now(),
        }
        if status != VolunteerStatus.APPROVED:
            fields.update(
                duty_state=DutyState.OFF_DUTY,
                cell_r10=None,
                cell_r7=None,
                position=None,
                position_at=None,
            )
        for name, value in fields.items():
            setattr(profile, name, value)
        profile.save(update_fields=list(fields))
        if status != VolunteerStatus.APPROVED:
            _withdraw_pending_offers(WalkOffer.objects.filter(volunteer=profile))
        audit_append(
            action="volunteer.status_change",
            object_type="volunteer",
            object_id=profile.pk,
            actor=actor,
            actor_kind=None if actor else "system",
            organisation_id=profile.organisation_id,
            data={"from": old, "to": status, "reason": reason},
        )
    return profile


def volunteer_duty(
    *, profile: VolunteerProfile, state: str, second_factor_verified: bool = False
) -> VolunteerProfile:
    """Go on duty, off duty or on a break. Only approved volunteers who have a second factor
    and used it in this session (`second_factor_verified`) go on duty."""
    if state not in (DutyState.ON_DUTY, DutyState.OFF_DUTY, DutyState.ON_BREAK):
        raise DomainError(_("Unknown duty state."), field="state")
    if state != DutyState.OFF_DUTY:
        if profile.status != VolunteerStatus.APPROVED:
            raise DomainError(_("Only approved volunteers can go on duty."), code="not_approved")
        if not has_confirmed_totp(profile.user):
            raise DomainError(
                _("Set up your second factor before going on duty."), code="mfa_required"
            )
        if not second_factor_verified:
            raise DomainError(
                _("Enter a code from your authenticator before going on duty."),
                code="mfa_verify_required",
            )
    if profile.duty_state == DutyState.ON_WALK:
        raise DomainError(_("Finish or hand over the walk first."), code="on_walk")
    fields: dict[str, Any] = {"duty_state": state, "duty_changed_at": timezone.now()}
    if state == DutyState.OFF_DUTY:
        fields.update(cell_r10=None, cell_r7=None, position=None, position_at=None)
    for name, value in fields.items():
        setattr(profile, name, value)
    with transaction.atomic():
        profile.save(update_fields=list(fields))
        if state != DutyState.ON_DUTY:
            WalkOffer.objects.filter(volunteer=profile, state=OfferState.PENDING).update(
                state=OfferState.DECLINED, responded_at=timezone.now()
            )
        events.volunteer_state(profile)
    return profile


def volunteer_position(*, profile: VolunteerProfile, location: Any) -> None:
    """The volunteer's browser reports where they are (every few seconds while on duty)."""
    if profile.duty_state not in (DutyState.ON_DUTY, DutyState.ON_WALK, DutyState.ON_BREAK):
        raise DomainError(_("Positions are only shared while on duty."), code="off_duty")
    point = _point(location)
    now = timezone.now()
    profile.cell_r10 = geo.cell_int(point, 10)
    profile.cell_r7 = geo.cell_int(point, 7)
    profile.position = {"lat": round(point.lat, 6), "lng": round(point.lng, 6)}
    profile.position_at = now
    with transaction.atomic():
        profile.save(update_fields=["cell_r10", "cell_r7", "position", "position_at"])
        # Looked up, not taken from profile.duty_state, which may be older than the accept.
        walk = Walk.objects.filter(escort=profile, state=WalkState.ACTIVE).first()
        if walk is not None:
            _record_position(walk, "escort", point, now)


# --- requests and offers -----------------------------------------------------------------------


@dataclass(frozen=True)
class WalkRequestIn:
    start: dict[str, float]
    destination: dict[str, float]
    party_size: int = 1
    note: str = ""
    destination_label: str = ""
    kind: str = WalkKind.ESCORTED


def walk_request(*, user: User, organisation: Organisation, data: WalkRequestIn) -> Walk:
    """Ask for a walk now: offers go to the nearest on-duty volunteers straight away."""
    start, destination = _point(data.start), _point(data.destination)
    if not 1 <= int(data.party_size) <= 10:
        raise DomainError(_("Party size is between 1 and 10."), field="party_size")
    if len(data.note) > 500 or len(data.destination_label) > 120:
        raise DomainError(_("The note is too long."), field="note")
    if data.kind not in WalkKind.values:
        raise DomainError(_("Unknown kind of walk."), field="kind")
    if Walk.objects.filter(
        requester=user, state__in=[WalkState.SEARCHING, WalkState.ACTIVE]
    ).exists():
        raise DomainError(_("You already have a walk going."), code="walk_in_progress")
    distance = geo.haversine_m(start, destination) * ROUTE_FACTOR
    if distance > 30_000:
        raise DomainError(
            _("That is too far to walk. Please call a taxi or 111."), field="destination"
        )
    rules = walk_settings(organisation)
    now = timezone.now()
    walk = Walk(
        id=uuid.uuid4(),
        organisation=organisation,
        requester=user,
        kind=data.kind,
        party_size=int(data.party_size),
        note=data.note.strip() or None,
        start={"lat": start.lat, "lng": start.lng},
        destination={"lat": destination.lat, "lng": destination.lng},
        destination_label=data.destination_label.strip() or None,
        pickup_cell=geo.cell_int(start, 10),
        start_cell_r7=geo.cell_int(start, 7),
        end_cell_r7=geo.cell_int(destination, 7),
        distance_m=round(distance),
        search_radius_m=rules.radius_m,
        created_at=now,
        requester_last={"lat": start.lat, "lng": start.lng, "at": now.isoformat()},
    )
    with transaction.atomic():
        if data.kind == WalkKind.WATCHED:
            walk.state, walk.started_at = WalkState.ACTIVE, now
            _set_arrival_deadline(walk, rules, now)
            walk.save(force_insert=True)
            _open_watch_links(walk)
        else:
            walk.due_at, walk.due_kind = (
                now + dt.timedelta(seconds=rules.offer_timeout_s),
                DueKind.WIDEN,
            )
            walk.save(force_insert=True)
            _send_offers(walk, rules, start)
        _audit_walk(walk, "walk.request", actor=user, data={"kind": walk.kind})
        events.walk_state(walk)
    return walk


def _send_offers(walk: Walk, rules: WalkSettings, start: geo.Point) -> int:
    already = frozenset(WalkOffer.objects.filter(walk=walk).values_list("volunteer_id", flat=True))
    found = nearest_volunteers(
        organisation_id=walk.organisation_id,
        point=start,
        radius_m=walk.search_radius_m,
        limit=rules.offers_per_round,
        exclude_profile_ids=already,
    )
    offers = [
        WalkOffer(id=uuid.uuid4(), walk=walk, volunteer_id=c.profile_id, distance_m=c.distance_m)
        for c in found
    ]
    WalkOffer.objects.bulk_create(offers)
    for offer in offers:
        events.offer_created(offer)
    return len(offers)


def _set_arrival_deadline(walk: Walk, rules: WalkSettings, now: dt.datetime) -> None:
    minutes = walk.distance_m / WALKING_SPEED_M_PER_MIN + rules.arrival_buffer_min
    walk.arrival_deadline = now + dt.timedelta(minutes=minutes)
    walk.due_at, walk.due_kind = walk.arrival_deadline, DueKind.OVERDUE_PROMPT


def walk_accept(*, offer: WalkOffer, profile: VolunteerProfile) -> Walk:
    """First accept wins, atomically; every other offer is withdrawn live."""
    if offer.volunteer_id != profile.pk:
        raise DomainError(_("This offer is not yours."), code="not_yours")
    if profile.status != VolunteerStatus.APPROVED or profile.duty_state != DutyState.ON_DUTY:
        raise DomainError(_("Go on duty to accept walks."), code="not_on_duty")
    now = timezone.now()
    rules = walk_settings(offer.walk.organisation_id)
    with transaction.atomic():
        won = Walk.objects.filter(
            pk=offer.walk_id, state=WalkState.SEARCHING, escort__isnull=True
        ).update(
            escort=profile,
            state=WalkState.ACTIVE,
            accepted_at=now,
            started_at=now,
            due_at=None,
            due_kind=DueKind.NONE,
        )
        if (
            won != 1
            or WalkOffer.objects.filter(pk=offer.pk, state=OfferState.PENDING).update(
                state=OfferState.ACCEPTED, responded_at=now
            )
            != 1
        ):
            transaction.set_rollback(True)
            raise DomainError(
                _("Someone else is already walking with them. Thank you!"), code="already_taken"
            )
        walk = Walk.objects.select_for_update().get(pk=offer.walk_id)
        _set_arrival_deadline(walk, rules, now)
        walk.save(update_fields=["arrival_deadline", "due_at", "due_kind"])
        VolunteerProfile.objects.filter(pk=profile.pk).update(
            duty_state=DutyState.ON_WALK, duty_changed_at=now
        )
        _withdraw_pending_offers(WalkOffer.objects.filter(walk=walk))
        _open_watch_links(walk)
        _audit_walk(walk, "walk.accept", actor=profile.user)
        events.walk_state(walk)
    return walk


def walk_decline(*, offer: WalkOffer, profile: VolunteerProfile) -> None:
    if offer.volunteer_id != profile.pk:
        raise DomainError(_("This offer is not yours."), code="not_yours")
    WalkOffer.objects.filter(pk=offer.pk, state=OfferState.PENDING).update(
        state=OfferState.DECLINED, responded_at=timezone.now()
    )


def _watch_token() -> tuple[str, str]:
    token = secrets.token_urlsafe(24)
    return token, watch_token_hash(token)


def watch_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _open_watch_links(walk: Walk) -> None:
    """A private link per trusted contact, sent by email (a durable notification row)."""
    name = _requester_name(walk)
    watches: list[WalkWatch] = []
    messages: list[NotificationIn] = []
    for contact in TrustedContact.objects.filter(owner_id=walk.requester_id):
        token, digest = _watch_token()
        watches.append(WalkWatch(id=uuid.uuid4(), walk=walk, contact=contact, token_hash=digest))
        url = f"{settings.HOMESAFE_BASE_URL}/w/{token}/"
        messages.append(
            NotificationIn(
                key=f"walk:{walk.pk}:watch_link:{contact.pk}",
                channel="email",
                recipient=contact.email,
                kind="walk_watch_link",
                subject=_("Follow a walk home"),
                body=_(
                    "%(name)s asked you to follow their walk home. Open this private link to "
                    "see it live until they arrive: %(url)s\n\nIf you are worried, call 111."
                )
                % {"name": name, "url": url},
                walk_id=walk.pk,
                organisation_id=walk.organisation_id,
            )
        )
    WalkWatch.objects.bulk_create(watches)
    notification_enqueue_many(messages)


def _requester_name(walk: Walk) -> str:
    user = walk.requester
    return user.display_name or _("Someone you know")


def watch_revoke(*, walk: Walk, user: User, watch_id: uuid.UUID | str) -> None:
    """The member takes a contact's link back."""
    if walk.requester_id != user.pk:
        raise DomainError(_("Only the person walking can change who follows."), code="forbidden")
    with transaction.atomic():
        if not WalkWatch.objects.filter(pk=watch_id, walk=walk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        ):
            raise DomainError(_("That link is already closed."), code="not_found")
        _audit_walk(walk, "walk.watch_revoke", actor=user, data={"watch": str(watch_id)})
        events.watch_revoked(watch_id)


# --- during the walk ---------------------------------------------------------------------------


def _record_position(walk: Walk, role: str, point: geo.Point, now: dt.datetime) -> None:
    last = {"lat": round(point.lat, 6), "lng": round(point.lng, 6), "at": now.isoformat()}
    WalkPosition.objects.create(id=uuid.uuid4(), walk=walk, role=role, point=last, created_at=now)
    if role == "escort":
        walk.escort_last = last
        walk.save(update_fields=["escort_last"])
    else:
        walk.requester_last = last
        walk.save(update_fields=["requester_last"])
    events.position(walk, role, last)


def walk_position(*, walk: Walk, user: User, location: Any) -> None:
    """A live position from the requester's phone (the escort's comes via volunteer_position)."""
    if walk.state != WalkState.ACTIVE and walk.state != WalkState.SEARCHING:
        raise DomainError(_("This walk has ended."), code="walk_ended")
    if walk.requester_id != user.pk:
        raise DomainError(_("Only the person walking sends positions here."), code="forbidden")
    with transaction.atomic():
        _record_position(walk, "requester", _point(location), timezone.now())


def walk_checkin(*, walk: Walk, user: User) -> Walk:
    """'I'm home safe': the walk ends for everyone; the escort confirms the hand-over."""
    if walk.requester_id != user.pk:
        raise DomainError(_("Only the person walking can say they are home."), code="forbidden")
    return _end(walk, reason="home_safe", actor=user)


def walk_cancel(*, walk: Walk, user: User) -> Walk:
    if walk.requester_id != user.pk:
        raise DomainError(_("Only the person walking can cancel."), code="forbidden")
    return _end(walk, reason="cancelled", actor=user)


def _end(walk: Walk, *, reason: str, actor: User) -> Walk:
    now = timezone.now()
    state = WalkState.ENDED if reason == "home_safe" else WalkState.CANCELLED
    with transaction.atomic():
        changed = Walk.objects.filter(
            pk=walk.pk, state__in=[WalkState.SEARCHING, WalkState.ACTIVE]
        ).update(
            state=state,
            ended_at=now,
            end_reason=reason,
            due_at=None,
            due_kind=DueKind.NONE,
            retention_due_at=now + RETENTION,
        )
        if changed != 1:
            raise DomainError(_("This walk has already ended."), code="walk_ended")
        walk.refresh_from_db()
        _withdraw_pending_offers(WalkOffer.objects.filter(walk=walk))
        if walk.escort_id:
            VolunteerProfile.objects.filter(pk=walk.escort_id, duty_state=DutyState.ON_WALK).update(
                duty_state=DutyState.ON_DUTY, duty_changed_at=now
            )
        WalkWatch.objects.filter(walk=walk, revoked_at__isnull=True).update(revoked_at=now)
        _audit_walk(walk, f"walk.{reason}", actor=actor)
        events.walk_state(walk)
    return walk


def walk_confirm_handover(*, walk: Walk, profile: VolunteerProfile) -> Walk:
    if walk.escort_id != profile.pk:
        raise DomainError(_("Only the escort confirms the hand-over."), code="forbidden")
    Walk.objects.filter(pk=walk.pk, handover_confirmed_at__isnull=True).update(
        handover_confirmed_at=timezone.now()
    )
    walk.refresh_from_db()
    events.walk_state(walk)
    return walk


def walk_sos(*, walk: Walk, user: User) -> Walk:
    """SOS: trusted contacts and the on-call caseworker are alerted at once."""
    if user.pk not in (walk.requester_id, walk.escort.user_id if walk.escort else None):
        raise DomainError(_("Only people on this walk can raise an SOS."), code="forbidden")
    if walk.state not in (WalkState.SEARCHING, WalkState.ACTIVE):
        raise DomainError(
            _("This walk has ended. If you are in danger, call 111."), code="walk_ended"
        )
    now = timezone.now()
    with transaction.atomic():
        Walk.objects.filter(pk=walk.pk, sos_at__isnull=True).update(sos_at=now)
        walk.refresh_from_db()
        _alert_everyone(walk, kind="walk_sos", stamp=walk.sos_at or now)
        _audit_walk(walk, "walk.sos", actor=user)
        events.walk_state(walk)
    return walk


def _last_seen_text(walk: Walk) -> str:
    last = walk.requester_last or walk.start or {}
    if not last:
        return _("No position known.")
    return _(
        "Last known position: %(lat).5f, %(lng).5f (https://www.openstreetmap.org/"
        "?mlat=%(lat).5f&mlon=%(lng).5f#map=18/%(lat).5f/%(lng).5f)"
    ) % {"lat": last["lat"], "lng": last["lng"]}


def _alert_messages(
    walk: Walk, *, kind: str, contacts: Sequence[TrustedContact], rules: WalkSettings
) -> list[NotificationIn]:
    """The alerts for every trusted contact and the on-call caseworker, keyed per walk, kind
    and recipient, so queueing them again changes nothing."""
    org = walk.organisation
    name = _requester_name(walk)
    if kind == "walk_sos":
        subject = _("SOS: %(name)s needs help now") % {"name": name}
        opening = _("%(name)s pressed SOS during their walk home.") % {"name": name}
    else:
        subject = _("%(name)s has not arrived home") % {"name": name}
        opening = _("%(name)s has not checked in as home safe and is overdue.") % {"name": name}
    body = "\n\n".join(
        [
            opening,
            _last_seen_text(walk),
            _("If you cannot reach them, call %(number)s.") % {"number": org.emergency_number},
        ]
    )
    recipients = [(f"contact:{contact.pk}", contact.email) for contact in contacts]
    if rules.oncall is not None:
        recipients.append((f"oncall:{rules.oncall.pk}", rules.oncall.email))
    return [
        NotificationIn(
            key=f"walk:{walk.pk}:{kind}:{who}:email",
            channel="email",
            recipient=address,
            kind=kind,
            subject=subject,
            body=body,
            walk_id=walk.pk,
            organisation_id=org.pk,
        )
        for who, address in recipients
    ]


def _alert_everyone(walk: Walk, *, kind: str, stamp: dt.datetime) -> int:
    """Alert rows for every trusted contact and the on-call caseworker; idempotent per walk."""
    messages = _alert_messages(
        walk,
        kind=kind,
        contacts=list(TrustedContact.objects.filter(owner_id=walk.requester_id)),
        rules=walk_settings(walk.organisation),
    )
    notification_enqueue_many(messages)
    return len(messages)


# --- the deadline loop ---------------------------------------------------------------------------


CLAIM_LEASE = dt.timedelta(seconds=30)
# Deadlines claimed and acted on together in one step: a batch shares its queries (one read
# of the walks, one insert of all their alert rows, one audit append), so the loop keeps up
# when hundreds of walks come due in the same second.
DUE_BATCH = 50


def handle_one_due_walk(now: dt.datetime | None = None) -> bool:
    """Claim the most overdue walk deadlines (up to DUE_BATCH) and act on them. False when
    nothing is due."""
    now = now or timezone.now()
    due = Walk.objects.filter(due_at__lte=now)
    if not due.exists():
        return False  # idle polls open no transaction and take no lock
    claimed = _claim_due_walks(due, now)
    if not claimed:
        return True  # all taken by other workers; look again
    lease_until = now + CLAIM_LEASE
    try:
        with transaction.atomic():
            _act_on_due_walks(claimed, lease_until, now)
    except Exception:
        if len(claimed) == 1:
            raise
        # Something in the batch failed and rolled all of it back. Act on each walk alone, so
        # a bad walk holds up only itself: its lease runs out and it is due again later.
        failure: Exception | None = None
        for pk, kind in claimed.items():
            try:
                with transaction.atomic():
                    _act_on_due_walks({pk: kind}, lease_until, now)
            except Exception as exc:
                failure = failure or exc
        if failure is not None:
            raise failure
    return True


def _claim_due_walks(due: Any, now: dt.datetime) -> dict[uuid.UUID, str]:
    """Lease the most overdue deadlines (walk id -> what is due) in a transaction of their own.

    Only one worker moves a deadline on to the lease's end, and if acting on the walk fails
    (or the worker dies) it is due again when the lease ends, behind the walks that were
    waiting, not in front of them forever."""
    with transaction.atomic():
        # PostgreSQL: workers skip deadlines another worker is claiming, rather than queue
        # behind its transaction for the same oldest rows. SQLite serialises the block instead.
        picked = dict(
            due.select_for_update(skip_locked=True, of=("self",))
            .order_by("due_at")
            .values_list("pk", "due_kind")[:DUE_BATCH]
        )
        # Locked (or, on SQLite, read under the write lock) in this transaction, so every one
        # is still due; anything else means a change this transaction cannot see: look again.
        leased = due.filter(pk__in=list(picked)).update(due_at=now + CLAIM_LEASE) if picked else 0
        if leased != len(picked):
            transaction.set_rollback(True)
            return {}
    return picked


def _act_on_due_walks(
    claimed: dict[uuid.UUID, str], lease_until: dt.datetime, now: dt.datetime
) -> None:
    """Prompt, escalate or widen each claimed walk this worker still holds, then set its next
    deadline (or none) in place of the lease. Call inside a transaction."""
    walks = list(
        Walk.objects.select_for_update(of=("self",))
        .select_related("organisation", "requester", "escort")
        .filter(pk__in=list(claimed), due_at=lease_until)
    )
    if not walks:
        return
    order = {pk: position for position, pk in enumerate(claimed)}  # most overdue first
    walks.sort(key=lambda walk: order[walk.pk])
    rules = _walk_settings_of({walk.organisation_id for walk in walks})
    escalating = [
        w for w in walks if claimed[w.pk] == DueKind.ESCALATE and w.state == WalkState.ACTIVE
    ]
    contacts: dict[int, list[TrustedContact]] = {w.requester_id: [] for w in escalating}
    if contacts:
        for contact in TrustedContact.objects.filter(owner_id__in=list(contacts)).order_by("pk"):
            contacts[contact.owner_id].append(contact)
    alerts: list[NotificationIn] = []
    audits: list[AuditIn] = []
    next_due: dict[tuple[Any, ...], list[uuid.UUID]] = {}
    for walk in walks:
        kind = claimed[walk.pk]
        walk.due_at, walk.due_kind = None, DueKind.NONE
        changes: dict[str, Any] = {}
        if kind == DueKind.WIDEN and walk.state == WalkState.SEARCHING:
            _widen(walk, rules[walk.organisation_id], now)  # saves the walk and its deadline
            continue
        if kind == DueKind.OVERDUE_PROMPT and walk.state == WalkState.ACTIVE:
            walk.overdue_prompted_at = now
            walk.due_at = now + dt.timedelta(minutes=rules[walk.organisation_id].grace_min)
            walk.due_kind = DueKind.ESCALATE
            changes["overdue_prompted_at"] = now
            audits.append(_walk_audit(walk, "walk.overdue"))
            events.overdue_prompt(walk)
        elif kind == DueKind.ESCALATE and walk.state == WalkState.ACTIVE:
            walk.escalated_at = now
            changes["escalated_at"] = now
            messages = _alert_messages(
                walk,
                kind="walk_overdue",
                contacts=contacts[walk.requester_id],
                rules=rules[walk.organisation_id],
            )
            alerts.extend(messages)
            audits.append(_walk_audit(walk, "walk.escalate", data={"alerts": len(messages)}))
            events.walk_state(walk)
        # The next deadline (or none), replacing the lease; walks with the same changes share
        # one UPDATE.
        changes.update(due_at=walk.due_at, due_kind=walk.due_kind)
        next_due.setdefault(tuple(sorted(changes.items())), []).append(walk.pk)
    for changes_key, pks in next_due.items():
        Walk.objects.filter(pk__in=pks).update(**dict(changes_key))
    notification_enqueue_many(alerts)
    # Last: the audit head is one row every appender in the application locks.
    audit_append_many(audits)


def _walk_settings_of(organisation_ids: set[int]) -> dict[int, WalkSettings]:
    """Each organisation's walk settings with its on-call caseworker, in one query."""
    found = {
        rules.organisation_id: rules
        for rules in WalkSettings.objects.select_related("oncall").filter(
            organisation_id__in=list(organisation_ids)
        )
    }
    for org_id in organisation_ids - set(found):
        found[org_id] = walk_settings(org_id)
    return found


def _widen(walk: Walk, rules: WalkSettings, now: dt.datetime) -> None:
    start = _point(walk.start)
    if walk.search_radius_m < rules.max_radius_m:
        walk.search_radius_m = min(rules.max_radius_m, walk.search_radius_m + rules.radius_step_m)
    sent = _send_offers(walk, rules, start)
    walk.due_at = now + dt.timedelta(seconds=rules.offer_timeout_s)
    walk.due_kind = DueKind.WIDEN
    fields = ["search_radius_m", "due_at", "due_kind"]
    if walk.no_volunteer_at is None:
        # Nobody accepted in time: tell the on-call caseworker, and show the requester safe
        # venues and the watched-walk option (the page reacts to this event).
        walk.no_volunteer_at = now
        fields.append("no_volunteer_at")
        _alert_oncall_no_volunteer(walk, rules)
        events.no_volunteer(walk)
    walk.save(update_fields=fields)
    _audit_walk(walk, "walk.widen", data={"radius_m": walk.search_radius_m, "offers": sent})


def _alert_oncall_no_volunteer(walk: Walk, rules: WalkSettings) -> None:
    oncall = rules.oncall
    if oncall is None:
        return
    notification_enqueue(
        key=f"walk:{walk.pk}:no_volunteer:oncall:{oncall.pk}:email",
        channel="email",
        recipient=oncall.email,
        kind="oncall_no_volunteer",
        subject=_("No volunteer has accepted a walk request"),
        body=_("A walk request has had no volunteer for %(s)s seconds. Open homesafe to help.")
        % {"s": rules.offer_timeout_s},
        walk_id=walk.pk,
        organisation_id=walk.organisation_id,
    )


def walk_make_watched(*, walk: Walk, user: User) -> Walk:
    """No volunteer came: the requester walks on with their contacts watching instead."""
    if walk.requester_id != user.pk:
        raise DomainError(_("Only the person walking can choose this."), code="forbidden")
    now = timezone.now()
    rules = walk_settings(walk.organisation_id)
    with transaction.atomic():
        if (
            Walk.objects.filter(pk=walk.pk, state=WalkState.SEARCHING).update(
                kind=WalkKind.WATCHED, state=WalkState.ACTIVE, started_at=now
            )
            != 1
        ):
            raise DomainError(
                _("This walk is no longer waiting for a volunteer."), code="not_searching"
            )
        walk.refresh_from_db()
        _set_arrival_deadline(walk, rules, now)
        walk.save(update_fields=["arrival_deadline", "due_at", "due_kind"])
        _withdraw_pending_offers(WalkOffer.objects.filter(walk=walk))
        _open_watch_links(walk)
        events.walk_state(walk)
    return walk


# --- after the walk ------------------------------------------------------------------------------


def walk_feedback(
    *, walk: Walk, user: User, rating: int | None, comment: str, something_happened: bool
) -> WalkFeedback:
    """Feedback both ways. A requester saying something happened suspends the escort from new
    offers at once, pending review."""
    if walk.state not in (WalkState.ENDED, WalkState.CANCELLED):
        raise DomainError(_("Feedback comes after the walk."), code="walk_not_ended")
    if user.pk == walk.requester_id:
        role = "requester"
    elif walk.escort is not None and user.pk == walk.escort.user_id:
        role = "escort"
    else:
        raise DomainError(_("Only people on this walk can give feedback."), code="forbidden")
    if rating is not None and not 1 <= rating <= 5:
        raise DomainError(_("A rating is from 1 to 5."), field="rating")
    if len(comment) > 5000:
        raise DomainError(_("The comment is too long."), field="comment")
    with transaction.atomic():
        if WalkFeedback.objects.filter(walk=walk, author=user).exists():
            raise DomainError(
                _("You have already given feedback on this walk."), code="already_given"
            )
        feedback = WalkFeedback.objects.create(
            id=uuid.uuid4(),
            walk=walk,
            author=user,
            role=role,
            rating=rating,
            comment=comment.strip() or None,
            something_happened=something_happened,
        )
        _audit_walk(
            walk,
            "walk.feedback",
            actor=user,
            data={"role": role, "something_happened": something_happened},
        )
        if something_happened and role == "requester" and walk.escort is not None:
            _volunteer_restrict(
                walk.escort,
                status=VolunteerStatus.SUSPENDED,
                reason="reported_after_walk",
                actor=None,
            )
    return feedback


# --- retention -----------------------------------------------------------------------------------


def handle_one_retention(now: dt.datetime | None = None) -> bool:
    """Delete the live trail and exact points of one walk that ended over 24 hours ago,
    keeping coarse statistics (res-7 start and end cells, times, how it ended)."""
    now = now or timezone.now()
    walk_id = (
        Walk.objects.filter(retention_due_at__lte=now, trail_purged_at__isnull=True)
        .order_by("retention_due_at")
        .values_list("pk", flat=True)
        .first()
    )
    if walk_id is None:
        return False
    with transaction.atomic():
        if (
            Walk.objects.filter(pk=walk_id, trail_purged_at__isnull=True).update(
                trail_purged_at=now
            )
            != 1
        ):
            return True
        WalkPosition.objects.filter(walk_id=walk_id).delete()
        walk = Walk.objects.get(pk=walk_id)
        for name in (
            "start",
            "destination",
            "destination_label",
            "note",
            "requester_last",
            "escort_last",
        ):
            setattr(walk, name, None)
        walk.save(
            update_fields=[
                "start",
                "destination",
                "destination_label",
                "note",
                "requester_last",
                "escort_last",
            ]
        )
        WalkWatch.objects.filter(walk_id=walk_id).delete()
    return True


def saved_place_add(*, owner: User, label: str, location: Any) -> SavedPlace:
    """A destination to pick with one tap (home, a friend's place). Kept encrypted."""
    label = label.strip()
    if not label or len(label) > 60:
        raise DomainError(_("Give the place a short name (up to 60 characters)."), field="label")
    point = _point(location)
    if SavedPlace.objects.filter(owner=owner).count() >= 20:
        raise DomainError(_("You can keep up to 20 places."), code="too_many")
    return SavedPlace.objects.create(
        id=uuid.uuid4(), owner=owner, label=label, point={"lat": point.lat, "lng": point.lng}
    )


def saved_place_remove(*, owner: User, place_id: uuid.UUID | str) -> None:
    deleted, _detail = SavedPlace.objects.filter(owner=owner, pk=place_id).delete()
    if not deleted:
        raise DomainError(_("No such place."), code="not_found")


PHOTO_MAX_BYTES = 8 * 1024 * 1024
PHOTO_MAX_PIXELS = 40_000_000
PHOTO_SIDE = 320


def volunteer_photo_set(*, profile: VolunteerProfile, upload: Any) -> VolunteerProfile:
    """The escort's photo, shown to the person they walk and their contacts. The image is
    re-encoded as a small JPEG, so nothing of the original file (GPS, camera) is kept."""
    import base64
    import io

    from PIL import Image, UnidentifiedImageError

    size = getattr(upload, "size", None)
    if size is None or size > PHOTO_MAX_BYTES:
        raise DomainError(_("Choose a photo under 8 MB."), field="photo")
    data = upload.read(PHOTO_MAX_BYTES + 1)
    if len(data) > PHOTO_MAX_BYTES or not data:
        raise DomainError(_("Choose a photo under 8 MB."), field="photo")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format not in ("JPEG", "PNG", "WEBP"):
                raise DomainError(_("Use a JPEG, PNG or WebP photo."), field="photo")
            if probe.width * probe.height > PHOTO_MAX_PIXELS:
                raise DomainError(_("That image is too large."), field="photo")
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            image.draft("RGB", (PHOTO_SIDE * 2, PHOTO_SIDE * 2))
            picture = image.convert("RGB")
            picture.thumbnail((PHOTO_SIDE, PHOTO_SIDE))
            out = io.BytesIO()
            picture.save(out, format="JPEG", quality=85)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise DomainError(_("That file is not a photo we can read."), field="photo")
    profile.photo = base64.b64encode(out.getvalue()).decode()
    profile.save(update_fields=["photo"])
    audit_append(
        action="volunteer.photo",
        object_type="volunteer",
        object_id=profile.pk,
        actor=profile.user,
        organisation_id=profile.organisation_id,
    )
    return profile


def volunteer_photo_remove(*, profile: VolunteerProfile) -> None:
    profile.photo = None
    profile.save(update_fields=["photo"])
