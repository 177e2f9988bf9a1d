"""The report taxonomy (shared/TAXONOMY.md): stable codes, translatable labels.

Codes are what the database, the API and exports carry; labels are for people.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

Choices = list[tuple[str, object]]

REPORTER_ROLES: Choices = [
    ("victim", _("It happened to me")),
    ("witness", _("I saw it happen")),
    ("third_party", _("I'm reporting for someone else")),
    ("organisation", _("I'm reporting for an organisation")),
]
IDENTITY_LEVELS: Choices = [
    ("anonymous", _("Anonymous: no contact at all")),
    ("pseudonymous", _("Private mailbox: a reference code, no contact details")),
    ("identified", _("Contact me: I'll give contact details")),
]
CONTACT_CHANNELS: Choices = [
    ("mailbox", _("Only through the private mailbox")),
    ("email", _("Email")),
    ("phone", _("Phone call")),
    ("sms", _("Text message")),
]
CONSENT_POLICE: Choices = [
    ("none", _("Do not share with police")),
    ("anonymised", _("Share with police without my identity")),
    ("identifiable", _("Share with police, including who I am")),
]
LOCATION_PRECISIONS: Choices = [
    ("exact", _("Exactly where I put the pin")),
    ("about_100m", _("Roughly, within about 100 metres")),
    ("neighbourhood", _("Just the neighbourhood")),
    ("city", _("Only the city")),
    ("withhold", _("Don't keep a location")),
]
VENUE_TYPES: Choices = [
    ("street", _("Street or public space")),
    ("bar_nightclub", _("Bar or nightclub")),
    ("restaurant_takeaway", _("Restaurant or takeaway")),
    ("public_transport", _("Public transport")),
    ("workplace", _("Workplace")),
    ("school", _("School or university")),
    ("home", _("Home")),
    ("shop", _("Shop")),
    ("online", _("Online")),
    ("other", _("Somewhere else")),
]
# NIBRS location codes, for exports that speak police language.
VENUE_NIBRS = {
    "street": "13",
    "bar_nightclub": "03",
    "restaurant_takeaway": "21",
    "public_transport": "01",
    "workplace": "58",
    "school": "52",
    "home": "20",
    "shop": "07",
    "online": "58",
    "other": "25",
}
INCIDENT_TYPES: Choices = [
    ("verbal_abuse_slurs", _("Verbal abuse or slurs")),
    ("threats_intimidation", _("Threats or intimidation")),
    ("followed_pursued", _("Followed or chased")),
    ("refused_service", _("Refused service")),
    ("spat_on", _("Spat on")),
    ("physical_assault", _("Physical assault")),
    ("sexual_harassment", _("Sexual harassment")),
    ("sexual_assault", _("Sexual assault")),
    ("property_damage_graffiti", _("Property damage or graffiti")),
    ("theft_robbery", _("Theft or robbery")),
    ("outing_blackmail", _("Outed or blackmailed")),
    ("online_abuse", _("Online abuse")),
    ("incitement_mob", _("A crowd egged it on or joined in")),
    ("filmed_without_consent", _("Filmed without consent")),
]
BIAS_MOTIVATIONS: Choices = [
    ("gay", _("Being gay")),
    ("lesbian", _("Being lesbian")),
    ("bisexual", _("Being bisexual")),
    ("lgbt_general", _("Being LGBTQIA+ in general")),
    ("heterosexual", _("Being heterosexual")),
    ("transgender", _("Being transgender")),
    ("non_binary_gender_nonconforming", _("Being non-binary or gender non-conforming")),
    ("intersex", _("Being intersex")),
    ("asexual", _("Being asexual")),
    ("race_ethnicity", _("Race or ethnicity")),
    ("maori", _("Being Māori")),
    ("pacific", _("Being Pasifika")),
    ("asian", _("Being Asian")),
    ("religion", _("Religion or belief")),
    ("disability_physical", _("Physical disability")),
    ("disability_mental", _("Mental health or learning disability")),
    ("sex_gender", _("Sex or gender")),
    ("age", _("Age")),
    ("alternative_subculture", _("Alternative subculture")),
    ("other", _("Something else")),
    ("dont_know", _("I don't know")),
]
BIAS_GROUPS = {
    "sexual_orientation": ["gay", "lesbian", "bisexual", "lgbt_general", "heterosexual"],
    "gender_identity": ["transgender", "non_binary_gender_nonconforming", "intersex", "asexual"],
    "race_ethnicity": ["race_ethnicity", "maori", "pacific", "asian"],
}
BIAS_INDICATORS: Choices = [
    ("words_used", _("Words they used")),
    ("symbols_gestures", _("Symbols or gestures")),
    ("significant_date_or_event", _("A significant date or event (such as Pride)")),
    ("prior_incidents", _("It has happened before")),
    ("victim_offender_difference", _("Who they are compared with who I am")),
    ("other", _("Something else")),
]
BIAS_PERCEIVED_BY: Choices = [
    ("victim", _("The person targeted")),
    ("witness", _("A witness")),
    ("caseworker", _("A caseworker")),
    ("police", _("The police")),
]
OFFENDER_COUNTS: Choices = [
    ("1", _("One")),
    ("2_3", _("2 to 3")),
    ("4_10", _("4 to 10")),
    ("more_than_10", _("More than 10")),
    ("unknown", _("Not sure")),
]
RELATIONSHIPS: Choices = [
    ("stranger", _("A stranger")),
    ("acquaintance", _("Someone I know a little")),
    ("neighbour", _("A neighbour")),
    ("colleague", _("A colleague")),
    ("family_partner", _("Family or partner")),
    ("online_contact", _("Someone I know online")),
    ("unknown", _("Not sure")),
]
INJURIES: Choices = [
    ("none", _("No injuries")),
    ("minor", _("Minor injuries")),
    ("needed_medical_care", _("Needed medical care")),
    ("hospitalised", _("Went to hospital")),
]
BYSTANDER_ACTIONS: Choices = [
    ("helped", _("Someone helped")),
    ("filmed", _("People filmed")),
    ("joined_in", _("People joined in")),
    ("ignored", _("People ignored it")),
]
SUPPORT_WANTED: Choices = [
    ("just_record", _("I just want it recorded")),
    ("talk", _("Someone to talk to")),
    ("police_help", _("Help dealing with the police")),
    ("counselling", _("Counselling")),
    ("legal", _("Legal advice")),
    ("medical", _("Medical help")),
    ("housing", _("Housing or safety at home")),
    ("safe_way_home", _("A safe way home in future")),
]
POLICE_CONTACTED: Choices = [("no", _("No")), ("yes", _("Yes"))]
POLICE_CONTACT_METHODS: Choices = [
    ("emergency_call", _("Emergency call (111)")),
    ("non_emergency", _("Non-emergency line (105)")),
    ("online", _("Online")),
    ("in_person", _("In person at a station")),
    ("attended_uncalled", _("Police came without being called")),
]
POLICE_HELP: Choices = [
    ("escort_home", _("Getting home safely")),
    ("transport", _("Transport")),
    ("medical", _("Medical help")),
    ("statement_taken", _("Taking a statement")),
    ("protection", _("Protection")),
]
POLICE_HELP_ANSWERS: Choices = [
    ("provided", _("Provided")),
    ("refused", _("Refused")),
    ("alternative_offered", _("Something else was offered")),
    ("not_asked", _("Not asked")),
]
OFFICER_ATTITUDES: Choices = [
    ("helpful", _("Helpful")),
    ("courteous", _("Courteous")),
    ("indifferent", _("Indifferent")),
    ("dismissive", _("Dismissive")),
    ("hostile", _("Hostile")),
    ("police_violence", _("Used violence")),
]
POLICE_RECORDING: Choices = [
    ("recorded_as_hate_crime", _("Recorded as a hate crime")),
    ("recorded_with_hate_flag", _("Recorded with a hate flag")),
    ("recorded_as_non_crime", _("Recorded as not a crime")),
    ("not_recorded", _("Not recorded")),
    ("unknown", _("Don't know")),
]
INVESTIGATION: Choices = [
    ("none", _("None")),
    ("open", _("Open")),
    ("suspect_identified", _("Suspect identified")),
    ("charged", _("Charged")),
    ("closed_no_further_action", _("Closed, no further action")),
    ("unknown", _("Don't know")),
]
# Who wrote a police-response ledger row.
POLICE_ENTERED_BY: Choices = [
    ("reporter", _("The reporter")),
    ("caseworker", _("A caseworker")),
    ("police", _("The police liaison")),
]
# Outcomes over time: each is a yes/no answer on a ledger row (None: not said).
POLICE_OUTCOMES: Choices = [
    ("apology_received", _("The police apologised")),
    ("complaint_made", _("A complaint was made about the police")),
    ("complaint_upheld", _("The complaint was upheld")),
    ("meeting_held", _("A meeting with the police took place")),
    ("victim_withdrew", _("The person targeted withdrew from the police process")),
]
# TAXONOMY.md: hours until police made contact after the report, against a 48 h benchmark.
POLICE_CONTACT_BENCHMARK_HOURS = 48

STATUSES: Choices = [
    ("new", _("New")),
    ("triaged", _("Triaged")),
    ("in_support", _("In support")),
    ("referred_to_police", _("Referred to police")),
    ("police_investigating", _("Police investigating")),
    ("closed", _("Closed")),
]
PRIORITIES: Choices = [
    ("urgent", _("Urgent")),
    ("high", _("High")),
    ("normal", _("Normal")),
    ("low", _("Low")),
]
PRIORITY_RANK = {"urgent": 0, "high": 1, "normal": 2, "low": 3}

# Multi-select answers live in ReportCode rows so they can be filtered and counted.
MULTI_DIMENSIONS: dict[str, Choices] = {
    "incident_type": INCIDENT_TYPES,
    "bias": BIAS_MOTIVATIONS,
    "bias_indicator": BIAS_INDICATORS,
    "bias_perceived_by": BIAS_PERCEIVED_BY,
    "bystander_action": BYSTANDER_ACTIONS,
    "support_wanted": SUPPORT_WANTED,
}


def codes(choices: Choices) -> list[str]:
    return [code for code, _label in choices]


def label(choices: Choices, code: str | None) -> str:
    for c, lab in choices:
        if c == code:
            return str(lab)
    return ""
