"""Encryption at rest: round trips, binding to row and column, keys, rotation, raw dumps."""

from __future__ import annotations

import base64
import io
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.apps import apps
from django.core.management import call_command
from django.db import connection, models, transaction

from homesafe.accounts.models import Organisation, TrustedContact, User
from homesafe.common import crypto, geo, keys
from homesafe.common.fields import EncryptedTextField, encrypted_fields
from homesafe.reports.models import CaseNote, Message, PoliceResponse, Report
from homesafe.reports.schemas import ContactIn, LocationIn, PoliceIn, ReportIn
from homesafe.reports.services import (
    case_note_add,
    mailbox_post_by_caseworker,
    mailbox_post_by_reporter,
    report_submit,
)

# --- helpers ---------------------------------------------------------------------------------


def _b64_key() -> str:
    return base64.b64encode(AESGCM.generate_key(256)).decode()


def _table_and_pk(model: type[models.Model], pk: Any) -> tuple[str, str, Any]:
    qn = connection.ops.quote_name
    pk_field = model._meta.pk
    assert pk_field is not None
    return (
        qn(model._meta.db_table),
        qn(str(pk_field.column)),
        pk_field.get_db_prep_value(pk, connection),
    )


def raw_column(model: type[models.Model], pk: Any, column: str) -> Any:
    """The column's bytes exactly as stored, bypassing the field."""
    table, pk_column, pk_value = _table_and_pk(model, pk)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {connection.ops.quote_name(column)} FROM {table} WHERE {pk_column} = %s",
            [pk_value],
        )
        (value,) = cursor.fetchone()
    return None if value is None else bytes(value)


def raw_write(model: type[models.Model], pk: Any, column: str, value: bytes) -> None:
    table, pk_column, pk_value = _table_and_pk(model, pk)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {connection.ops.quote_name(column)} = %s WHERE {pk_column} = %s",
            [value, pk_value],
        )


def fresh(instance: models.Model) -> Any:
    return type(instance)._default_manager.get(pk=instance.pk)


@pytest.fixture
def key_file(settings: Any, tmp_path: Path) -> Iterator[Path]:
    """A key file of this test's own; the keyring cache is reset on the way in and out."""
    path = tmp_path / "keys" / "keys.json"
    settings.ENCRYPTION_KEYS = ""
    settings.ENCRYPTION_KEY_FILE = path
    crypto.reset_keyring_cache()
    yield path
    crypto.reset_keyring_cache()


@pytest.fixture
def env_keys(settings: Any, tmp_path: Path) -> Iterator[Any]:
    """Set HOMESAFE_ENCRYPTION_KEYS (through settings) for the test; returns a setter."""
    settings.ENCRYPTION_KEY_FILE = tmp_path / "never-created.json"

    def use(spec: str) -> None:
        settings.ENCRYPTION_KEYS = spec
        crypto.reset_keyring_cache()

    yield use
    crypto.reset_keyring_cache()


@pytest.fixture
def org(db: Any) -> Organisation:
    return Organisation.objects.create(name="Crypto Org", slug="crypto-org")


def make_report(org: Organisation, **fields: Any) -> Report:
    return Report.objects.create(
        id=uuid.uuid4(),
        organisation=org,
        code_hash=uuid.uuid4().hex,
        reporter_role="victim",
        **fields,
    )


FULL_REPORT = {
    "narrative": "Somebody shouted at me on Cuba Street — ngā mihi, ünïcödé ✓",
    "place_text": "Outside the bakery on Cuba Street",
    "point": {"lat": -41.293812, "lng": 174.781234},
    "contact": {
        "name": "Aroha Test",
        "email": "aroha@example.org",
        "phone": "+64 21 555 0101",
        "channel": "email",
        "leave_message": False,
    },
    "bias_other_text": "something else",
    "offender_description": "tall, red jacket",
    "emotional_impact": "could not sleep",
    "support_other": "a lift home",
}


