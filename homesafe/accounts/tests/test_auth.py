"""Logging in: passwords, brute-force lockout, short staff sessions and the second factor."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.conf import settings as project_settings
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.test import override_settings
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from homesafe.accounts.middleware import STAFF_STARTED
from homesafe.accounts.models import Role, User
from homesafe.accounts.services import membership_grant, recovery_codes_replace, user_create
from homesafe.audit.models import AuditEntry
from homesafe.common.errors import DomainError

LOGIN = "/account/login/"
LOGOUT = "/account/logout/"
MFA_SETUP = "/account/mfa/setup/"
MFA_VERIFY = "/account/mfa/verify/"
BAD_LOGIN = "That email and password do not match an account."
PASSWORD = "correct horse battery staple"
# The project's real hashers, read before any test swaps them for a cheap one.
PROJECT_HASHERS = list(project_settings.PASSWORD_HASHERS)
T0 = dt.datetime(2025, 6, 1, 9, 0, tzinfo=dt.UTC)


def log_in(client: Any, email: str, password: str = PASSWORD, **extra: Any) -> Any:
    return client.post(LOGIN, {"email": email, "password": password}, **extra)


def logged_in_as(client: Any) -> int | None:
    value = client.session.get("_auth_user_id")
    return int(value) if value is not None else None


def code_for(device: TOTPDevice, *, offset: int = 0) -> str:
    value = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits,
                 drift=offset)
    return f"{value:06d}"


def a_wrong_code(device: TOTPDevice) -> str:
    """A six-digit code the device will not accept now (outside its tolerance window)."""
    accepted = {code_for(device, offset=o) for o in range(-device.tolerance, device.tolerance + 1)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in accepted)


@pytest.fixture
def newcomer(personas: Any) -> User:
    """A caseworker who has never set up a second factor."""
    user = personas.make_user("newcomer@example.org")
    membership_grant(user=user, organisation=personas.org, role=Role.CASEWORKER)
    return user


# --- passwords --------------------------------------------------------------------------------


def test_it_logs_a_member_in_with_email_and_password(client: Any, personas: Any) -> None:
    response = log_in(client, "member@example.org")
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert logged_in_as(client) == personas.member.pk


def test_it_ignores_the_case_of_the_email(client: Any, personas: Any) -> None:
    response = log_in(client, "  Member@Example.ORG ")
    assert response.status_code == 302
    assert logged_in_as(client) == personas.member.pk


@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("member@example.org", "wrong password entirely"),
        ("member@example.org", ""),
        ("nobody@example.org", PASSWORD),  # same answer: no hint that an account exists
        ("", ""),
    ],
)
def test_it_refuses_a_wrong_password(client: Any, personas: Any, email: str, password: str) -> None:
    response = log_in(client, email, password)
    assert response.status_code == 400
    assert BAD_LOGIN in response.content.decode()
    assert logged_in_as(client) is None


def test_it_refuses_an_inactive_account(client: Any, personas: Any) -> None:
    User.objects.filter(pk=personas.member.pk).update(is_active=False)
    response = log_in(client, "member@example.org")
    assert response.status_code == 400
    assert logged_in_as(client) is None


def test_it_rotates_the_session_id_at_login(client: Any, personas: Any) -> None:
    # An anonymous session first, as a visitor who followed up a report would have.
    anonymous = client.session
    anonymous["planted"] = "by someone else"
    anonymous.save()
    before = client.cookies["sessionid"].value

    assert log_in(client, "member@example.org").status_code == 302

    after = client.cookies["sessionid"].value
    assert after and after != before
    from django.contrib.sessions.backends.db import SessionStore

    assert not SessionStore().exists(before)


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "javascript:x"])
def test_it_never_redirects_off_site_after_login(client: Any, personas: Any, target: str) -> None:
    response = client.post(LOGIN, {"email": "member@example.org", "password": PASSWORD,
                                   "next": target})
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_it_follows_a_local_next_after_login(client: Any, personas: Any) -> None:
    response = client.post(f"{LOGIN}?next=/report/", {"email": "member@example.org",
                                                      "password": PASSWORD})
    assert response["Location"] == "/report/"


def test_it_hashes_passwords_with_argon2(settings: Any, db: Any) -> None:
    settings.PASSWORD_HASHERS = PROJECT_HASHERS
    assert "Argon2" in PROJECT_HASHERS[0]
    user = user_create(email="New.Person@Example.org", password="plum tree under moonlight")
    user.refresh_from_db()
    assert user.email == "new.person@example.org"
    assert user.password.startswith("argon2")
    assert "plum tree" not in user.password
    assert user.check_password("plum tree under moonlight")


def test_it_upgrades_an_old_hash_to_argon2_at_login(client: Any, settings: Any, db: Any) -> None:
    settings.PASSWORD_HASHERS = PROJECT_HASHERS
    user = User.objects.create(email="legacy@example.org",
                               password=make_password(PASSWORD, hasher="pbkdf2_sha256"))
    assert user.password.startswith("pbkdf2_sha256")
    assert log_in(client, "legacy@example.org").status_code == 302
    user.refresh_from_db()
    assert user.password.startswith("argon2")


@pytest.mark.parametrize(
    "password",
    [
        "password",  # common
        "Xy7!q",  # short
        "short1!",  # shorter than ten
        "31415926535897",  # only digits
        "alexander.hamilton",  # too like the email
        "qwertyuiop",  # common
    ],
)
def test_it_refuses_weak_passwords(db: Any, password: str) -> None:
    with pytest.raises((ValidationError, DomainError)):
        user_create(email="alexander.hamilton@example.org", password=password)
    assert not User.objects.filter(email="alexander.hamilton@example.org").exists()


def test_it_refuses_a_second_account_with_the_same_email(personas: Any) -> None:
    with pytest.raises(DomainError) as caught:
        user_create(email="MEMBER@example.org", password="plum tree under moonlight")
    assert caught.value.field == "email"


# --- brute force ------------------------------------------------------------------------------


def test_it_locks_out_after_too_many_failures(client: Any, personas: Any) -> None:
    limit = project_settings.AXES_FAILURE_LIMIT
    statuses = [log_in(client, "member@example.org", f"guess {i}").status_code
                for i in range(limit)]
    assert statuses == [400] * (limit - 1) + [429]

    locked = log_in(client, "member@example.org", "another guess")
    assert locked.status_code == 429
    assert "Too many attempts" in locked.content.decode()
    # The right password does not get through while locked.
    assert log_in(client, "member@example.org").status_code == 429
    assert logged_in_as(client) is None


def test_it_keeps_the_lockout_when_x_forwarded_for_rotates(client: Any, personas: Any) -> None:
    limit = project_settings.AXES_FAILURE_LIMIT
    for i in range(limit + 3):
        response = log_in(client, "member@example.org", f"guess {i}",
                          HTTP_X_FORWARDED_FOR=f"203.0.113.{i + 1}")
        assert response.status_code == (400 if i < limit - 1 else 429), i
    right = log_in(client, "member@example.org", HTTP_X_FORWARDED_FOR="203.0.113.200")
    assert right.status_code == 429
    assert logged_in_as(client) is None


def test_it_locks_the_account_against_guesses_from_many_addresses(
    client: Any, personas: Any
) -> None:
    """A botnet: every attempt really comes from a different address."""
    limit = project_settings.AXES_FAILURE_LIMIT
    for i in range(limit):
        log_in(client, "member@example.org", f"guess {i}", REMOTE_ADDR=f"198.51.100.{i + 1}")
    response = log_in(client, "member@example.org", REMOTE_ADDR="198.51.100.99")
    assert response.status_code == 429
    assert logged_in_as(client) is None


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_it_keeps_the_account_lock_behind_a_trusted_proxy(client: Any, personas: Any) -> None:
    limit = project_settings.AXES_FAILURE_LIMIT
    for i in range(limit):
        log_in(client, "member@example.org", f"guess {i}", HTTP_X_FORWARDED_FOR=f"192.0.2.{i}")
    response = log_in(client, "member@example.org", HTTP_X_FORWARDED_FOR="192.0.2.200")
    assert response.status_code == 429


def test_it_locks_an_address_that_tries_many_accounts(client: Any, personas: Any) -> None:
    limit = project_settings.AXES_FAILURE_LIMIT
    for i in range(limit):
        log_in(client, f"victim{i}@example.org", "Summer2025!")
    # Even a real account with its right password is refused from that address for now.
    assert log_in(client, "volunteer@example.org").status_code == 429
    # Someone else, elsewhere, is not affected.
    assert log_in(client, "member@example.org", REMOTE_ADDR="198.51.100.5").status_code == 302


@pytest.mark.parametrize("password", [PASSWORD, "a wrong one"])
def test_it_copes_with_a_request_that_has_no_peer_address(
    client: Any, personas: Any, password: str
) -> None:
    """Served over a unix socket there is no REMOTE_ADDR; the login log must still be written."""
    response = log_in(client, "member@example.org", password, REMOTE_ADDR="")
    assert response.status_code == (302 if password == PASSWORD else 400)


@override_settings(TRUSTED_PROXY_COUNT=1)
@pytest.mark.parametrize("forwarded", ["not-an-address", "", "203.0.113.9, junk"])
def test_it_copes_with_a_proxy_header_that_is_not_an_address(
    client: Any, personas: Any, forwarded: str
) -> None:
    response = log_in(client, "member@example.org", "a wrong one", HTTP_X_FORWARDED_FOR=forwarded)
    assert response.status_code == 400
    assert log_in(client, "member@example.org", HTTP_X_FORWARDED_FOR=forwarded).status_code == 302


def test_it_lifts_the_lockout_after_the_cool_off(client: Any, personas: Any) -> None:
    limit = project_settings.AXES_FAILURE_LIMIT
    with time_machine.travel(T0, tick=False) as traveller:
        for i in range(limit):
            log_in(client, "member@example.org", f"guess {i}")
        assert log_in(client, "member@example.org").status_code == 429
        traveller.shift(dt.timedelta(minutes=16))
        assert log_in(client, "member@example.org").status_code == 302
        assert logged_in_as(client) == personas.member.pk


# --- session length ---------------------------------------------------------------------------


def test_it_gives_staff_a_short_session(client: Any, personas: Any) -> None:
    response = log_in(client, "caseworker@example.org")
    assert response.status_code == 302
    assert client.session.get_expiry_age() <= 12 * 3600
    assert client.session.get_expiry_age() == project_settings.STAFF_SESSION_SECONDS
    assert client.session.get(STAFF_STARTED)


def test_it_does_not_shorten_a_members_session(client: Any, personas: Any) -> None:
    with time_machine.travel(T0, tick=False) as traveller:
        assert log_in(client, "member@example.org").status_code == 302
        assert client.session.get_expiry_age() == project_settings.SESSION_COOKIE_AGE
        assert STAFF_STARTED not in client.session
        traveller.shift(dt.timedelta(hours=13))
        assert client.get("/").status_code == 200
        assert logged_in_as(client) == personas.member.pk


def verified_staff_login(client: Any, personas: Any, user: Any) -> None:
    response = log_in(client, user.email)
    assert response["Location"].startswith(MFA_VERIFY)
    response = client.post(MFA_VERIFY, {"token": personas.totp_now(user)})
    assert response.status_code == 302, response.content


def test_it_logs_staff_out_when_the_staff_session_is_over(client: Any, personas: Any) -> None:
    with time_machine.travel(T0, tick=False) as traveller:
        verified_staff_login(client, personas, personas.caseworker)
        assert client.get("/case/").status_code == 200
        traveller.shift(dt.timedelta(seconds=project_settings.STAFF_SESSION_SECONDS - 60))
        assert client.get("/case/").status_code == 200
        traveller.shift(dt.timedelta(seconds=120))
        response = client.get("/case/")
        assert response.status_code == 302
        assert response["Location"].startswith(LOGIN)
        assert logged_in_as(client) is None


def test_it_logs_staff_out_by_the_started_stamp_alone(client: Any, personas: Any) -> None:
    """The middleware, not only the session's expiry date, ends a staff session."""
    with time_machine.travel(T0, tick=False) as traveller:
        verified_staff_login(client, personas, personas.caseworker)
        traveller.shift(dt.timedelta(hours=2))
        # Still well inside the session's own 12-hour expiry...
        assert client.session.get_expiry_age() > 3600
        with override_settings(STAFF_SESSION_SECONDS=3600):
            response = client.get("/case/")
            assert response.status_code == 302
            assert response["Location"].startswith(LOGIN)
        assert logged_in_as(client) is None
        assert client.get("/api/case/reports").status_code == 401


