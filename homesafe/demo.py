"""Wellington demo data: an organisation, its people and two years of fictional reports.

Everything here is invented: names, narratives and contact details are made up, and every
address is @demo.homesafe.nz or @example.org. Reports go through `report_submit` and triage
through the report services, so the demo exercises the same code (and audit trail) as real use.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import math
import random
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.base import CommandError
from django.db import transaction
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from homesafe.accounts.models import Organisation, Role, TrustedContact, User
from homesafe.accounts.services import membership_grant, recovery_codes_replace
from homesafe.audit.services import audit_append
from homesafe.cases.demo import seed_demo as seed_cases
from homesafe.common import geo
from homesafe.evidence.models import EvidenceItem
from homesafe.reports import services as report_services
from homesafe.reports.models import CaseNote, Message, PoliceResponse, Report
from homesafe.reports.schemas import ContactIn, LocationIn, PoliceIn, ReportIn
from homesafe.stats.demo import delete_demo as delete_stats
from homesafe.stats.demo import seed_demo as seed_stats
from homesafe.walks.models import (
    DutyState,
    SafeVenue,
    SavedPlace,
    VolunteerApproval,
    VolunteerProfile,
    VolunteerStatus,
    Walk,
    WalkSettings,
)

DEMO_PASSWORD = "walk-home-safe-2026"
DEMO_ORG_SLUG = "rainbow-wellington"
DEMO_ORG_NAME = "Rainbow Wellington"
DEMO_TIMEZONE = "Pacific/Auckland"
REPORT_COUNT = 320
# Reports that get a mailbox conversation or notes: enough to look lived-in, few enough to be fast.
CONVERSATIONS = 30
SEED = 2026


def demo_logins() -> list[tuple[str, str]]:
    return [
        ("org admin", "admin@demo.homesafe.nz"),
        ("caseworker", "aroha@demo.homesafe.nz"),
        ("caseworker", "sam@demo.homesafe.nz"),
        ("police liaison", "liaison@demo.homesafe.nz"),
        ("member", "member@demo.homesafe.nz"),
        ("volunteer", "volunteer01@demo.homesafe.nz"),
    ]


def _demo_email(local: str) -> str:
    return f"{local}@{settings.DEMO_EMAIL_DOMAIN}"


# --- second factor --------------------------------------------------------------------------


def _totp_key(email: str) -> str:
    """A demo account's TOTP secret (20 bytes, hex), derived so demo_otp() can recompute it.

    Keyed with SECRET_KEY rather than the email alone: reading this source is not enough to
    produce codes for someone else's demo deployment.
    """
    message = f"homesafe-demo-totp|{email.lower()}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha1).hexdigest()


def demo_otp(email: str) -> str:
    """The current 6-digit second-factor code of a demo staff account; refuses any other email."""
    email = email.strip().lower()
    if not email.endswith("@" + settings.DEMO_EMAIL_DOMAIN):
        raise CommandError(f"Only demo accounts (@{settings.DEMO_EMAIL_DOMAIN}) have codes here.")
    # Only the seeded authenticator: a device someone enrolled themselves stays private.
    device = TOTPDevice.objects.filter(
        user__email=email, confirmed=True, key=_totp_key(email)
    ).first()
    if device is None:
        raise CommandError(
            "No demo account with a second factor has that email; run `homesafe demo` first."
        )
    code = totp(
        device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=device.drift
    )
    return f"{code:0{device.digits}d}"


# --- places ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Street:
    """A stretch of a real Wellington street, as a line from `start` to `end` (lat, lng)."""

    name: str
    start: tuple[float, float]
    end: tuple[float, float]
    weight: float
    venues: tuple[tuple[str, float], ...]
    spots: tuple[str, ...]


STREETS: tuple[Street, ...] = (
    Street(
        "Courtenay Place",
        (-41.2930, 174.7795),
        (-41.2941, 174.7840),
        30,
        (
            ("bar_nightclub", 4),
            ("street", 4),
            ("restaurant_takeaway", 3),
            ("public_transport", 0.5),
        ),
        (
            "near the bus stop",
            "at the corner by the Embassy Theatre",
            "by the Courtenay Place park",
        ),
    ),
    Street(
        "Cuba Street",
        (-41.2905, 174.7757),
        (-41.2955, 174.7740),
        18,
        (("street", 4), ("bar_nightclub", 3), ("restaurant_takeaway", 2), ("shop", 1)),
        ("by the Bucket Fountain", "in the mall", "near the Ghuznee Street corner"),
    ),
    Street(
        "Manners Street",
        (-41.2898, 174.7755),
        (-41.2922, 174.7795),
        9,
        (("street", 4), ("public_transport", 2), ("restaurant_takeaway", 1)),
        ("at the bus stop", "near the crossing"),
    ),
    Street(
        "Dixon Street",
        (-41.2913, 174.7750),
        (-41.2928, 174.7790),
        6,
        (("street", 3), ("bar_nightclub", 2), ("restaurant_takeaway", 1)),
        ("near the car park", "by the Cuba Street end"),
    ),
    Street(
        "Blair Street",
        (-41.2922, 174.7820),
        (-41.2934, 174.7832),
        7,
        (("bar_nightclub", 4), ("street", 3)),
        ("between Blair and Allen Street", "at the Courtenay Place end"),
    ),
    Street(
        "Lambton Quay",
        (-41.2795, 174.7765),
        (-41.2862, 174.7758),
        5,
        (("street", 4), ("shop", 2), ("public_transport", 1), ("workplace", 1)),
        ("near the cable car", "outside the shops", "at a bus stop"),
    ),
    Street(
        "Willis Street",
        (-41.2865, 174.7756),
        (-41.2915, 174.7740),
        5,
        (("street", 3), ("bar_nightclub", 1), ("restaurant_takeaway", 1)),
        ("near the hotel", "by the Manners Street corner"),
    ),
    Street(
        "Taranaki Street",
        (-41.2900, 174.7800),
        (-41.2960, 174.7785),
        5,
        (("street", 4), ("bar_nightclub", 1)),
        ("at the lights on Courtenay Place", "near the petrol station"),
    ),
    Street(
        "Ghuznee Street",
        (-41.2932, 174.7728),
        (-41.2943, 174.7788),
        4,
        (("street", 3), ("bar_nightclub", 2), ("restaurant_takeaway", 1)),
        ("near the corner of Cuba Street", "by the Taranaki Street lights"),
    ),
    Street(
        "Oriental Parade",
        (-41.2908, 174.7855),
        (-41.2922, 174.7935),
        3,
        (("street", 5),),
        ("on the waterfront", "near the beach"),
    ),
    Street(
        "Wellington railway station",
        (-41.2786, 174.7790),
        (-41.2795, 174.7810),
        6,
        (("public_transport", 6), ("street", 1)),
        ("at the bus interchange", "on the platform", "outside the station"),
    ),
)

# Per venue: what the person was doing there ("{street}" is filled in).
ACTIVITIES: dict[str, tuple[str, ...]] = {
    "street": (
        "walking along {street}",
        "heading home along {street}",
        "waiting for a taxi on {street}",
    ),
    "bar_nightclub": (
        "leaving a bar on {street}",
        "queueing for a club on {street}",
        "having a drink at a bar on {street}",
    ),
    "restaurant_takeaway": (
        "waiting for food at a takeaway on {street}",
        "getting late-night food on {street}",
    ),
    "public_transport": ("waiting for the night bus on {street}", "waiting for a bus at {street}"),
    "shop": ("in a dairy on {street}", "in a shop on {street}"),
    "workplace": ("finishing a shift at work on {street}",),
}

# Per venue: where exactly, for the free-text place (streets use their own landmarks).
VENUE_SPOTS: dict[str, tuple[str, ...]] = {
    "bar_nightclub": ("outside a bar", "in the queue for a club", "inside a bar"),
    "restaurant_takeaway": ("outside a late-night takeaway", "inside a kebab shop"),
    "public_transport": ("at the bus stop", "on the night bus"),
    "shop": ("in a dairy", "outside a convenience store"),
    "workplace": ("outside work",),
}

# --- what happened: weights and plain-language templates ------------------------------------
# Slots about the person targeted: {s} subject, {o} object, {p} possessive, {was} verb,
# {S} capitalised subject. About the offenders: {They}/{they} and {One} ("He" when alone).

INCIDENT_WEIGHTS: dict[str, float] = {
    "verbal_abuse_slurs": 40,
    "threats_intimidation": 18,
    "followed_pursued": 10,
    "physical_assault": 12,
    "spat_on": 5,
    "sexual_harassment": 8,
    "sexual_assault": 2,
    "property_damage_graffiti": 4,
    "theft_robbery": 3,
    "refused_service": 5,
    "incitement_mob": 4,
    "filmed_without_consent": 5,
}
INCIDENT_SENTENCES: dict[str, tuple[str, ...]] = {
    "verbal_abuse_slurs": (
        "{They} started shouting slurs at {o}.",
        "{They} started yelling abuse at {o}.",
        "{They} kept calling {o} names and would not stop.",
    ),
    "threats_intimidation": (
        "{One} threatened to hurt {o} if {s} stayed.",
        "{They} got right in {p} face and said {s} had better leave town.",
    ),
    "followed_pursued": (
        "{They} followed {o} for a couple of blocks, still yelling.",
        "A car slowed down and followed {o} along the street.",
    ),
    "physical_assault": (
        "{One} shoved {o} into a shop window.",
        "{One} started throwing punches.",
        "{S} got knocked to the ground and kicked.",
    ),
    "spat_on": ("{One} spat at {o}.",),
    "sexual_harassment": ("{They} kept grabbing at {o} and making sexual comments.",),
    "sexual_assault": ("{One} groped {o} and would not let {o} past.",),
    "property_damage_graffiti": (
        "{They} ripped the rainbow flag off {p} bag and stamped on it.",
        "{They} kicked {p} bike over and broke the wheel.",
    ),
    "theft_robbery": ("{They} grabbed {p} phone and ran off.",),
    "refused_service": (
        "The staff refused to serve {o} and told {o} to leave.",
        "The bouncer would not let {o} in and laughed about it.",
    ),
    "incitement_mob": ("Other people on the street started cheering them on and joining in.",),
    "filmed_without_consent": ("People got their phones out and filmed instead of helping.",),
    "online_abuse": (
        "After a post about the Pride event, {s} got dozens of abusive messages.",
        "Someone shared a photo of {o} in a group chat with horrible comments.",
    ),
    "outing_blackmail": ("Someone threatened to tell {p} family and work unless {s} paid them.",),
}

BIAS_WEIGHTS: dict[str, float] = {
    "gay": 30,
    "lesbian": 10,
    "bisexual": 4,
    "lgbt_general": 12,
    "transgender": 15,
    "non_binary_gender_nonconforming": 7,
    "intersex": 0.5,
    "asexual": 0.5,
    "maori": 4,
    "pacific": 3,
    "asian": 4,
    "race_ethnicity": 2,
    "religion": 2,
    "disability_physical": 1,
    "disability_mental": 1,
    "sex_gender": 3,
    "age": 0.5,
    "alternative_subculture": 1,
    "other": 1,
    "dont_know": 3,
}
BIAS_SENTENCES: dict[str, str] = {
    "gay": "{They} worked out {s} {was} gay and went for {o}.",
    "lesbian": "{They} kept shouting about lesbians.",
    "bisexual": "{They} made gross comments about bi people.",
    "lgbt_general": "{S} {was} wearing rainbow colours after the Pride event.",
    "transgender": "{They} kept misgendering {o} and shouting about trans people.",
    "non_binary_gender_nonconforming": "{They} mocked how {s} looked and asked what {s} {was}.",
    "intersex": "{They} made ugly comments about {p} body.",
    "asexual": "{They} made fun of {o} for not dating.",
    "maori": "{They} made racist comments about Māori as well.",
    "pacific": "{They} said racist things about Pacific people too.",
    "asian": "{They} shouted racist things about Asian people too.",
    "race_ethnicity": "Some of it was racist too.",
    "religion": "{They} made comments about {p} religion.",
    "disability_physical": "{They} mocked {o} for using a walking stick.",
    "disability_mental": "{They} mocked the way {s} talked.",
    "sex_gender": "{They} said women should not be out this late.",
    "age": "{They} picked on {o} for being older.",
    "alternative_subculture": "{They} made fun of how {s} {was} dressed.",
    "other": "",
    "dont_know": "I am not sure why they picked on {o}.",
}
SEXUALITY_OR_GENDER = frozenset(
    {
        "gay",
        "lesbian",
        "bisexual",
        "lgbt_general",
        "transgender",
        "non_binary_gender_nonconforming",
        "intersex",
        "asexual",
    }
)

OFFENDER_INTRODUCTIONS: dict[str, str] = {
    "1": "A man came up to {o}.",
    "2_3": "Two or three guys came up to {o}.",
    "4_10": "A group of about six people surrounded {o}.",
    "more_than_10": "A big crowd gathered round {o}.",
    "unknown": "Some people came up to {o}.",
}
ONLINE_AFTERMATHS: tuple[str, ...] = (
    "{S} blocked them but new accounts kept turning up.",
    "{S} stayed off social media for a while.",
)
AFTERMATHS: tuple[str, ...] = (
    "{S} {was} shaken but okay.",
    "{S} did not feel safe going into town at night for weeks afterwards.",
    "Nobody around did anything.",
    "A stranger stayed with {o} until {s} got into a taxi.",
    "{S} got home but did not sleep that night.",
    "",
)
OFFENDER_DESCRIPTIONS: tuple[str, ...] = (
    "Men in their twenties, one in a black puffer jacket.",
    "A tall man with a shaved head and a hi-vis vest.",
    "A group of young guys, looked like they had been drinking.",
    "Two women and a man, about thirty.",
    "Teenagers on scooters.",
    "Did not get a good look.",
)
EMOTIONAL_IMPACTS: tuple[str, ...] = (
    "I don't feel safe walking home at night any more.",
    "I keep replaying it in my head.",
    "Angry more than scared, but I want it on record.",
    "I have stopped holding my partner's hand in town.",
)
POLICE_ALTERNATIVES: tuple[str, ...] = (
    "Told us to get a taxi.",
    "Said to call 111 if they came back.",
    "Gave us a number to ring in the morning.",
)

# Who the narrative is about, by reporter role: pronoun slots.
VOICES: dict[str, tuple[dict[str, str], ...]] = {
    "victim": (
        {"s": "I", "o": "me", "p": "my", "was": "was"},
        {"s": "we", "o": "us", "p": "our", "was": "were"},
    ),
    "witness": ({"s": "they", "o": "them", "p": "their", "was": "were"},),
    "third_party": ({"s": "they", "o": "them", "p": "their", "was": "were"},),
    "organisation": ({"s": "they", "o": "them", "p": "their", "was": "were"},),
}
WITNESSED_PEOPLE: tuple[str, ...] = (
    "a young couple",
    "two women",
    "a trans woman",
    "a guy in a rainbow T-shirt",
    "a group of students",
    "an older man",
)
CONTACT_NAMES: tuple[str, ...] = (
    "Kiri Example",
    "Jordan Sample",
    "Tama Placeholder",
    "Mei Testcase",
    "Riley Fictional",
    "Ana Demo",
    "Sione Madeup",
    "Charlie Invented",
)
VOLUNTEER_NAMES: tuple[str, ...] = (
    "Manaia",
    "Hine",
    "Priya",
    "Tom",
    "Lena",
    "Wiremu",
    "Grace",
    "Noa",
    "Ruby",
    "Ethan",
    "Moana",
    "Felix",
    "Isla",
    "Keanu",
    "Ava",
    "Leilani",
    "Oscar",
    "Mere",
    "Jun",
    "Zoe",
)

CASEWORKER_REPLIES: tuple[str, ...] = (
    "Kia ora, thank you for telling us about this. I'm {name}, a caseworker at Rainbow "
    "Wellington. Would you like to talk through some support options?",
    "Kia ora, I'm {name} from Rainbow Wellington. I'm sorry this happened to you. We have "
    "recorded it. If you want help with the police, counselling or getting home safely, "
    "just reply here.",
    "Thanks for your report. I'm {name}. Is there a safe time for us to talk, or would you "
    "rather keep to messages here?",
)
REPORTER_REPLIES: tuple[str, ...] = (
    "Thanks. I'd like someone to talk to, messages here are best.",
    "I mostly want it recorded, but I'd like to know if it keeps happening there.",
    "Could you help me make a statement to police? I don't want to go alone.",
    "Thank you, I'm doing better now. A walk-home option on Fridays would really help.",
)
CASEWORKER_FOLLOW_UPS: tuple[str, ...] = (
    "No problem at all. I've referred you to a counsellor who works with our community; "
    "they will be in touch through this mailbox.",
    "We've seen other reports from that spot and raise it at our next meeting with police.",
    "I can come with you to the station. Reply with a day that suits.",
)
CASE_NOTES: tuple[str, ...] = (
    "Similar incident reported near the same spot a few weeks earlier.",
    "Reporter prefers mailbox contact only. Checked in after a week.",
    "Referred to counselling partner.",
    "Raised at the monthly liaison meeting with police (anonymised).",
    "Reporter declined police involvement for now; keep on record for statistics.",
)


# --- seeding --------------------------------------------------------------------------------


@dataclass
class _People:
    admin: User
    caseworkers: list[User]
    member: User
    volunteers: list[User]
    liaison: User


class DemoError(Exception):
    """The demo cannot be (re)seeded; the message says why and what to do."""


def seed() -> str:
    """Replace the demo organisation, its people and its reports; returns a short summary."""
    rng = random.Random(SEED)
    now = timezone.now()
    with transaction.atomic():
        replaced = _delete_previous()
        org = Organisation.objects.create(
            name=DEMO_ORG_NAME, slug=DEMO_ORG_SLUG, timezone=DEMO_TIMEZONE, emergency_number="111"
        )
        people = _create_people(org)
        _create_walk_world(rng, org, people, now)
        reports = _create_reports(rng, org, people, now)
        _triage_all(rng, reports, people, now)
        ledger_rows = _police_ledger(rng, reports, people, now)
        casework = seed_cases(org, people.caseworkers, reports)
        statistics = seed_stats(org, people.caseworkers)
        audit_append(
            action="demo.seed",
            object_type="organisation",
            object_id=org.pk,
            actor_kind="system",
            organisation_id=org.pk,
            data={
                "reports": len(reports),
                "replaced_reports": replaced,
                "police_ledger_rows": ledger_rows,
            },
        )
    weekend_nights = sum(1 for r in reports if _is_weekend_night(r))
    statuses = Counter(r.status for r in reports)
    return (
        f"Seeded {org.name} ({org.slug}, {org.timezone}, emergency number "
        f"{org.emergency_number}): 1 org admin, {len(people.caseworkers)} caseworkers and 1 "
        f"police liaison with authenticators, 1 member with 2 trusted contacts and "
        f"{len(people.volunteers)} volunteers, all @{settings.DEMO_EMAIL_DOMAIN} with the "
        f"password {DEMO_PASSWORD}; "
        f"{len(reports)} fictional reports over the last two years around Courtenay Place and "
        f"Cuba Street ({weekend_nights} on Friday or Saturday nights; "
        f"{statuses['new']} new, {statuses['closed']} closed)"
        + (f", replacing {replaced} earlier demo reports" if replaced else "")
        + f"; {ledger_rows} police-response entries by caseworkers and the police liaison"
        + f"; {ON_DUTY_VOLUNTEERS} volunteers on duty near Courtenay Place"
        + f"; {casework}; {statistics}"
        + ". Second-factor codes for staff and volunteers: `homesafe demo-otp EMAIL`."
    )


# Places on and around Courtenay Place where a demo volunteer might be waiting (lat, lng).
COURTENAY_PLACE = (-41.2935, 174.7815)
ON_DUTY_VOLUNTEERS = 5
SAFE_VENUES = [
    ("All-night pharmacy (demo)", "Courtenay Place", -41.29375, 174.78050, "open until 4 a.m."),
    ("24-hour service station (demo)", "Kent Terrace", -41.29445, 174.78440, "open all night"),
    ("Hotel reception (demo)", "Cambridge Terrace", -41.29300, 174.78330, "staffed all night"),
    ("Late-night café (demo)", "Cuba Street", -41.29260, 174.77480, "open until 3 a.m."),
]


def _create_walk_world(
    rng: random.Random, org: Organisation, people: _People, now: dt.datetime
) -> None:
    """Approved volunteers around Courtenay Place (a few on duty), an on-call caseworker,
    safe venues, and the member's saved places."""
    WalkSettings.objects.create(organisation=org, oncall=people.caseworkers[0])
    for index, user in enumerate(people.volunteers):
        # Volunteers spread 100 m to 1.5 km from Courtenay Place; the first few are on duty.
        distance = 100 + index * 70
        bearing = rng.uniform(0, 2 * math.pi)
        lat = COURTENAY_PLACE[0] + distance * math.cos(bearing) / 111_320
        lng = COURTENAY_PLACE[1] + distance * math.sin(bearing) / (
            111_320 * math.cos(math.radians(COURTENAY_PLACE[0]))
        )
        point = geo.Point(lat, lng)
        on_duty = index < ON_DUTY_VOLUNTEERS
        profile = VolunteerProfile.objects.create(
            user=user,
            organisation=org,
            first_name=user.display_name,
            status=VolunteerStatus.APPROVED,
            applied_at=now - dt.timedelta(days=60 + index),
            decided_at=now - dt.timedelta(days=50 + index),
            duty_state=DutyState.ON_DUTY if on_duty else DutyState.OFF_DUTY,
            duty_changed_at=now if on_duty else None,
            cell_r10=geo.cell_int(point, 10) if on_duty else None,
            cell_r7=geo.cell_int(point, 7) if on_duty else None,
            position={"lat": round(lat, 6), "lng": round(lng, 6)} if on_duty else None,
            position_at=now if on_duty else None,
        )
        for approver in (people.admin, people.caseworkers[0]):
            VolunteerApproval.objects.create(profile=profile, approver=approver)
    for name, address, lat, lng, hours in SAFE_VENUES:
        SafeVenue.objects.create(
            organisation=org,
            name=name,
            address=address,
            lat=lat,
            lng=lng,
            cell_r7=geo.cell_int(geo.Point(lat, lng), 7),
            hours=hours,
        )
    for label, lat, lng in (
        ("Home", -41.29900, 174.76600),
        ("Friend's place", -41.29580, 174.79020),
    ):
        SavedPlace.objects.create(
            id=uuid.uuid4(), owner=people.member, label=label, point={"lat": lat, "lng": lng}
        )