# --- round trips -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_round_trips_every_encrypted_field_of_a_report(
    key_file: Path, org: Organisation
) -> None:
    report = make_report(org, **FULL_REPORT)
    loaded = fresh(report)
    for name, value in FULL_REPORT.items():
        assert getattr(loaded, name) == value, name
        blob = raw_column(Report, report.pk, name)
        assert blob is not None and crypto.Keyring.key_id_of(blob) == crypto.keyring().active_id
        assert str(value).encode() not in blob


@pytest.mark.django_db
def test_it_round_trips_message_note_police_and_trusted_contact(
    key_file: Path, org: Organisation
) -> None:
    report = make_report(org)
    message = Message.objects.create(report=report, sender="reporter", body="message body ✉")
    note = CaseNote.objects.create(report=report, body="case note body")
    police = PoliceResponse.objects.create(
        report=report, police_reference="P-0123456", alternative_offered="a taxi chit"
    )
    user = User.objects.create_user(email="tc-owner@example.org", password=None)
    contact = TrustedContact.objects.create(owner=user, name="Mum", email="mum@example.org")

    assert fresh(message).body == "message body ✉"
    assert fresh(note).body == "case note body"
    assert fresh(police).police_reference == "P-0123456"
    assert fresh(police).alternative_offered == "a taxi chit"
    assert (fresh(contact).name, fresh(contact).email) == ("Mum", "mum@example.org")
    assert b"P-0123456" not in raw_column(PoliceResponse, police.pk, "police_reference")


@pytest.mark.django_db
def test_it_stores_empty_values_as_null(key_file: Path, org: Organisation) -> None:
    report = make_report(org, narrative="", place_text=None, contact={}, point=None)
    for name in ("narrative", "place_text", "contact", "point", "emotional_impact"):
        assert raw_column(Report, report.pk, name) is None
    assert fresh(report).narrative is None


@pytest.mark.django_db
def test_it_encrypts_the_same_text_differently_each_time(key_file: Path, org: Organisation) -> None:
    first = make_report(org, narrative="same words")
    second = make_report(org, narrative="same words")
    assert raw_column(Report, first.pk, "narrative") != raw_column(Report, second.pk, "narrative")


@pytest.mark.django_db
def test_it_keeps_the_ciphertext_when_saving_without_changes_and_reseals_changes(
    key_file: Path, org: Organisation
) -> None:
    report = make_report(org, narrative="first words", place_text="a place")
    before = raw_column(Report, report.pk, "narrative")
    loaded = fresh(report)
    loaded.status = "triaged"
    loaded.save()
    assert raw_column(Report, report.pk, "narrative") == before

    loaded.narrative = "second words"
    loaded.save()
    assert raw_column(Report, report.pk, "narrative") != before
    again = fresh(report)
    assert (again.narrative, again.place_text) == ("second words", "a place")


@pytest.mark.django_db
def test_it_loads_deferred_fields_instead_of_returning_none(
    key_file: Path, org: Organisation
) -> None:
    report = make_report(org, narrative="deferred words", contact={"name": "Kim"})
    only_id = Report.objects.only("id").get(pk=report.pk)
    assert only_id.narrative == "deferred words"
    assert only_id.contact == {"name": "Kim"}
    deferred = Report.objects.defer("narrative", "place_text").get(pk=report.pk)
    assert deferred.place_text is None
    assert deferred.narrative == "deferred words"
    message = Message.objects.create(report=report, sender="reporter", body="hello")
    assert Message.objects.only("id").get(pk=message.pk).body == "hello"
    report.refresh_from_db()
    assert report.narrative == "deferred words"


@pytest.mark.django_db
def test_it_refuses_plaintext_through_queryset_update(key_file: Path, org: Organisation) -> None:
    report = make_report(org, narrative="kept")
    Message.objects.create(report=report, sender="reporter", body="kept too")
    attempts = [
        lambda: Report.objects.filter(pk=report.pk).update(narrative="plaintext words"),
        lambda: Report.objects.filter(pk=report.pk).update(contact='{"name": "x"}'),
        lambda: Message.objects.filter(report=report).update(body="plaintext body"),
    ]
    for attempt in attempts:
        # update() marks the surrounding transaction for rollback on any error.
        with pytest.raises(TypeError, match="plaintext"), transaction.atomic():
            attempt()
    assert fresh(report).narrative == "kept"
    assert Message.objects.get(report=report).body == "kept too"