def test_it_leaves_members_alone_when_the_staff_limit_is_short(client: Any, personas: Any) -> None:
    with time_machine.travel(T0, tick=False) as traveller:
        log_in(client, "member@example.org")
        traveller.shift(dt.timedelta(hours=2))
        with override_settings(STAFF_SESSION_SECONDS=60):
            client.get("/")
        assert logged_in_as(client) == personas.member.pk


# --- second factor: enrolment -----------------------------------------------------------------


def test_it_sends_a_new_caseworker_to_set_up_a_second_factor(
    client: Any, personas: Any, newcomer: User
) -> None:
    response = log_in(client, "newcomer@example.org")
    assert response.status_code == 302
    assert response["Location"] == f"{MFA_SETUP}?next=/case/"

    queue = client.get("/case/")
    assert queue.status_code == 302
    assert queue["Location"].startswith(MFA_SETUP)
    api = client.get("/api/case/reports")
    assert api.status_code == 403
    assert api.json()["error"] == "mfa_required"


def test_it_enrols_an_authenticator_and_hands_out_recovery_codes(
    client: Any, personas: Any, newcomer: User
) -> None:
    with time_machine.travel(T0, tick=False) as traveller:
        log_in(client, "newcomer@example.org")
        page = client.get(MFA_SETUP)
        assert page.status_code == 200
        device = TOTPDevice.objects.get(user=newcomer)
        assert not device.confirmed
        assert page.context["secret"] in page.content.decode()
        # Reloading the page keeps the same secret: the app already scanned it.
        assert client.get(MFA_SETUP).context["secret"] == page.context["secret"]
        assert TOTPDevice.objects.filter(user=newcomer).count() == 1

        wrong = client.post(MFA_SETUP, {"token": a_wrong_code(device)})
        assert wrong.status_code == 400
        assert not TOTPDevice.objects.get(pk=device.pk).confirmed
        assert client.get("/case/").status_code == 302

        traveller.shift(dt.timedelta(seconds=5))  # past the throttle the wrong code earned
        done = client.post(MFA_SETUP, {"token": code_for(device)})
        assert done.status_code == 200
        recovery = done.context["codes"]
        assert len(recovery) == 10
        assert len(set(recovery)) == 10
        for code in recovery:
            assert code in done.content.decode()
        device.refresh_from_db()
        assert device.confirmed
        assert StaticToken.objects.filter(device__user=newcomer).count() == 10
        assert AuditEntry.objects.filter(action="mfa.enrol", object_id=str(newcomer.pk)).exists()

        assert client.get("/case/").status_code == 200
        assert client.get("/api/case/reports").status_code == 200