def _delete_previous() -> int:
    """Remove earlier demo data. Audit entries stay: the log is append-only by design."""
    reports = Report.objects.filter(organisation__slug=DEMO_ORG_SLUG)
    if EvidenceItem.objects.filter(report__in=reports).exists():
        # Evidence is never deleted (its Merkle log only grows), demo or not.
        raise DemoError(
            "The demo organisation now holds evidence uploads, which homesafe never deletes. "
            "To start the demo over, use a fresh data directory (HOMESAFE_DATA_DIR)."
        )
    count = reports.count()
    reports.delete()
    Walk.objects.filter(organisation__slug=DEMO_ORG_SLUG).delete()
    delete_stats(DEMO_ORG_SLUG)
    User.objects.filter(email__endswith="@" + settings.DEMO_EMAIL_DOMAIN).delete()
    Organisation.objects.filter(slug=DEMO_ORG_SLUG).delete()
    return count


def _create_people(org: Organisation) -> _People:
    # One hash for everyone: demo passwords are public anyway, and argon2 per account would
    # dominate the seeding time.
    password_hash = make_password(DEMO_PASSWORD)

    def account(local: str, display_name: str, role: str) -> User:
        user = User.objects.create(
            email=_demo_email(local), display_name=display_name, password=password_hash
        )
        membership_grant(user=user, organisation=org, role=role)
        return user

    def with_second_factor(user: User) -> User:
        TOTPDevice.objects.create(
            user=user, name="demo authenticator", key=_totp_key(user.email), confirmed=True
        )
        recovery_codes_replace(user=user)  # random and never shown: demo-otp is the way in
        return user

    admin = with_second_factor(account("admin", "Mere (admin)", Role.ORG_ADMIN))
    caseworkers = [
        with_second_factor(account("aroha", "Aroha", Role.CASEWORKER)),
        with_second_factor(account("sam", "Sam", Role.CASEWORKER)),
    ]
    liaison = with_second_factor(
        account("liaison", "Sergeant Hemi (police liaison)", Role.POLICE_LIAISON)
    )
    member = account("member", "Rawiri", Role.MEMBER)
    for name, email in (
        ("Flatmate Example", "flatmate@example.org"),
        ("Sister Example", "sister@example.org"),
    ):
        TrustedContact.objects.create(id=uuid.uuid4(), owner=member, name=name, email=email)
    volunteers = [
        with_second_factor(account(f"volunteer{i:02d}", name, Role.VOLUNTEER))
        for i, name in enumerate(VOLUNTEER_NAMES, start=1)
    ]
    return _People(
        admin=admin, caseworkers=caseworkers, member=member, volunteers=volunteers, liaison=liaison
    )