@pytest.mark.django_db
def test_it_never_writes_plaintext_through_bulk_update(key_file: Path, org: Organisation) -> None:
    report = make_report(org, narrative="before")
    report.narrative = "after, in bulk"
    try:
        with transaction.atomic():
            Report.objects.bulk_update([report], ["narrative"])
    except TypeError:
        assert fresh(report).narrative == "before"  # refused outright: fine
    else:
        assert b"after, in bulk" not in raw_column(Report, report.pk, "narrative")
        assert fresh(report).narrative == "after, in bulk"


@pytest.mark.django_db
def test_it_needs_the_primary_key_before_encrypting(key_file: Path, org: Organisation) -> None:
    user = User.objects.create_user(email="nopk@example.org", password=None)
    field = TrustedContact._meta.get_field("name")
    contact = TrustedContact(owner=user, name="x")
    contact.id = None
    with pytest.raises(ValueError, match="primary key"):
        field.pre_save(contact, add=True)


# --- binding to row, column and key --------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("via", ["queryset", "raw_sql"])
def test_it_refuses_a_ciphertext_copied_to_another_row(
    key_file: Path, org: Organisation, via: str
) -> None:
    source = make_report(org, narrative="the source narrative")
    target = make_report(org, narrative="the target narrative")
    blob = raw_column(Report, source.pk, "narrative")
    assert blob is not None
    if via == "queryset":
        Report.objects.filter(pk=target.pk).update(narrative=blob)
    else:
        raw_write(Report, target.pk, "narrative", blob)
    assert raw_column(Report, target.pk, "narrative") == blob
    with pytest.raises(crypto.DecryptionError):
        _ = fresh(target).narrative
    assert fresh(source).narrative == "the source narrative"


@pytest.mark.django_db
def test_it_refuses_a_ciphertext_copied_between_models(key_file: Path, org: Organisation) -> None:
    report = make_report(org)
    message = Message.objects.create(report=report, sender="reporter", body="a message")
    note = CaseNote.objects.create(id=message.pk, report=report, body="a note")
    # Same primary key, same column name, different model: still refused.
    raw_write(CaseNote, note.pk, "body", raw_column(Message, message.pk, "body"))
    with pytest.raises(crypto.DecryptionError):
        _ = fresh(note).body


@pytest.mark.django_db
@pytest.mark.parametrize("column", ["place_text", "emotional_impact", "contact", "point"])
def test_it_refuses_a_ciphertext_copied_to_another_column(
    key_file: Path, org: Organisation, column: str
) -> None:
    report = make_report(org, narrative="the narrative", place_text="somewhere")
    Report.objects.filter(pk=report.pk).update(
        **{column: raw_column(Report, report.pk, "narrative")}
    )
    loaded = fresh(report)
    assert loaded.narrative == "the narrative"
    with pytest.raises(crypto.DecryptionError):
        getattr(loaded, column)


@pytest.mark.django_db
def test_it_refuses_every_flipped_byte(key_file: Path, org: Organisation) -> None:
    report = make_report(org, narrative="do not touch")
    blob = raw_column(Report, report.pk, "narrative")
    assert blob is not None
    for position in range(len(blob)):
        tampered = bytearray(blob)
        tampered[position] ^= 0x01
        Report.objects.filter(pk=report.pk).update(narrative=bytes(tampered))
        with pytest.raises(crypto.DecryptionError):
            _ = fresh(report).narrative
    Report.objects.filter(pk=report.pk).update(narrative=blob)
    assert fresh(report).narrative == "do not touch"


@pytest.mark.django_db
def test_it_refuses_truncated_or_extended_ciphertexts(key_file: Path, org: Organisation) -> None:
    report = make_report(org, narrative="do not cut")
    blob = raw_column(Report, report.pk, "narrative")
    assert blob is not None
    for tampered in [blob[:cut] for cut in range(len(blob))] + [blob + b"\x00"]:
        Report.objects.filter(pk=report.pk).update(narrative=tampered)
        with pytest.raises(crypto.DecryptionError):
            _ = fresh(report).narrative