def test_it_does_not_let_a_password_alone_replace_the_second_factor(
    client: Any, personas: Any
) -> None:
    """Someone holding only a caseworker's password must not enrol their own authenticator."""
    original = TOTPDevice.objects.get(user=personas.caseworker, confirmed=True)
    log_in(client, "caseworker@example.org")

    page = client.get(MFA_SETUP)
    assert page.status_code == 302
    assert page["Location"].startswith(MFA_VERIFY)

    # Even with an unconfirmed device planted (an old, abandoned enrolment), posting its code
    # must not swap out the confirmed authenticator.
    planted = TOTPDevice.objects.create(user=personas.caseworker, name="x", confirmed=False)
    response = client.post(MFA_SETUP, {"token": code_for(planted)})
    assert response.status_code == 302
    assert response["Location"].startswith(MFA_VERIFY)
    assert TOTPDevice.objects.filter(pk=original.pk, confirmed=True).exists()
    assert not TOTPDevice.objects.get(pk=planted.pk).confirmed
    assert client.get("/case/")["Location"].startswith(MFA_VERIFY)


def test_it_lets_a_verified_caseworker_replace_their_authenticator(
    client: Any, personas: Any
) -> None:
    with time_machine.travel(T0, tick=False) as traveller:
        verified_staff_login(client, personas, personas.caseworker)
        page = client.get(MFA_SETUP)
        assert page.status_code == 200
        device = TOTPDevice.objects.get(user=personas.caseworker, confirmed=False)
        traveller.shift(dt.timedelta(seconds=31))
        assert client.post(MFA_SETUP, {"token": code_for(device)}).status_code == 200
        assert list(TOTPDevice.objects.filter(user=personas.caseworker)) == [device]


