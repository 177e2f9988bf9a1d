"""Who may reach case data: every role against every case endpoint, on the web and the API,
plus the audit trail that staff reads and writes leave, and the queue's filters."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from homesafe.audit.models import AuditEntry
from homesafe.audit.services import audit_verify
from homesafe.reports import services
from homesafe.reports.models import CaseNote, Message, Report
from homesafe.reports.schemas import ReportIn


def make_report(org: Any, **fields: Any) -> Report:
    status = fields.pop("status", None)
    data = ReportIn.model_validate({"reporter_role": "victim", "organisation": org.slug, **fields})
    report = services.report_submit(data=data).report
    if status:
        Report.objects.filter(pk=report.pk).update(status=status)
        report.refresh_from_db()
    return report


@pytest.fixture
def report(personas: Any) -> Report:
    return make_report(personas.org, narrative="They followed us down the street.",
                       incident_types=["followed_pursued"], bias=["gay"])


@pytest.fixture
def foreign_report(personas: Any) -> Report:
    return make_report(personas.other_org, narrative="Elsewhere.")


# --- roles ------------------------------------------------------------------------------------

ALLOWED = ["caseworker", "admin"]
DENIED = ["stranger", "member", "volunteer", "police", "other_caseworker"]
ROLES = ["anonymous", *DENIED, *ALLOWED, "caseworker_unverified"]


def as_role(client: Any, personas: Any, role: str, verified_login: Any) -> Any:
    if role == "anonymous":
        return client
    if role == "caseworker_unverified":
        client.force_login(personas.caseworker)  # password step only: no second factor yet
        return client
    return verified_login(client, getattr(personas, role))


# --- endpoints --------------------------------------------------------------------------------


class Endpoint:
    def __init__(self, name: str, method: str, url: str, payload: dict[str, Any] | None = None,
                 *, api: bool, write: bool, ok: int) -> None:
        self.name, self.method, self.url, self.payload = name, method, url, payload
        self.api, self.write, self.ok = api, write, ok
        self.object = "{id}" in url

    def __repr__(self) -> str:
        return self.name

    def call(self, client: Any, report_id: object = "") -> Any:
        url = self.url.format(id=report_id)
        if self.method == "get":
            return client.get(url)
        if self.api:
            return getattr(client, self.method)(
                url, data=json.dumps(self.payload or {}), content_type="application/json"
            )
        return client.post(url, data=self.payload or {})


ENDPOINTS = [
    Endpoint("web queue", "get", "/case/", api=False, write=False, ok=200),
    Endpoint("web case", "get", "/case/{id}/", api=False, write=False, ok=200),
    Endpoint("web update", "post", "/case/{id}/update/",
             {"status": "triaged", "priority": "urgent"}, api=False, write=True, ok=302),
    Endpoint("web note", "post", "/case/{id}/note/", {"body": "Called back, no answer."},
             api=False, write=True, ok=302),
    Endpoint("web reply", "post", "/case/{id}/reply/", {"body": "We are here for you."},
             api=False, write=True, ok=302),
    Endpoint("api queue", "get", "/api/case/reports", api=True, write=False, ok=200),
    Endpoint("api case", "get", "/api/case/reports/{id}", api=True, write=False, ok=200),
    Endpoint("api update", "patch", "/api/case/reports/{id}",
             {"status": "triaged", "priority": "urgent"}, api=True, write=True, ok=200),
    Endpoint("api note", "post", "/api/case/reports/{id}/notes",
             {"body": "Called back, no answer."}, api=True, write=True, ok=201),
    Endpoint("api reply", "post", "/api/case/reports/{id}/messages",
             {"body": "We are here for you."}, api=True, write=True, ok=201),
]
OBJECT_ENDPOINTS = [e for e in ENDPOINTS if e.object]
WRITES = [e for e in ENDPOINTS if e.write]


def snapshot(report: Report) -> dict[str, Any]:
    fresh = Report.objects.get(pk=report.pk)
    return {
        "report": (fresh.status, fresh.priority, fresh.assignee_id, fresh.updated_at),
        "notes": CaseNote.objects.count(),
        "messages": Message.objects.count(),
        "audit": AuditEntry.objects.count(),
    }


# --- the matrix -------------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=repr)
@pytest.mark.parametrize("role", ROLES)
def test_it_enforces_the_access_matrix(
    client: Any, personas: Any, verified_login: Any, report: Report, role: str, endpoint: Endpoint
) -> None:
    as_role(client, personas, role, verified_login)
    before = snapshot(report)

    response = endpoint.call(client, report.pk)

    if role in ALLOWED:
        assert response.status_code == endpoint.ok, response.content[:500]
        if endpoint.ok == 302:
            assert response["Location"] == f"/case/{report.pk}/"
        if endpoint.name == "api queue":
            assert [r["id"] for r in response.json()] == [str(report.pk)]
    elif role == "anonymous":
        if endpoint.api:
            assert response.status_code == 401
            assert response.json()["error"] == "unauthenticated"
        else:
            assert response.status_code == 302
            assert response["Location"].startswith("/account/login/?next=")
    elif role == "caseworker_unverified":
        if endpoint.api:
            assert response.status_code == 403
            assert response.json()["error"] == "mfa_required"
        else:
            assert response.status_code == 302
            assert response["Location"].startswith("/account/mfa/verify/?next=")
    elif role == "other_caseworker" and not endpoint.object:
        # Their own organisation's queue, in which this organisation's report never appears.
        assert response.status_code == 200
        if endpoint.api:
            assert response.json() == []
        assert str(report.pk) not in response.content.decode()
    else:
        assert response.status_code == 404, response.content[:500]
        if endpoint.api:
            assert response.json()["error"] == "not_found"

    if role not in ALLOWED:
        assert str(report.pk) not in response.content.decode()
        assert "followed us" not in response.content.decode()
        if endpoint.write:
            assert snapshot(report) == before
        else:
            # Nothing about this report was read (a caseworker's own queue view is audited).
            new = AuditEntry.objects.order_by("seq")[before["audit"]:]
            assert [e.action for e in new] in ([], ["queue.view"])


@pytest.mark.parametrize("endpoint", OBJECT_ENDPOINTS, ids=repr)
@pytest.mark.parametrize("role", ROLES)
def test_it_answers_a_foreign_report_like_a_missing_one(
    client: Any,
    personas: Any,
    verified_login: Any,
    report: Report,
    foreign_report: Report,
    role: str,
    endpoint: Endpoint,
) -> None:
    """An id the caller may not open, an id that does not exist and garbage look the same."""
    as_role(client, personas, role, verified_login)
    hidden = make_report(personas.org, consent_caseworkers=False)
    theirs = report if role not in ALLOWED else foreign_report
    ids = [theirs.pk, uuid.uuid4(), "not-a-report", "1", str(theirs.pk).upper()[:-1] + "0"]
    if role in ALLOWED:
        ids.append(hidden.pk)  # their organisation's, but the reporter did not consent

    answers = []
    for report_id in ids:
        response = endpoint.call(client, report_id)
        body = response.json() if endpoint.api and response.status_code != 302 else None
        answers.append((response.status_code, body))

    statuses = {status for status, _body in answers}
    assert len(statuses) == 1, answers
    if role in ALLOWED or role in DENIED:
        assert statuses == {404}
    if endpoint.api:
        assert len({json.dumps(body) for _status, body in answers}) == 1, answers


# --- audit ------------------------------------------------------------------------------------


def newest_entries(since: int) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(seq__gt=since).order_by("seq"))


def head_seq() -> int:
    last = AuditEntry.objects.order_by("-seq").first()
    return last.seq if last else 0


@pytest.mark.parametrize("url", ["/case/{id}/", "/api/case/reports/{id}"])
@pytest.mark.parametrize("role", ALLOWED)
def test_it_audits_every_staff_read(
    client: Any, personas: Any, verified_login: Any, report: Report, role: str, url: str
) -> None:
    user = getattr(personas, role)
    verified_login(client, user)
    for expected in (1, 2):
        since = head_seq()
        assert client.get(url.format(id=report.pk)).status_code == 200
        entries = newest_entries(since)
        assert [e.action for e in entries] == ["report.view"], expected
        entry = entries[0]
        assert (entry.actor_kind, entry.actor_id) == ("user", user.pk)
        assert entry.object_type == "report"
        assert entry.object_id == str(report.pk)
        assert entry.organisation_id == personas.org.pk
        # Ids and codes only: never what the report says.
        assert "followed" not in json.dumps(entry.data)
    assert audit_verify().ok


@pytest.mark.parametrize("web", [True, False])
def test_it_audits_a_status_change(
    client: Any, personas: Any, verified_login: Any, report: Report, web: bool
) -> None:
    verified_login(client, personas.caseworker)
    since = head_seq()
    if web:
        response = client.post(f"/case/{report.pk}/update/", {"status": "in_support"})
        assert response.status_code == 302
    else:
        response = client.patch(f"/api/case/reports/{report.pk}",
                                data=json.dumps({"status": "in_support"}),
                                content_type="application/json")
        assert response.status_code == 200
        assert response.json()["status"] == "in_support"

    report.refresh_from_db()
    assert report.status == "in_support"
    changes = [e for e in newest_entries(since) if e.action == "report.status_change"]
    assert len(changes) == 1
    assert changes[0].data == {"from": "new", "to": "in_support"}
    assert changes[0].actor_id == personas.caseworker.pk
    assert changes[0].object_id == str(report.pk)
    assert audit_verify().ok


def test_it_audits_priority_and_assignee_changes(
    client: Any, personas: Any, verified_login: Any, report: Report
) -> None:
    verified_login(client, personas.admin)
    since = head_seq()
    response = client.patch(
        f"/api/case/reports/{report.pk}",
        data=json.dumps({"priority": "urgent", "assignee_id": personas.caseworker.pk}),
        content_type="application/json",
    )
    assert response.status_code == 200
    actions = {e.action: e.data for e in newest_entries(since)}
    assert actions["report.priority_change"] == {"from": "normal", "to": "urgent"}
    assert actions["report.assignee_change"] == {"from": None, "to": personas.caseworker.pk}


@pytest.mark.parametrize("assignee", ["member", "other_caseworker", "police"])
def test_it_refuses_an_assignee_outside_the_case_team(
    client: Any, personas: Any, verified_login: Any, report: Report, assignee: str
) -> None:
    verified_login(client, personas.caseworker)
    before = snapshot(report)
    since = head_seq()
    response = client.patch(
        f"/api/case/reports/{report.pk}",
        data=json.dumps({"assignee_id": getattr(personas, assignee).pk}),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["field"] == "assignee_id"
    # Opening the report for the update is audited; nothing else changed.
    assert snapshot(report)["report"] == before["report"]
    assert [e.action for e in newest_entries(since)] == ["report.update"]


@pytest.mark.parametrize(
    ("payload", "status"),
    [({"status": "solved"}, 422), ({"priority": "meh"}, 422), ({"colour": "red"}, 422),
     ({"assignee_id": "me"}, 422)],
)
def test_it_refuses_bad_triage_input_and_changes_nothing(
    client: Any, personas: Any, verified_login: Any, report: Report,
    payload: dict[str, Any], status: int,
) -> None:
    verified_login(client, personas.caseworker)
    before = snapshot(report)
    response = client.patch(f"/api/case/reports/{report.pk}", data=json.dumps(payload),
                            content_type="application/json")
    assert response.status_code == status
    assert response.json()["message"]
    assert snapshot(report) == before


@pytest.mark.parametrize("field", ["status", "priority"])
def test_it_refuses_bad_triage_input_on_the_web(
    client: Any, personas: Any, verified_login: Any, report: Report, field: str
) -> None:
    verified_login(client, personas.caseworker)
    before = snapshot(report)
    response = client.post(f"/case/{report.pk}/update/", {field: "bogus"})
    assert response.status_code == 400
    after = snapshot(report)
    assert after["report"] == before["report"]
    assert (after["notes"], after["messages"]) == (before["notes"], before["messages"])


@pytest.mark.parametrize("web", [True, False])
def test_it_audits_mailbox_messages_both_ways(
    client: Any, personas: Any, verified_login: Any, web: bool
) -> None:
    submitted = services.report_submit(
        data=ReportIn.model_validate({"reporter_role": "witness", "organisation": "rainbow"})
    )
    report = submitted.report
    since = head_seq()
    reporter = client.post("/api/reports/messages",
                           data=json.dumps({"code": submitted.reference_code, "body": "Hello?"}),
                           content_type="application/json")
    assert reporter.status_code == 201

    verified_login(client, personas.caseworker)
    if web:
        assert client.post(f"/case/{report.pk}/reply/", {"body": "Hi, I'm Ana."}).status_code == 302
    else:
        reply = client.post(f"/api/case/reports/{report.pk}/messages",
                            data=json.dumps({"body": "Hi, I'm Ana."}),
                            content_type="application/json")
        assert reply.status_code == 201

    entries = newest_entries(since)
    mailbox = [(e.action, e.actor_kind, e.actor_id) for e in entries
               if e.action.startswith("mailbox.")]
    assert mailbox == [
        ("mailbox.reporter_message", "reporter", None),
        ("mailbox.caseworker_message", "user", personas.caseworker.pk),
    ]
    message_ids = {str(m.pk) for m in Message.objects.filter(report=report)}
    assert {e.data["message"] for e in entries if e.action.startswith("mailbox.")} == message_ids
    assert [(m.sender, m.body) for m in Message.objects.filter(report=report)
            .order_by("created_at")] == [("reporter", "Hello?"), ("caseworker", "Hi, I'm Ana.")]
    assert audit_verify().ok


def test_it_audits_notes_and_keeps_them_from_the_reporter(
    client: Any, personas: Any, verified_login: Any
) -> None:
    submitted = services.report_submit(
        data=ReportIn.model_validate({"reporter_role": "victim", "organisation": "rainbow"})
    )
    verified_login(client, personas.caseworker)
    since = head_seq()
    response = client.post(f"/api/case/reports/{submitted.report.pk}/notes",
                           data=json.dumps({"body": "Possible duplicate of last week's."}),
                           content_type="application/json")
    assert response.status_code == 201
    assert [e.action for e in newest_entries(since)] == ["report.note", "report.note_add"]

    client.logout()
    lookup = client.post("/api/reports/lookup",
                         data=json.dumps({"code": submitted.reference_code}),
                         content_type="application/json")
    assert "duplicate" not in lookup.content.decode()


@pytest.mark.parametrize(
    ("url", "body"),
    [("/api/case/reports/{id}/notes", ""), ("/api/case/reports/{id}/notes", "   "),
     ("/api/case/reports/{id}/messages", ""), ("/api/case/reports/{id}/messages", "x" * 20001)],
)
def test_it_refuses_empty_or_oversize_staff_text(
    client: Any, personas: Any, verified_login: Any, report: Report, url: str, body: str
) -> None:
    verified_login(client, personas.caseworker)
    before = snapshot(report)
    response = client.post(url.format(id=report.pk), data=json.dumps({"body": body}),
                           content_type="application/json")
    assert response.status_code == 422
    assert snapshot(report) == before


@pytest.mark.parametrize("path", ["note", "reply"])
@pytest.mark.parametrize("body", ["", "  ", "x" * 20001])
def test_it_refuses_empty_or_oversize_staff_text_on_the_web(
    client: Any, personas: Any, verified_login: Any, report: Report, path: str, body: str
) -> None:
    verified_login(client, personas.caseworker)
    before = snapshot(report)
    response = client.post(f"/case/{report.pk}/{path}/", {"body": body})
    assert response.status_code == 400
    after = snapshot(report)
    assert (after["notes"], after["messages"]) == (before["notes"], before["messages"])


def test_it_shows_the_case_to_the_caseworker(
    client: Any, personas: Any, verified_login: Any
) -> None:
    report = make_report(
        personas.org,
        identity_level="identified",
        contact={"name": "Rua", "phone": "+64 21 555 0101"},
        narrative="They shouted at us outside the bar.",
        location={"lat": -41.2866, "lng": 174.7756},
        location_precision="neighbourhood",
    )
    verified_login(client, personas.caseworker)
    body = client.get(f"/api/case/reports/{report.pk}").json()
    assert body["narrative"] == "They shouted at us outside the bar."
    assert body["contact"]["name"] == "Rua"
    assert body["location_precision"] == "neighbourhood"
    assert body["point"] == report.point
    assert body["h3_cell"]
    page = client.get(f"/case/{report.pk}/")
    assert page.status_code == 200
    assert "They shouted at us outside the bar." in page.content.decode()
    assert page["Cache-Control"] == "no-store"


# --- the queue --------------------------------------------------------------------------------


def days_ago(n: int) -> str:
    return (timezone.now().date() - dt.timedelta(days=n)).isoformat()


@pytest.fixture
def queue_reports(personas: Any) -> dict[str, Report]:
    org = personas.org
    reports = {
        "old_gay": make_report(org, bias=["gay"], incident_types=["verbal_abuse_slurs"],
                               occurred_on=days_ago(100)),
        "assault": make_report(org, bias=["transgender"], incident_types=["physical_assault"],
                               occurred_on=days_ago(70), status="triaged"),
        "closed": make_report(org, bias=["gay", "lesbian"], incident_types=["spat_on"],
                              occurred_on=days_ago(40), status="closed"),
        "bare": make_report(org),
    }
    Report.objects.filter(pk=reports["closed"].pk).update(priority="low", priority_rank=3)
    # Both would match every filter below; neither may ever be listed.
    for extra in (
        make_report(personas.other_org, bias=["gay"], incident_types=["spat_on"],
                    occurred_on=days_ago(70)),
        make_report(org, bias=["gay"], incident_types=["spat_on"], occurred_on=days_ago(70),
                    consent_caseworkers=False),
    ):
        Report.objects.filter(pk=extra.pk).update(status="triaged")
    return reports


QUEUE_FILTERS: list[tuple[dict[str, Any], set[str]]] = [
    ({}, {"old_gay", "assault", "closed", "bare"}),
    ({"status": "triaged"}, {"assault"}),
    ({"status": "new"}, {"old_gay", "bare"}),
    ({"priority": "high"}, {"assault"}),
    ({"priority": "low"}, {"closed"}),
    ({"bias": "gay"}, {"old_gay", "closed"}),
    ({"bias": "lesbian"}, {"closed"}),
    ({"bias": "asexual"}, set()),
    ({"incident_type": "spat_on"}, {"closed"}),
    ({"incident_type": "physical_assault"}, {"assault"}),
    ({"date_from": 80}, {"assault", "closed"}),
    ({"date_to": 50}, {"old_gay", "assault"}),
    ({"date_from": 80, "date_to": 50}, {"assault"}),
    ({"bias": "gay", "status": "closed"}, {"closed"}),
    ({"bias": "gay", "incident_type": "verbal_abuse_slurs", "date_to": 90}, {"old_gay"}),
]


def as_query(filters: dict[str, Any]) -> dict[str, str]:
    return {k: days_ago(v) if k.startswith("date_") else v for k, v in filters.items()}


def filter_id(case: tuple[dict[str, Any], set[str]]) -> str:
    return "&".join(f"{k}={v}" for k, v in case[0].items()) or "none"


@pytest.mark.parametrize(("filters", "expected"), QUEUE_FILTERS,
                         ids=[filter_id(c) for c in QUEUE_FILTERS])
def test_it_filters_the_queue_exactly(
    client: Any, personas: Any, verified_login: Any, queue_reports: dict[str, Report],
    filters: dict[str, Any], expected: set[str],
) -> None:
    verified_login(client, personas.caseworker)
    wanted = {str(queue_reports[name].pk) for name in expected}
    query = as_query(filters)

    api = client.get("/api/case/reports", query)
    assert api.status_code == 200
    api_ids = [row["id"] for row in api.json()]
    assert len(api_ids) == len(set(api_ids))
    assert set(api_ids) == wanted

    web = client.get("/case/", query)
    assert web.status_code == 200
    web_ids = [str(r.pk) for r in web.context["page"].object_list]
    assert len(web_ids) == len(set(web_ids))
    assert set(web_ids) == wanted
    assert web.context["page"].paginator.count == len(wanted)


def test_it_orders_the_queue_most_urgent_first(
    client: Any, personas: Any, verified_login: Any, queue_reports: dict[str, Report]
) -> None:
    verified_login(client, personas.caseworker)
    rows = client.get("/api/case/reports").json()
    ranks = [{"urgent": 0, "high": 1, "normal": 2, "low": 3}[row["priority"]] for row in rows]
    assert ranks == sorted(ranks)
    assert rows[0]["id"] == str(queue_reports["assault"].pk)


def test_it_filters_by_assignee(
    client: Any, personas: Any, verified_login: Any, queue_reports: dict[str, Report]
) -> None:
    Report.objects.filter(pk=queue_reports["bare"].pk).update(assignee=personas.caseworker)
    Report.objects.filter(pk=queue_reports["closed"].pk).update(assignee=personas.admin)
    verified_login(client, personas.caseworker)
    mine = client.get("/api/case/reports", {"assignee": "me"}).json()
    assert [r["id"] for r in mine] == [str(queue_reports["bare"].pk)]
    nobody = client.get("/api/case/reports", {"assignee": "none"}).json()
    assert {r["id"] for r in nobody} == {str(queue_reports[n].pk) for n in ("old_gay", "assault")}


def test_it_shows_an_admin_of_two_organisations_both_queues(
    client: Any, personas: Any, verified_login: Any, queue_reports: dict[str, Report]
) -> None:
    from homesafe.accounts.models import Role
    from homesafe.accounts.services import membership_grant

    membership_grant(user=personas.admin, organisation=personas.other_org, role=Role.CASEWORKER)
    verified_login(client, personas.admin)
    rows = client.get("/api/case/reports").json()
    assert len(rows) == 5  # four of the organisation's, one of the other's
    # The report withheld from caseworkers stays withheld.
    assert not Report.objects.filter(pk__in=[r["id"] for r in rows],
                                     consent_caseworkers=False).exists()


def test_it_pages_the_api_queue(
    client: Any, personas: Any, verified_login: Any, queue_reports: dict[str, Report]
) -> None:
    verified_login(client, personas.caseworker)
    everything = [r["id"] for r in client.get("/api/case/reports").json()]
    first = [r["id"] for r in client.get("/api/case/reports", {"limit": 2}).json()]
    rest = [r["id"] for r in client.get("/api/case/reports", {"limit": 2, "offset": 2}).json()]
    assert first + rest == everything
    assert client.get("/api/case/reports", {"limit": 0}).status_code == 422
    assert client.get("/api/case/reports", {"limit": 201}).status_code == 422
    assert client.get("/api/case/reports", {"status": "nonsense"}).status_code == 422
    assert client.get("/api/case/reports", {"date_from": "yesterday"}).status_code == 422


def many_reports(org: Any, count: int) -> None:
    for i in range(count):
        make_report(
            org,
            bias=["gay", "transgender"] if i % 2 else ["lesbian"],
            incident_types=["verbal_abuse_slurs", "spat_on"],
            occurred_on=days_ago(i + 1),
        )


def test_it_reads_the_api_queue_in_a_bounded_number_of_queries(
    client: Any, personas: Any, verified_login: Any, django_assert_max_num_queries: Any
) -> None:
    many_reports(personas.org, 3)
    verified_login(client, personas.caseworker)
    client.get("/api/case/reports")  # the first request starts the staff session clock
    with CaptureQueriesContext(connection) as few:
        assert len(client.get("/api/case/reports").json()) == 3

    many_reports(personas.org, 27)
    Report.objects.filter(organisation=personas.org).update(assignee=personas.admin)
    with django_assert_max_num_queries(12):
        rows = client.get("/api/case/reports").json()
    assert len(rows) == 30
    assert all(row["bias"] and row["incident_types"] for row in rows)
    with CaptureQueriesContext(connection) as many:
        client.get("/api/case/reports")
    assert len(many.captured_queries) == len(few.captured_queries)


def test_it_renders_the_web_queue_in_a_bounded_number_of_queries(
    client: Any, personas: Any, verified_login: Any, django_assert_max_num_queries: Any
) -> None:
    many_reports(personas.org, 3)
    verified_login(client, personas.caseworker)
    client.get("/case/")  # the first request starts the staff session clock
    with CaptureQueriesContext(connection) as few:
        assert client.get("/case/").status_code == 200

    many_reports(personas.org, 27)
    Report.objects.filter(organisation=personas.org).update(assignee=personas.admin)
    with CaptureQueriesContext(connection) as many:
        response = client.get("/case/")
    assert response.status_code == 200
    assert len(response.context["page"].object_list) == 25
    assert len(many.captured_queries) == len(few.captured_queries)
    with django_assert_max_num_queries(20):
        client.get("/case/", {"page": 2})