def test_it_refuses_a_ciphertext_of_an_unknown_key() -> None:
    ours = crypto.Keyring("ka", {"ka": AESGCM.generate_key(256)})
    theirs = crypto.Keyring("kb", {"kb": AESGCM.generate_key(256)})
    same_id_other_key = crypto.Keyring("ka", {"ka": AESGCM.generate_key(256)})
    blob = ours.encrypt(b"secret", b"aad")
    assert crypto.Keyring.key_id_of(blob) == "ka"
    assert ours.decrypt(blob, b"aad") == b"secret"
    with pytest.raises(crypto.DecryptionError, match="not loaded"):
        theirs.decrypt(blob, b"aad")
    with pytest.raises(crypto.DecryptionError):
        same_id_other_key.decrypt(blob, b"aad")
    with pytest.raises(crypto.DecryptionError):
        ours.decrypt(blob, b"other aad")


@pytest.mark.django_db
def test_it_refuses_to_open_values_when_their_key_is_not_loaded(
    settings: Any, tmp_path: Path, key_file: Path, org: Organisation
) -> None:
    report = make_report(org, narrative="under the first key")
    settings.ENCRYPTION_KEY_FILE = tmp_path / "other-keys.json"
    crypto.reset_keyring_cache()
    with pytest.raises(crypto.DecryptionError, match="not loaded"):
        _ = fresh(report).narrative


# --- where keys come from -------------------------------------------------------------------


@pytest.mark.django_db
def test_it_creates_an_owner_only_key_file_on_first_use(key_file: Path, org: Organisation) -> None:
    assert not key_file.exists()
    make_report(org, narrative="first use")
    assert key_file.exists()
    assert key_file.stat().st_mode & 0o777 == 0o600
    ring = crypto.read_key_file(key_file)
    assert ring.active_id in ring.keys and len(ring.keys[ring.active_id]) == 32


@pytest.mark.django_db
def test_it_uses_keys_from_the_environment(env_keys: Any, settings: Any, org: Organisation) -> None:
    env_keys(f" kenv1:{_b64_key()} , kenv0:{_b64_key()} ")
    assert crypto.keys_from_environment()
    assert crypto.keyring().active_id == "kenv1"
    report = make_report(org, narrative="from the environment")
    assert crypto.Keyring.key_id_of(raw_column(Report, report.pk, "narrative")) == "kenv1"
    assert fresh(report).narrative == "from the environment"
    assert not Path(settings.ENCRYPTION_KEY_FILE).exists()


@pytest.mark.parametrize(
    "spec",
    [" , ", "k1:" + base64.b64encode(b"short").decode(), ":" + _b64_key(), "k1:not base64!"],
)
def test_it_rejects_malformed_environment_keys(env_keys: Any, spec: str) -> None:
    env_keys(spec)
    with pytest.raises(ValueError):
        crypto.keyring()


# --- the raw dump: no plaintext anywhere in the database ---------------------------------------


def _sqlite_files() -> list[Path]:
    name = Path(connection.settings_dict["NAME"])
    return [
        p for p in (name, *(Path(f"{name}{s}") for s in ("-wal", "-shm", "-journal"))) if p.exists()
    ]


def _dump_sqlite() -> list[bytes]:
    """Every byte of the database file and its journal, before and after a checkpoint."""
    assert not connection.in_atomic_block, "the data must be committed"
    chunks = [p.read_bytes() for p in _sqlite_files()]
    connection.close()  # the last connection out checkpoints the WAL into the database file
    chunks += [p.read_bytes() for p in _sqlite_files()]
    return chunks


def _dump_postgresql() -> list[bytes]:
    """Every row of every table in the public schema, as PostgreSQL renders it as text."""
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
        )
        tables = [row[0] for row in cursor.fetchall()]
        rows: list[bytes] = []
        for table in tables:
            cursor.execute(f"SELECT t::text FROM {qn(table)} t")  # noqa: S608
            rows += [row[0].encode() for row in cursor.fetchall()]
    assert "reports_report" in tables and "audit_auditentry" in tables
    return rows