def _weighted(rng: random.Random, weights: Mapping[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _some(rng: random.Random, weights: Mapping[str, float], k: int) -> list[str]:
    """k distinct codes, drawn by weight."""
    pool = dict(weights)
    chosen: list[str] = []
    while pool and len(chosen) < k:
        code = _weighted(rng, pool)
        chosen.append(code)
        del pool[code]
    return chosen


def _is_pride_season(day: dt.date) -> bool:
    # Auckland Pride runs through February, Wellington's festival into March.
    return day.month in (2, 3)


def _occurred_at(rng: random.Random, now_local: dt.datetime) -> dt.datetime:
    """A local time in the last two years: mostly Friday and Saturday nights, more at Pride."""
    night_weight = {4: 6.0, 5: 6.0, 3: 1.2, 6: 0.8}  # Mon=0: Fri and Sat nights dominate
    while True:
        night = now_local.date() - dt.timedelta(days=rng.randint(1, 730))
        weight = night_weight.get(night.weekday(), 0.6)
        weight *= 2.5 if _is_pride_season(night) else 1.0
        # A mild upward trend: more people hear of the service over time.
        weight *= 1.0 - 0.5 * (now_local.date() - night).days / 730
        if rng.random() * 15 > weight:
            continue
        if rng.random() < 0.85:
            hour = rng.choices([21, 22, 23, 0, 1, 2], weights=[1, 2, 3, 3, 3, 2])[0]
            day = night + dt.timedelta(days=1) if hour < 12 else night
        else:
            hour, day = rng.randint(10, 20), night
        when = dt.datetime.combine(
            day, dt.time(hour, rng.randrange(0, 60, 5)), tzinfo=now_local.tzinfo
        )
        if when < now_local - dt.timedelta(hours=2):
            return when


def _reported_after(rng: random.Random, occurred: dt.datetime, now: dt.datetime) -> dt.datetime:
    roll = rng.random()
    if roll < 0.35:
        delay = dt.timedelta(hours=rng.uniform(0.3, 12))
    elif roll < 0.75:
        delay = dt.timedelta(hours=rng.uniform(12, 96))
    elif roll < 0.95:
        delay = dt.timedelta(days=rng.uniform(4, 30))
    else:
        delay = dt.timedelta(days=rng.uniform(30, 180))
    return min(occurred + delay, now - dt.timedelta(minutes=rng.randint(5, 90)))


def _point_on(rng: random.Random, street: Street) -> LocationIn:
    t = rng.random()
    lat = street.start[0] + t * (street.end[0] - street.start[0]) + rng.uniform(-0.0002, 0.0002)
    lng = street.start[1] + t * (street.end[1] - street.start[1]) + rng.uniform(-0.0002, 0.0002)
    return LocationIn.model_validate(dict(lat=round(lat, 6), lng=round(lng, 6)))


def _narrative(
    rng: random.Random,
    voice: dict[str, str],
    opening: str,
    incidents: list[str],
    bias: list[str],
    ending: str,
    *,
    offenders: str | None,
    online: bool,
) -> str:
    """A short first-person (or witness) account assembled from the templates above."""
    alone = offenders == "1"
    slots = {
        **voice,
        "S": voice["s"][0].upper() + voice["s"][1:],
        "They": "He" if alone else "They",
        "they": "he" if alone else "they",
        "One": "He" if alone else "One of them",
    }
    parts = [opening, OFFENDER_INTRODUCTIONS.get(offenders or "", "")]
    parts += [rng.choice(INCIDENT_SENTENCES[code]) for code in incidents]
    # Online abuse is written, not shouted: the bias shows in the words, said once.
    parts.append("The messages were full of slurs." if online else BIAS_SENTENCES[bias[0]])
    parts.append(ending)
    return " ".join(p.format(**slots) for p in parts if p)


def _police(rng: random.Random, incidents: list[str]) -> PoliceIn:
    if rng.random() < 0.3:
        return PoliceIn.model_validate(dict(contacted="no"))
    method = rng.choices(
        ["emergency_call", "non_emergency", "attended_uncalled", "online", "in_person"],
        weights=[4, 3, 2, 1, 1],
    )[0]
    at_scene = method in ("emergency_call", "attended_uncalled")
    help_requested: dict[str, str] = {}
    if at_scene:
        # The gap homesafe exists for: an escort home asked for and often refused.
        help_requested["escort_home"] = rng.choices(
            ["refused", "provided", "alternative_offered", "not_asked"], weights=[4, 2, 2, 2]
        )[0]
    if "physical_assault" in incidents:
        help_requested["medical"] = rng.choice(["provided", "not_asked", "refused"])
    help_requested["statement_taken"] = rng.choices(
        ["provided", "refused", "not_asked"], weights=[5, 2, 2]
    )[0]
    attitude = rng.choices(
        ["helpful", "courteous", "indifferent", "dismissive", "hostile"],
        weights=[3, 3, 3, 3, 1],
    )[0]
    recording = rng.choices(
        [
            "recorded_as_hate_crime",
            "recorded_with_hate_flag",
            "recorded_as_non_crime",
            "not_recorded",
            "unknown",
        ],
        weights=[1, 2, 2, 2, 5],
    )[0]
    recorded = recording not in ("not_recorded", "unknown")
    return PoliceIn.model_validate(
        dict(
            contacted="yes",
            contact_method=method,
            minutes_to_arrive=rng.choice([4, 8, 12, 20, 35, 60]) if at_scene else None,
            help_requested=help_requested,
            alternative_offered=(
                rng.choice(POLICE_ALTERNATIVES)
                if help_requested.get("escort_home") == "alternative_offered"
                else None
            ),
            officer_attitude=attitude,
            recording=recording,
            police_reference=f"P0{rng.randint(10**7, 10**8 - 1)}" if recorded else None,
            investigation=(
                rng.choice(["open", "suspect_identified", "closed_no_further_action", "charged"])
                if recorded
                else rng.choice(["none", "unknown"])
            ),
        )
    )


def _random_report(
    rng: random.Random, now: dt.datetime, tz: ZoneInfo
) -> tuple[ReportIn, dt.datetime]:
    """One fictional report and when it was filed."""
    occurred = _occurred_at(rng, now.astimezone(tz))
    role = rng.choices(
        ["victim", "witness", "third_party", "organisation"], weights=[65, 22, 11, 2]
    )[0]
    identity = rng.choices(["pseudonymous", "anonymous", "identified"], weights=[60, 25, 15])[0]
    voice = rng.choice(VOICES[role])

    online = rng.random() < 0.04
    if online:
        street, venue, location, precision = None, "online", None, None
        incidents = [rng.choice(["online_abuse", "outing_blackmail"])]
        place_text = None
    else:
        street = rng.choices(STREETS, weights=[s.weight for s in STREETS])[0]
        venue = rng.choices([v for v, _w in street.venues], weights=[w for _v, w in street.venues])[
            0
        ]
        precision = rng.choices(
            ["about_100m", "exact", "neighbourhood", "withhold", "city"],
            weights=[65, 12, 12, 8, 3],
        )[0]
        location = None if precision == "withhold" else _point_on(rng, street)
        incidents = _some(rng, INCIDENT_WEIGHTS, rng.choices([1, 2, 3], weights=[4, 4, 2])[0])
        spot = rng.choice(VENUE_SPOTS.get(venue, street.spots))
        place_text = f"{street.name}, {spot}" if rng.random() < 0.85 else None
    if venue not in ("bar_nightclub", "restaurant_takeaway", "shop"):
        incidents = [c for c in incidents if c != "refused_service"] or ["verbal_abuse_slurs"]
    if {"sexual_harassment", "sexual_assault"} & set(incidents):
        voice = VOICES[role][0]  # told about one person, not "us"

    bias = _some(rng, BIAS_WEIGHTS, 2 if rng.random() < 0.15 else 1)
    if "dont_know" in bias:
        bias = ["dont_know"]
    indicators: list[str] = []
    if "dont_know" not in bias:
        if "verbal_abuse_slurs" in incidents or rng.random() < 0.5:
            indicators.append("words_used")
        if (
            _is_pride_season(occurred.date())
            and SEXUALITY_OR_GENDER & set(bias)
            and (rng.random() < 0.6)
        ):
            indicators.append("significant_date_or_event")
        for extra, chance in (
            ("symbols_gestures", 0.1),
            ("prior_incidents", 0.12),
            ("victim_offender_difference", 0.15),
        ):
            if rng.random() < chance:
                indicators.append(extra)

    if role == "victim":
        opening = f"{voice['s'].capitalize()} {voice['was']} " + "{activity}."
    elif role == "witness":
        opening = f"I saw {rng.choice(WITNESSED_PEOPLE)} being targeted while I was " + (
            "{activity}."
        )
    elif role == "third_party":
        opening = "My friend asked me to report this. They were {activity}."
    else:
        opening = "One of our members told us about this. They were {activity}."
    if online:
        opening = {"victim": "This happened online.", "witness": "I saw this happen online."}.get(
            role, "This happened to my friend online."
        )
    else:
        assert street is not None
        activity = rng.choice(ACTIVITIES[venue]).format(street=street.name)
        opening = opening.format(activity=activity)

    offenders = (
        None
        if online
        else rng.choices(
            ["1", "2_3", "4_10", "more_than_10", "unknown"], weights=[35, 35, 18, 2, 10]
        )[0]
    )
    police = _police(rng, incidents) if not online and rng.random() < 0.5 else None
    ending = rng.choice(ONLINE_AFTERMATHS if online else AFTERMATHS)
    if police is not None and police.help_requested.get("escort_home") == "refused":
        ending = "When the police came {s} asked to be walked home, but the officer said no."

    physical = "physical_assault" in incidents or "sexual_assault" in incidents
    injuries = (
        rng.choices(
            ["minor", "needed_medical_care", "hospitalised", "none"], weights=[10, 4, 1, 5]
        )[0]
        if physical
        else rng.choice(["none", "none", None])
    )
    bystanders = None if online else rng.choice([None, 0, 2, 5, 10, 20, 40])
    bystander_actions: list[str] = []
    if bystanders:
        bystander_actions = _some(
            rng, {"ignored": 4, "filmed": 3, "helped": 3, "joined_in": 1}, rng.choice([1, 1, 2])
        )
    consent_police = rng.choices(["none", "anonymised", "identifiable"], weights=[45, 35, 20])[0]
    if identity == "anonymous" and consent_police == "identifiable":
        consent_police = "anonymised"
    contact = None
    if identity == "identified":
        name = rng.choice(CONTACT_NAMES)
        contact = ContactIn.model_validate(
            dict(
                name=name,
                email=f"{name.split()[0].lower()}.{rng.randint(10, 99)}@example.org",
                channel=rng.choice(["email", "mailbox", "sms"]),
                phone="021 555 0" + f"{rng.randint(100, 999)}",
                leave_message=rng.choice([True, False, None]),
            )
        )

    data = ReportIn.model_validate(
        dict(
            organisation=DEMO_ORG_SLUG,
            reporter_role=role,
            identity_level=identity,
            contact=contact,
            consent_police=consent_police,
            consent_statistics=rng.random() < 0.8,
            occurred_on=occurred.date(),
            occurred_time=None if rng.random() < 0.1 else occurred.time(),
            occurred_approximate=rng.random() < 0.2,
            place_text=place_text,
            location=location,
            location_precision=precision,
            venue_type=venue,
            incident_types=incidents,
            narrative=_narrative(
                rng, voice, opening, incidents, bias, ending, offenders=offenders, online=online
            ),
            bias=bias,
            bias_other_text="They were yelling about my accent." if "other" in bias else None,
            bias_perceived=rng.choice([None, None, True, False]),
            bias_indicators=indicators,
            bias_perceived_by=["victim"] if role == "victim" else ["witness"],
            offenders_count=offenders,
            offender_description=rng.choice(OFFENDER_DESCRIPTIONS) if rng.random() < 0.4 else None,
            relationship="online_contact"
            if online
            else rng.choices(
                ["stranger", "acquaintance", "unknown", "colleague"], weights=[85, 5, 8, 2]
            )[0],
            injuries=injuries,
            emotional_impact=(
                rng.choice(EMOTIONAL_IMPACTS) if role == "victim" and rng.random() < 0.4 else None
            ),
            bystanders_count=bystanders,
            bystander_actions=bystander_actions,
            police=police,
            support_wanted=_some(
                rng,
                {
                    "just_record": 5,
                    "talk": 3,
                    "police_help": 2,
                    "counselling": 2,
                    "safe_way_home": 2,
                    "legal": 1,
                    "medical": 0.5,
                },
                rng.choice([0, 1, 1, 2]),
            ),
        )
    )
    return data, _reported_after(rng, occurred.astimezone(dt.UTC), now)


def _pride_night(now_local: dt.datetime) -> dt.date:
    """The Sunday after the most recent Wellington Pride Saturday (mid-March) behind us."""
    year = now_local.year
    while True:
        first = dt.date(year, 3, 1)
        saturday = first + dt.timedelta(days=(5 - first.weekday()) % 7 + 14)
        sunday = saturday + dt.timedelta(days=1)
        if sunday <= now_local.date() - dt.timedelta(days=21):
            return sunday
        year -= 1


def _story_reports(now: dt.datetime, tz: ZoneInfo) -> list[tuple[ReportIn, dt.datetime]]:
    """The night DESIGN.md starts from, told by one of the two men and by the woman who helped."""
    day = _pride_night(now.astimezone(tz))
    occurred = dt.datetime.combine(day, dt.time(1, 40), tzinfo=tz)
    where = LocationIn.model_validate(dict(lat=-41.29365, lng=174.78205))
    shared = {
        "organisation": DEMO_ORG_SLUG,
        "occurred_on": day,
        "occurred_time": dt.time(1, 40),
        "place_text": "Courtenay Place, outside a late-night takeaway",
        "location": where,
        "location_precision": "about_100m",
        "venue_type": "restaurant_takeaway",
        "incident_types": [
            "verbal_abuse_slurs",
            "physical_assault",
            "incitement_mob",
            "filmed_without_consent",
            "followed_pursued",
        ],
        "bias": ["gay"],
        "bias_indicators": ["words_used", "significant_date_or_event"],
        "offenders_count": "4_10",
        "relationship": "stranger",
        "bystanders_count": 30,
        "consent_statistics": True,
    }
    victim = ReportIn.model_validate(
        dict(
            **shared,
            reporter_role="victim",
            identity_level="identified",
            contact=ContactIn.model_validate(
                dict(
                    name="Jordan Sample",
                    email="jordan.sample@example.org",
                    channel="email",
                    leave_message=True,
                )
            ),
            consent_police="identifiable",
            narrative=(
                "My partner and I were waiting for food at a takeaway on Courtenay Place after a "
                "Pride event. A group of men started shouting homophobic slurs at us, then pushed "
                "and punched us. More people joined in and a crowd stood around filming on their "
                "phones. Police came and broke it up, but when we asked an officer to walk us home "
                "he said no. A young woman, then a few other people, walked us home. Some of the "
                "group followed us part of the way."
            ),
            bias_perceived_by=["victim"],
            offender_description="Six or seven men in their twenties, some in rugby jerseys.",
            injuries="minor",
            emotional_impact="We were terrified. We still don't go into town at night.",
            bystander_actions=["filmed", "joined_in", "helped"],
            police=PoliceIn.model_validate(
                dict(
                    contacted="yes",
                    contact_method="attended_uncalled",
                    minutes_to_arrive=10,
                    help_requested={
                        "escort_home": "refused",
                        "medical": "not_asked",
                        "statement_taken": "not_asked",
                    },
                    alternative_offered="The officer told us to get a taxi, but none would stop.",
                    officer_attitude="dismissive",
                    recording="unknown",
                    investigation="unknown",
                )
            ),
            support_wanted=["police_help", "talk", "safe_way_home"],
        )
    )
    witness = ReportIn.model_validate(
        dict(
            **shared,
            reporter_role="witness",
            identity_level="pseudonymous",
            consent_police="anonymised",
            narrative=(
                "I saw two men being attacked outside a takeaway on Courtenay Place. People were "
                "yelling slurs and lots of people were filming. After the police left them there "
                "I walked them home with a couple of others, and some of the group followed us "
                "for a few blocks. I filmed part of it and can share the video."
            ),
            bias_perceived_by=["witness"],
            bystander_actions=["filmed", "joined_in", "helped"],
        )
    )
    reported = occurred.astimezone(dt.UTC)
    return [
        (victim, reported + dt.timedelta(hours=30)),
        (witness, reported + dt.timedelta(hours=9)),
    ]


def _create_reports(
    rng: random.Random, org: Organisation, people: _People, now: dt.datetime
) -> list[Report]:
    tz = ZoneInfo(org.timezone)
    drafts = [_random_report(rng, now, tz) for _ in range(REPORT_COUNT)]
    reports = []
    for data, reported_at in drafts:
        submitted = report_services.report_submit(data=data, reported_at=reported_at)
        reports.append(submitted.report)
    # The member follows two of their own (identified) reports from their account.
    own = 0
    while own < 2:
        data, reported_at = _random_report(rng, now, tz)
        if data.reporter_role != "victim":
            continue
        data = data.model_copy(
            update={
                "identity_level": "identified",
                "contact": ContactIn.model_validate(
                    dict(name="Rawiri", email="rawiri@example.org", channel="mailbox")
                ),
                "consent_police": "none",
            }
        )
        reports.append(
            report_services.report_submit(
                data=data, user=people.member, reported_at=reported_at
            ).report
        )
        own += 1
    story = [
        report_services.report_submit(data=data, reported_at=reported_at).report
        for data, reported_at in _story_reports(now, tz)
    ]
    _story_casework(story, people)
    return reports + story


def _status_for(rng: random.Random, report: Report, age: dt.timedelta) -> str:
    """A plausible status for a report of this age: new ones wait, old ones are mostly done."""
    days = age.days
    if days < 14:
        weights = {"new": 65, "triaged": 35}
    elif days < 45:
        weights = {"new": 15, "triaged": 30, "in_support": 40, "referred_to_police": 15}
    elif days < 180:
        weights = {
            "triaged": 5,
            "in_support": 30,
            "referred_to_police": 15,
            "police_investigating": 10,
            "closed": 40,
        }
    else:
        weights = {
            "closed": 75,
            "in_support": 10,
            "police_investigating": 8,
            "referred_to_police": 7,
        }
    status = _weighted(rng, weights)
    # Only a reporter's consent sends a case to the police.
    if status in ("referred_to_police", "police_investigating") and report.consent_police == "none":
        status = "in_support" if days < 180 else "closed"
    # Nobody can be supported without a way to reach them.
    if status == "in_support" and report.identity_level == "anonymous":
        status = "triaged" if days < 45 else "closed"
    return status


def _triage_all(
    rng: random.Random, reports: list[Report], people: _People, now: dt.datetime
) -> None:
    talked = 0
    for report in reports:
        if report.status != "new":
            continue  # already worked on (the story)
        age = now - report.reported_at
        status = _status_for(rng, report, age)
        if status == "new":
            continue
        assignee = (
            None if status == "triaged" and rng.random() < 0.3 else rng.choice(people.caseworkers)
        )
        priority = report.priority
        if priority == "normal" and rng.random() < 0.15:
            priority = rng.choice(["low", "high"])
        report_services.report_update(
            report=report,
            user=assignee or people.admin,
            status=status,
            priority=priority,
            assignee_id=assignee.pk if assignee else None,
        )
        last = report.reported_at + dt.timedelta(hours=rng.uniform(2, 72))
        if (
            assignee is not None
            and talked < CONVERSATIONS
            and report.identity_level != "anonymous"
            and age > dt.timedelta(days=3)
            and rng.random() < 0.25
        ):
            talked += 1
            last = _conversation(rng, report, assignee, last)
        Report.objects.filter(pk=report.pk).update(updated_at=min(last, now))


def _backdate(entry: Message | CaseNote, when: dt.datetime) -> None:
    # The services stamp "now"; demo history is dated when it would have happened.
    if isinstance(entry, Message):
        Message.objects.filter(pk=entry.pk).update(created_at=when)
    else:
        CaseNote.objects.filter(pk=entry.pk).update(created_at=when)


def _conversation(
    rng: random.Random, report: Report, caseworker: User, at: dt.datetime
) -> dt.datetime:
    """A short mailbox exchange and maybe a note, dated after the report; returns the last time."""
    body = rng.choice(CASEWORKER_REPLIES).format(name=caseworker.display_name)
    _backdate(
        report_services.mailbox_post_by_caseworker(report=report, user=caseworker, body=body), at
    )
    if rng.random() < 0.7:
        at += dt.timedelta(hours=rng.uniform(1, 48))
        _backdate(
            report_services.mailbox_post_by_reporter(
                report=report, body=rng.choice(REPORTER_REPLIES)
            ),
            at,
        )
        Report.objects.filter(pk=report.pk).update(last_reporter_message_at=at)
        if rng.random() < 0.6:
            at += dt.timedelta(hours=rng.uniform(2, 30))
            _backdate(
                report_services.mailbox_post_by_caseworker(
                    report=report, user=caseworker, body=rng.choice(CASEWORKER_FOLLOW_UPS)
                ),
                at,
            )
    if rng.random() < 0.5:
        at += dt.timedelta(hours=rng.uniform(1, 24))
        _backdate(
            report_services.case_note_add(
                report=report, user=caseworker, body=rng.choice(CASE_NOTES)
            ),
            at,
        )
    return at


def _story_casework(story: list[Report], people: _People) -> None:
    """Casework on the story: the police apologised and investigate; a meeting is coming."""
    victim, witness = story
    aroha = people.caseworkers[0]
    for report in story:
        report_services.report_update(
            report=report,
            user=people.admin,
            status="police_investigating",
            priority="high",
            assignee_id=aroha.pk,
        )
    day = dt.timedelta(days=1)
    start = victim.reported_at + dt.timedelta(hours=3)
    _backdate(
        report_services.mailbox_post_by_caseworker(
            report=victim,
            user=aroha,
            body="Kia ora Jordan, I'm Aroha from Rainbow Wellington. I'm so sorry. Would you like "
            "us to come with you when you talk to the police?",
        ),
        start,
    )
    _backdate(
        report_services.mailbox_post_by_reporter(
            report=victim,
            body="Yes please. We also want to know why nobody would walk us home.",
        ),
        start + day,
    )
    _backdate(
        report_services.case_note_add(
            report=victim,
            user=aroha,
            body="Linked with the witness report from the same night; the witness has video. "
            "Police have apologised and opened an investigation.",
        ),
        start + 4 * day,
    )
    _backdate(
        report_services.case_note_add(
            report=victim,
            user=aroha,
            body="District commander agreed to meet community organisations; bring the "
            "refused-escort figures from the last two years.",
        ),
        start + 6 * day,
    )
    Report.objects.filter(pk=victim.pk).update(
        updated_at=start + 6 * day, last_reporter_message_at=start + day
    )
    Report.objects.filter(pk=witness.pk).update(updated_at=start + 4 * day)


def _backdate_police(row: PoliceResponse, when: dt.datetime) -> None:
    # Ledger rows are never edited through the model; the demo only dates them in the past.
    PoliceResponse.objects.filter(pk=row.pk).update(created_at=when)


def _police_ledger(
    rng: random.Random, reports: list[Report], people: _People, now: dt.datetime
) -> int:
    """Police-response history after the report: caseworkers record when police made contact
    and how it went; the liaison adds references and investigation status. Only for reports
    whose reporter shares them with police."""
    rows = 0
    story_ids = {r.pk for r in reports[-2:]}
    for report in reports:
        if report.pk in story_ids or report.consent_police == "none":
            continue
        if report.status not in ("referred_to_police", "police_investigating", "closed"):
            continue
        if report.status == "closed" and rng.random() < 0.6:
            continue
        caseworker = report.assignee or rng.choice(people.caseworkers)
        # Hours until police made contact: often within the 48 h benchmark, often not.
        waited = rng.choice([6, 18, 30, 44, 52, 70, 96, 150])
        contact_at = report.reported_at + dt.timedelta(hours=waited + rng.uniform(0, 5))
        if contact_at >= now:
            continue
        row = report_services.police_response_add(
            report=report,
            entry=PoliceIn.model_validate(dict(police_contact_at=contact_at)),
            entered_by="caseworker",
            author=caseworker,
        )
        _backdate_police(row, min(contact_at + dt.timedelta(hours=2), now))
        rows += 1
        update_at = contact_at + dt.timedelta(days=rng.uniform(2, 20))
        if report.status != "referred_to_police" and update_at < now:
            investigation = (
                "open"
                if report.status == "police_investigating"
                else rng.choice(["closed_no_further_action", "charged", "suspect_identified"])
            )
            row = report_services.police_response_add(
                report=report,
                entry=PoliceIn.model_validate(
                    dict(
                        police_reference=f"P0{rng.randint(10**7, 10**8 - 1)}",
                        investigation=investigation,
                        recording=rng.choice(
                            ["recorded_as_hate_crime", "recorded_with_hate_flag"]
                        ),
                    )
                ),
                entered_by="police",
                author=people.liaison,
            )
            _backdate_police(row, update_at)
            rows += 1
        outcome_at = update_at + dt.timedelta(days=rng.uniform(5, 40))
        if outcome_at < now and rng.random() < 0.2:
            withdrew = rng.random() < 0.4
            row = report_services.police_response_add(
                report=report,
                entry=PoliceIn.model_validate(
                    dict(
                        victim_withdrew=True,
                        withdrawal_reason=rng.choice(WITHDRAWAL_REASONS),
                    )
                    if withdrew
                    else dict(complaint_made=True)
                ),
                entered_by="caseworker",
                author=caseworker,
            )
            _backdate_police(row, outcome_at)
            rows += 1
    return rows + _story_police(reports[-2], people, now)


WITHDRAWAL_REASONS = [
    "Worried about being named in court.",
    "Too tired to keep going with it after months of waiting.",
    "Did not feel believed at the station.",
]


def _story_police(victim: Report, people: _People, now: dt.datetime) -> int:
    """The story's police response: contact 52 hours after the report (over the benchmark),
    an apology, an investigation, and the meeting the police agreed to."""
    aroha, day = people.caseworkers[0], dt.timedelta(days=1)
    reported = victim.reported_at
    steps = [
        (
            "caseworker",
            aroha,
            dict(police_contact_at=reported + dt.timedelta(hours=52)),
            reported + dt.timedelta(hours=53),
        ),
        (
            "police",
            people.liaison,
            dict(
                police_reference="P0SAMPLE0001",
                recording="recorded_as_hate_crime",
                investigation="open",
            ),
            reported + 3 * day,
        ),
        ("caseworker", aroha, dict(apology_received=True), reported + 4 * day),
        ("police", people.liaison, dict(meeting_held=True), reported + 12 * day),
    ]
    count = 0
    for entered_by, author, answers, when in steps:
        if when >= now:
            continue
        row = report_services.police_response_add(
            report=victim,
            entry=PoliceIn.model_validate(answers),
            entered_by=entered_by,
            author=author,
        )
        _backdate_police(row, when)
        count += 1
    return count


def _is_weekend_night(report: Report) -> bool:
    if report.occurred_on is None or report.occurred_time is None:
        return False
    hour, weekday = report.occurred_time.hour, report.occurred_on.weekday()
    # After midnight still counts as the night before.
    return (hour >= 21 and weekday in (4, 5)) or (hour < 3 and weekday in (5, 6))