# --- second factor: each login ----------------------------------------------------------------


def test_it_asks_a_caseworker_with_an_authenticator_for_a_code(
    client: Any, personas: Any
) -> None:
    with time_machine.travel(T0, tick=False) as traveller:
        response = log_in(client, "caseworker@example.org")
        assert response.status_code == 302
        assert response["Location"] == f"{MFA_VERIFY}?next=/case/"
        assert client.get("/case/")["Location"].startswith(MFA_VERIFY)
        assert client.get("/api/case/reports").json()["error"] == "mfa_required"

        device = TOTPDevice.objects.get(user=personas.caseworker)
        wrong = client.post(MFA_VERIFY, {"token": a_wrong_code(device)})
        assert wrong.status_code == 400
        assert "did not match" in wrong.content.decode()
        assert AuditEntry.objects.filter(action="mfa.fail").count() == 1
        assert client.get("/case/").status_code == 302

        traveller.shift(dt.timedelta(seconds=5))
        right = client.post(MFA_VERIFY, {"token": personas.totp_now(personas.caseworker)})
        assert right.status_code == 302
        assert right["Location"] == "/case/"
        assert client.get("/case/").status_code == 200
        assert client.get("/api/case/reports").status_code == 200


def test_it_refuses_to_reuse_a_code_that_was_just_used(client: Any, personas: Any) -> None:
    with time_machine.travel(T0, tick=False):
        code = personas.totp_now(personas.caseworker)
        log_in(client, "caseworker@example.org")
        assert client.post(MFA_VERIFY, {"token": code}).status_code == 302
        client.post(LOGOUT)
        log_in(client, "caseworker@example.org")
        assert client.post(MFA_VERIFY, {"token": code}).status_code == 400