class RawDump:
    """The database's raw content, searchable as bytes and as UTF-8 and Latin-1 text."""

    def __init__(self) -> None:
        if connection.vendor == "sqlite":
            self.chunks = _dump_sqlite()
        elif connection.vendor == "postgresql":
            self.chunks = _dump_postgresql()
        else:
            pytest.skip(f"no raw dump for {connection.vendor}")
        self.texts = [
            chunk.decode(encoding, errors="ignore").casefold()
            for chunk in self.chunks
            for encoding in ("utf-8", "latin-1")
        ]

    def __contains__(self, needle: str) -> bool:
        # As stored, as UTF-16 (an SQLite option), and hex (PostgreSQL's bytea as text).
        forms = (needle.encode("utf-16-le"), needle.encode().hex().encode())
        return any(needle.casefold() in text for text in self.texts) or any(
            form in chunk for chunk in self.chunks for form in forms
        )


@pytest.mark.django_db(transaction=True)
def test_it_never_writes_plaintext_to_the_database(personas: Any) -> None:
    tag = uuid.uuid4().hex[:12]
    digits = str(uuid.uuid4().int)[:10]
    markers = {
        "narrative": f"NarrativeMarker{tag}",
        "place_text": f"PlaceMarker{tag}",
        "contact name": f"NameMarker{tag}",
        "contact email": f"emailmarker{tag}@example.org",
        "contact phone": f"+64 {digits}",
        "contact safe times": f"SafeTimesMarker{tag}",
        "offender_description": f"OffenderMarker{tag}",
        "emotional_impact": f"ImpactMarker{tag}",
        "bias_other_text": f"BiasMarker{tag}",
        "support_other": f"SupportMarker{tag}",
        "police_reference": f"PoliceRef{tag}",
        "alternative_offered": f"AlternativeMarker{tag}",
        "reporter message": f"ReporterMessageMarker{tag}",
        "caseworker message": f"CaseworkerMessageMarker{tag}",
        "case note": f"CaseNoteMarker{tag}",
        "latitude": "41.2938123",
        "longitude": "174.7812345",
    }
    kept = geo.apply_precision(geo.Point(-41.2938123, 174.7812345), "exact")
    assert kept is not None
    # The exact point is kept (rounded to 6 places): that form must not show either.
    markers["kept latitude"] = f"{abs(kept.lat)}"
    markers["kept longitude"] = f"{kept.lng}"

    data = ReportIn(
        organisation=personas.org.slug,
        reporter_role="victim",
        identity_level="identified",
        contact=ContactIn(
            name=markers["contact name"],
            email=markers["contact email"],
            phone=markers["contact phone"],
            channel="email",
            safe_times=markers["contact safe times"],
        ),
        consent_police="identifiable",
        place_text=markers["place_text"],
        location=LocationIn(lat=-41.2938123, lng=174.7812345),
        location_precision="exact",
        incident_types=["verbal_abuse_slurs"],
        narrative=markers["narrative"],
        bias_other_text=markers["bias_other_text"],
        offender_description=markers["offender_description"],
        emotional_impact=markers["emotional_impact"],
        police=PoliceIn(
            contacted="yes",
            police_reference=markers["police_reference"],
            alternative_offered=markers["alternative_offered"],
        ),
        support_other=markers["support_other"],
    )
    report = report_submit(data=data).report
    mailbox_post_by_reporter(report=report, body=markers["reporter message"])
    mailbox_post_by_caseworker(
        report=report, user=personas.caseworker, body=markers["caseworker message"]
    )
    case_note_add(report=report, user=personas.caseworker, body=markers["case note"])

    # What went in really is there, decrypted, so the dump below proves something.
    stored = Report.objects.get(pk=report.pk)
    assert stored.narrative == markers["narrative"]
    assert stored.contact["email"] == markers["contact email"]
    assert stored.point == {"lat": kept.lat, "lng": kept.lng}
    assert stored.police_responses.get().police_reference == markers["police_reference"]
    assert {m.body for m in stored.messages.all()} == {
        markers["reporter message"],
        markers["caseworker message"],
    }
    assert stored.notes.get().body == markers["case note"]
    # A plaintext column, to show the dump does see what is stored in the clear.
    control = f"ControlMarker{tag}"
    Organisation.objects.filter(pk=personas.other_org.pk).update(name=control)

    dump = RawDump()
    assert control in dump, "the dump should see plaintext columns"
    leaked = [what for what, marker in markers.items() if marker in dump]
    assert leaked == []


