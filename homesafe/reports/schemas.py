"""Input and output shapes of reports: the single place report input is validated.

The web form and the JSON API both validate through ReportIn, so they accept and refuse
exactly the same things.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from typing import Literal

from django.conf import settings
from django.utils import timezone
from ninja import Schema
from pydantic import ConfigDict, EmailStr, Field, field_validator, model_validator

from homesafe.reports import taxonomy as tx

TEXT = settings.REPORT_TEXT_MAX
SHORT = settings.REPORT_SHORT_TEXT_MAX


def _literal(choices: tx.Choices) -> object:
    return Literal[tuple(tx.codes(choices))]  # type: ignore[valid-type]


ReporterRole = _literal(tx.REPORTER_ROLES)
IdentityLevel = _literal(tx.IDENTITY_LEVELS)
Channel = _literal(tx.CONTACT_CHANNELS)
ConsentPolice = _literal(tx.CONSENT_POLICE)
Precision = _literal(tx.LOCATION_PRECISIONS)
Venue = _literal(tx.VENUE_TYPES)
IncidentType = _literal(tx.INCIDENT_TYPES)
Bias = _literal(tx.BIAS_MOTIVATIONS)
BiasIndicator = _literal(tx.BIAS_INDICATORS)
PerceivedBy = _literal(tx.BIAS_PERCEIVED_BY)
OffenderCount = _literal(tx.OFFENDER_COUNTS)
Relationship = _literal(tx.RELATIONSHIPS)
Injuries = _literal(tx.INJURIES)
BystanderAction = _literal(tx.BYSTANDER_ACTIONS)
Support = _literal(tx.SUPPORT_WANTED)
Contacted = _literal(tx.POLICE_CONTACTED)
ContactMethod = _literal(tx.POLICE_CONTACT_METHODS)
PoliceHelp = _literal(tx.POLICE_HELP)
HelpAnswer = _literal(tx.POLICE_HELP_ANSWERS)
Attitude = _literal(tx.OFFICER_ATTITUDES)
Recording = _literal(tx.POLICE_RECORDING)
Investigation = _literal(tx.INVESTIGATION)
CaseStatus = _literal(tx.STATUSES)
Priority = _literal(tx.PRIORITIES)


class StrictIn(Schema):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ContactIn(StrictIn):
    name: str | None = Field(default=None, max_length=120)
    email: EmailStr | None = None
    phone: str | None = Field(default=None, max_length=32, pattern=r"^[0-9+() .-]{5,32}$")
    channel: Channel = "mailbox"  # type: ignore[valid-type]
    safe_times: str | None = Field(default=None, max_length=200)
    leave_message: bool | None = None
    language: str | None = Field(default=None, max_length=60)
    accessibility: str | None = Field(default=None, max_length=SHORT)


class LocationIn(StrictIn):
    lat: float = Field(ge=-90, le=90)
    lng: float = Field(ge=-180, le=180)

    @field_validator("lat", "lng")
    @classmethod
    def finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("must be a real coordinate")
        return value


class PoliceIn(StrictIn):
    contacted: Contacted | None = None  # type: ignore[valid-type]
    contact_method: ContactMethod | None = None  # type: ignore[valid-type]
    minutes_to_arrive: int | None = Field(default=None, ge=0, le=7 * 24 * 60)
    help_requested: dict[PoliceHelp, HelpAnswer] = Field(default_factory=dict)  # type: ignore[valid-type]
    alternative_offered: str | None = Field(default=None, max_length=SHORT)
    officer_attitude: Attitude | None = None  # type: ignore[valid-type]
    recording: Recording | None = None  # type: ignore[valid-type]
    police_reference: str | None = Field(default=None, max_length=64)
    investigation: Investigation | None = None  # type: ignore[valid-type]
    police_contact_at: dt.datetime | None = Field(
        default=None,
        description="when the police first made contact about the report (ISO 8601; without an "
        "offset it is read in the organisation's time zone)",
    )
    apology_received: bool | None = None
    complaint_made: bool | None = None
    complaint_upheld: bool | None = None
    meeting_held: bool | None = None
    victim_withdrew: bool | None = None
    withdrawal_reason: str | None = Field(default=None, max_length=SHORT)

    @field_validator("police_contact_at")
    @classmethod
    def contact_not_in_future(cls, value: dt.datetime | None) -> dt.datetime | None:
        if value is None:
            return value
        # Naive times are checked with a day of slack; the service reads them in the
        # organisation's time zone.
        slack = dt.timedelta(minutes=5) if value.tzinfo else dt.timedelta(days=1)
        now = timezone.now() if value.tzinfo else timezone.now().replace(tzinfo=None)
        if value > now + slack:
            raise ValueError("the time the police made contact cannot be in the future")
        if value.year < 1950:
            raise ValueError("the date is too far in the past")
        return value

    @model_validator(mode="after")
    def reason_needs_withdrawal(self) -> PoliceIn:
        if self.withdrawal_reason and self.victim_withdrew is not True:
            raise ValueError("a reason for withdrawing is given only when the person withdrew")
        if self.minutes_to_arrive is not None and self.contacted == "no":
            raise ValueError(
                "minutes until police arrived were given, but police were not contacted"
            )
        return self

    def is_empty(self) -> bool:
        return not any(v not in (None, "", {}) for v in self.model_dump().values())


class ReportIn(StrictIn):
    """Everything a reporter may tell us. Only `reporter_role` is required."""

    organisation: str | None = Field(default=None, max_length=60, description="organisation slug")
    reporter_role: ReporterRole  # type: ignore[valid-type]
    identity_level: IdentityLevel = "pseudonymous"  # type: ignore[valid-type]
    contact: ContactIn | None = None

    consent_caseworkers: bool = True
    consent_police: ConsentPolice = "none"  # type: ignore[valid-type]
    consent_statistics: bool = False

    occurred_on: dt.date | None = None
    occurred_time: dt.time | None = None
    occurred_approximate: bool = False
    place_text: str | None = Field(default=None, max_length=SHORT)
    location: LocationIn | None = None
    location_precision: Precision | None = None  # type: ignore[valid-type]
    venue_type: Venue | None = None  # type: ignore[valid-type]

    incident_types: list[IncidentType] = Field(default_factory=list, max_length=20)  # type: ignore[valid-type]
    narrative: str | None = Field(default=None, max_length=TEXT)

    bias: list[Bias] = Field(default_factory=list, max_length=30)  # type: ignore[valid-type]
    bias_other_text: str | None = Field(default=None, max_length=SHORT)
    bias_perceived: bool | None = None
    bias_by_association: bool | None = None
    bias_indicators: list[BiasIndicator] = Field(default_factory=list, max_length=10)  # type: ignore[valid-type]
    bias_perceived_by: list[PerceivedBy] = Field(default_factory=list, max_length=10)  # type: ignore[valid-type]

    offenders_count: OffenderCount | None = None  # type: ignore[valid-type]
    offender_description: str | None = Field(default=None, max_length=TEXT)
    relationship: Relationship | None = None  # type: ignore[valid-type]
    injuries: Injuries | None = None  # type: ignore[valid-type]
    emotional_impact: str | None = Field(default=None, max_length=TEXT)
    bystanders_count: int | None = Field(default=None, ge=0, le=100000)
    bystander_actions: list[BystanderAction] = Field(default_factory=list, max_length=10)  # type: ignore[valid-type]

    police: PoliceIn | None = None
    walk_id: uuid.UUID | None = Field(
        default=None, description="the walk home this report is about (requester or escort)"
    )
    support_wanted: list[Support] = Field(default_factory=list, max_length=10)  # type: ignore[valid-type]
    support_other: str | None = Field(default=None, max_length=SHORT)

    @field_validator("occurred_on")
    @classmethod
    def not_in_future(cls, value: dt.date | None) -> dt.date | None:
        # A day of slack: the reporter's local date may be ahead of UTC.
        if value and value > timezone.now().date() + dt.timedelta(days=1):
            raise ValueError("the date cannot be in the future")
        if value and value.year < 1950:
            raise ValueError("the date is too far in the past")
        return value

    @model_validator(mode="after")
    def consistent(self) -> ReportIn:
        contact = self.contact
        has_contact = contact is not None and any(
            getattr(contact, f) for f in ("name", "email", "phone")
        )
        if self.identity_level != "identified" and has_contact:
            raise ValueError(
                "contact details can only be given when the identity level is 'identified'"
            )
        if self.identity_level == "identified" and not has_contact:
            raise ValueError("an identified report needs at least a name, an email or a phone")
        if self.location is None and self.location_precision not in (None, "withhold"):
            raise ValueError("a location precision was given without a location")
        if self.identity_level == "anonymous" and self.consent_police == "identifiable":
            raise ValueError("an anonymous report cannot be shared with police identifiably")
        for field in ("incident_types", "bias", "bias_indicators", "bias_perceived_by",
                      "bystander_actions", "support_wanted"):
            values = getattr(self, field)
            if len(set(values)) != len(values):
                raise ValueError(f"{field} lists the same answer twice")
        return self


class ReportCreatedOut(Schema):
    reference_code: str = Field(description="Keep it: the only way back to this report.")
    status: str
    reported_at: dt.datetime


class CodeIn(StrictIn):
    code: str = Field(min_length=8, max_length=40)


class MessageIn(StrictIn):
    body: str = Field(min_length=1, max_length=TEXT)


class ReporterMessageIn(CodeIn):
    body: str = Field(min_length=1, max_length=TEXT)


class MessageOut(Schema):
    id: str
    sender: str
    body: str
    created_at: dt.datetime


class FollowUpOut(Schema):
    status: str
    status_label: str
    reported_at: dt.datetime
    messages: list[MessageOut]


class CaseUpdateIn(StrictIn):
    status: CaseStatus | None = None  # type: ignore[valid-type]
    priority: Priority | None = None  # type: ignore[valid-type]
    assignee_id: int | None = Field(default=None, description="user id; 0 clears the assignee")


class NoteIn(StrictIn):
    body: str = Field(min_length=1, max_length=TEXT)


class QueueItemOut(Schema):
    id: str
    status: str
    priority: str
    reporter_role: str
    identity_level: str
    reported_at: dt.datetime
    occurred_on: dt.date | None
    venue_type: str
    incident_types: list[str]
    bias: list[str]
    assignee_id: int | None


class NoteOut(Schema):
    id: str
    author_id: int | None
    body: str
    created_at: dt.datetime


class CaseDetailOut(QueueItemOut):
    consent_police: str
    consent_statistics: bool
    narrative: str | None
    place_text: str | None
    location_precision: str
    point: dict[str, float] | None
    h3_cell: str | None
    contact: dict[str, object] | None
    messages: list[MessageOut]
    notes: list[NoteOut]


class ReporterPoliceIn(CodeIn):
    """The reporter adds to the police-response ledger with their reference code."""

    entry: PoliceIn


class PoliceResponseOut(Schema):
    """One ledger row. Free text and the reference are null where the reader may not see them."""

    id: str
    entered_by: str
    created_at: dt.datetime
    contacted: str
    contact_method: str
    minutes_to_arrive: int | None
    help_requested: dict[str, str]
    alternative_offered: str | None
    officer_attitude: str
    recording: str
    police_reference: str | None
    investigation: str
    police_contact_at: dt.datetime | None
    apology_received: bool | None
    complaint_made: bool | None
    complaint_upheld: bool | None
    meeting_held: bool | None
    victim_withdrew: bool | None
    withdrawal_reason: str | None


class AreaOut(Schema):
    precision: str
    h3_cell: str | None
    lat: float | None
    lng: float | None


class LiaisonItemOut(Schema):
    id: str
    shared_as: str
    status: str
    reported_at: dt.datetime
    occurred_on: dt.date | None
    venue_type: str
    incident_types: list[str]
    bias: list[str]
    investigation: str


class LiaisonReportOut(LiaisonItemOut):
    """A report as the police liaison may see it: identifiable or anonymised, as consented."""

    organisation: str
    reporter_role: str
    occurred_time: dt.time | None
    occurred_approximate: bool
    bias_indicators: list[str]
    bias_perceived_by: list[str]
    offenders_count: str
    relationship: str
    injuries: str
    bystanders_count: int | None
    bystander_actions: list[str]
    area: AreaOut | None
    place_text: str | None
    narrative: str | None
    offender_description: str | None
    contact: dict[str, object] | None
    hours_to_police_contact: float | None
    police_responses: list[PoliceResponseOut]