def test_it_accepts_a_recovery_code_once(client: Any, personas: Any) -> None:
    codes = recovery_codes_replace(user=personas.caseworker)
    with time_machine.travel(T0, tick=False) as traveller:
        log_in(client, "caseworker@example.org")
        used = client.post(MFA_VERIFY, {"token": codes[0]})
        assert used.status_code == 302
        assert client.get("/case/").status_code == 200

        assert client.post(LOGOUT).status_code == 302
        assert logged_in_as(client) is None
        traveller.shift(dt.timedelta(seconds=5))
        log_in(client, "caseworker@example.org")
        again = client.post(MFA_VERIFY, {"token": codes[0]})
        assert again.status_code == 400
        assert client.get("/case/").status_code == 302

        traveller.shift(dt.timedelta(seconds=5))
        assert client.post(MFA_VERIFY, {"token": codes[1]}).status_code == 302
        assert client.get("/case/").status_code == 200
    assert StaticToken.objects.filter(device__user=personas.caseworker).count() == 8


def test_it_keeps_recovery_codes_to_their_owner(client: Any, personas: Any) -> None:
    others = recovery_codes_replace(user=personas.admin)
    recovery_codes_replace(user=personas.caseworker)
    log_in(client, "caseworker@example.org")
    assert client.post(MFA_VERIFY, {"token": others[0]}).status_code == 400
    assert StaticDevice.objects.get(user=personas.admin).token_set.count() == 10


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/"])
def test_it_never_redirects_off_site_after_the_second_factor(
    client: Any, personas: Any, target: str
) -> None:
    log_in(client, "caseworker@example.org")
    response = client.post(MFA_VERIFY, {"token": personas.totp_now(personas.caseworker),
                                        "next": target})
    assert response.status_code == 302
    assert response["Location"] == "/case/"


def test_it_needs_a_login_before_the_second_factor(client: Any, personas: Any) -> None:
    for url in (MFA_SETUP, MFA_VERIFY):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(LOGIN)


def test_it_shortens_the_session_of_someone_given_a_staff_role_while_logged_in(
    client: Any, personas: Any
) -> None:
    from homesafe.accounts.models import Role
    from homesafe.accounts.services import membership_grant

    client.force_login(personas.member)
    client.get("/")
    assert client.session.get_expiry_age() > 12 * 3600
    membership_grant(user=personas.member, organisation=personas.org, role=Role.CASEWORKER)
    client.get("/")
    assert client.session.get_expiry_age() <= 12 * 3600