# --- key rotation --------------------------------------------------------------------------------


def _all_ciphertexts() -> dict[tuple[str, str, str], bytes]:
    found = {}
    for model in apps.get_models():
        for field in encrypted_fields(model):
            for pk in model._default_manager.values_list("pk", flat=True):
                blob = raw_column(model, pk, str(field.column))
                if blob is not None:
                    found[(model._meta.label, str(pk), field.name)] = blob
    return found


def _plaintexts() -> dict[tuple[str, str, str], Any]:
    return {
        (model._meta.label, str(obj.pk), field.name): getattr(obj, field.attname)
        for model in apps.get_models()
        for field in encrypted_fields(model)
        for obj in model._default_manager.all()
    }


def _seed(org: Organisation, count: int = 3) -> None:
    user = User.objects.create_user(email=f"seed-{uuid.uuid4().hex[:6]}@example.org")
    for i in range(count):
        report = make_report(org, **{**FULL_REPORT, "narrative": f"narrative {i}"})
        Message.objects.create(report=report, sender="reporter", body=f"message {i}")
        CaseNote.objects.create(report=report, body=f"note {i}")
        PoliceResponse.objects.create(report=report, police_reference=f"REF-{i}")
        TrustedContact.objects.create(owner=user, name=f"contact {i}", email="")
    make_report(org)  # a report without any encrypted value


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_it_rotates_the_key_file(key_file: Path, org: Organisation) -> None:
    _seed(org)
    old = crypto.keyring().active_id
    before = _plaintexts()
    old_blobs = _all_ciphertexts()
    assert {crypto.Keyring.key_id_of(b) for b in old_blobs.values()} == {old}
    assert _run("keys", "status").splitlines() == [f"{old}: active, in use"]

    output = _run("keys", "rotate")

    ring = crypto.read_key_file(key_file)
    new = ring.active_id
    assert new != old
    assert list(ring.keys) == [new], "the old key leaves the key file"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert not [p for p in key_file.parent.iterdir() if p != key_file], "no temporary files"
    blobs = _all_ciphertexts()
    assert blobs.keys() == old_blobs.keys()
    assert {crypto.Keyring.key_id_of(b) for b in blobs.values()} == {new}
    crypto.reset_keyring_cache()
    assert _plaintexts() == before
    assert f"active key {new}; {len(blobs)} values re-encrypted" in output
    assert f"keys no longer used (removed from the key file): {old}" in output
    assert _run("keys", "status").splitlines() == [f"{new}: active, in use"]

    # Rotating again moves on once more; nothing is lost on the way.
    _run("keys", "rotate")
    assert crypto.read_key_file(key_file).active_id not in (old, new)
    assert _plaintexts() == before


@pytest.mark.django_db
def test_it_reseals_in_chunks(key_file: Path, org: Organisation) -> None:
    _seed(org, count=5)
    before = _plaintexts()
    old = crypto.keyring()
    crypto.write_key_file(
        key_file, crypto.Keyring("knext", {**old.keys, "knext": AESGCM.generate_key(256)})
    )
    crypto.reset_keyring_cache()
    assert keys.reseal_all(chunk=2) == len(_all_ciphertexts())
    assert {crypto.Keyring.key_id_of(b) for b in _all_ciphertexts().values()} == {"knext"}
    assert keys.keys_in_use() == {"knext"}
    assert _plaintexts() == before


