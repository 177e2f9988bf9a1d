"""Where a staff login lands after the second factor: caseworkers at the triage queue,
police liaisons at the reports shared with police."""

from __future__ import annotations

from typing import Any

import pytest

from homesafe.accounts.models import Role
from homesafe.accounts.services import membership_grant


def log_in_fully(client: Any, personas: Any, user: Any) -> str:
    login = client.post("/account/login/", {"email": user.email, "password": personas.password})
    assert login.status_code == 302
    verify = client.post(login["Location"], {"token": personas.totp_now(user)})
    assert verify.status_code == 302
    return str(verify["Location"])


@pytest.mark.parametrize(("role", "landing"), [("caseworker", "/case/"), ("police", "/police/")])
def test_it_lands_staff_where_their_work_is(
    client: Any, personas: Any, role: str, landing: str
) -> None:
    assert log_in_fully(client, personas, getattr(personas, role)) == landing
    assert client.get(landing).status_code == 200


def test_it_lands_a_liaison_who_is_also_a_caseworker_at_the_queue(
    client: Any, personas: Any
) -> None:
    membership_grant(user=personas.police, organisation=personas.org, role=Role.CASEWORKER)
    assert log_in_fully(client, personas, personas.police) == "/case/"


def test_it_shows_the_liaison_a_nav_entry(client: Any, personas: Any, verified_login: Any) -> None:
    verified_login(client, personas.police)
    assert b'href="/police/"' in client.get("/").content
    verified_login(client, personas.caseworker)
    assert b'href="/police/"' not in client.get("/").content