@pytest.mark.django_db
def test_it_leaves_everything_readable_when_rotation_stops_half_way(
    key_file: Path, org: Organisation, monkeypatch: pytest.MonkeyPatch
) -> None:
    _seed(org)
    old = crypto.keyring().active_id
    before = _plaintexts()
    real_reseal = EncryptedTextField.reseal
    calls = 0

    def reseal_then_crash(self: EncryptedTextField, instance: Any) -> bytes | None:
        nonlocal calls
        calls += 1
        if calls > 5:
            raise RuntimeError("power cut")
        return real_reseal(self, instance)

    monkeypatch.setattr(EncryptedTextField, "reseal", reseal_then_crash)
    with pytest.raises(RuntimeError, match="power cut"):
        call_command("keys", "rotate", stdout=io.StringIO())
    monkeypatch.undo()

    ring = crypto.read_key_file(key_file)
    assert ring.active_id != old and set(ring.keys) == {old, ring.active_id}
    crypto.reset_keyring_cache()
    assert {crypto.Keyring.key_id_of(b) for b in _all_ciphertexts().values()} == {
        old,
        ring.active_id,
    }
    assert _plaintexts() == before

    _run("keys", "rotate")
    final = crypto.read_key_file(key_file)
    assert list(final.keys) == [final.active_id]
    assert _plaintexts() == before


@pytest.mark.django_db
def test_it_retires_every_key_nothing_uses_after_rotating(
    key_file: Path, org: Organisation
) -> None:
    _seed(org, count=1)
    old = crypto.keyring().active_id
    spare = "kspare"
    ring = crypto.read_key_file(key_file)
    crypto.write_key_file(
        key_file, crypto.Keyring(old, {**ring.keys, spare: AESGCM.generate_key(256)})
    )
    crypto.reset_keyring_cache()
    status = set(_run("keys", "status").splitlines())
    assert status == {f"{old}: active, in use", f"{spare}: unused"}
    result_line = _run("keys", "rotate").splitlines()[-1]
    assert result_line.endswith(f"{old}, {spare}")


@pytest.mark.django_db
def test_it_rotates_to_the_first_environment_key(
    env_keys: Any, settings: Any, org: Organisation
) -> None:
    old_spec = f"kold:{_b64_key()}"
    env_keys(old_spec)
    _seed(org)
    before = _plaintexts()
    assert {crypto.Keyring.key_id_of(b) for b in _all_ciphertexts().values()} == {"kold"}

    env_keys(f"knew:{_b64_key()},{old_spec}")
    assert set(_run("keys", "status").splitlines()) == {"knew: active, unused", "kold: in use"}
    output = _run("keys", "rotate")

    blobs = _all_ciphertexts()
    assert {crypto.Keyring.key_id_of(b) for b in blobs.values()} == {"knew"}
    assert _plaintexts() == before
    assert f"active key knew; {len(blobs)} values re-encrypted" in output
    assert "keys no longer used (may now be removed from HOMESAFE_ENCRYPTION_KEYS): kold" in output
    assert set(_run("keys", "status").splitlines()) == {"knew: active, in use", "kold: unused"}
    assert not Path(settings.ENCRYPTION_KEY_FILE).exists(), "the key file is never touched"

    # Rotating again with nothing left to do rewrites nothing.
    assert "active key knew; 0 values re-encrypted" in _run("keys", "rotate")


@pytest.mark.django_db
def test_it_stops_rotating_when_an_old_key_is_wrong(env_keys: Any, org: Organisation) -> None:
    env_keys(f"kold:{_b64_key()}")
    _seed(org, count=1)
    env_keys(f"knew:{_b64_key()},kold:{_b64_key()}")  # the operator pasted the wrong old key
    with pytest.raises(crypto.DecryptionError):
        call_command("keys", "rotate", stdout=io.StringIO())


def test_it_writes_key_files_atomically(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    ring = crypto.Keyring("k1", {"k1": AESGCM.generate_key(256)})
    crypto.write_key_file(path, ring)
    assert crypto.read_key_file(path) == ring
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["k.json"]
