"""Personal data at rest: events, snapshots and idempotent responses stored AES-GCM encrypted.

Every test runs on SQLite and on PostgreSQL (``database_url``), with ``GONGJI_CIPHER_KEY``
set in the environment as a deployment sets it. The person ids look like resident
identity numbers and the birth dates are distinctive, so finding either in a stored row's
bytes means personal data is stored in clear. Rows are read straight from the database,
as someone holding a copy of it would.

Figures (suizhou 2024, DOMAIN.md 3.1; 2% of the base for an employee under 45):
- ``scenario`` (tests/test_projections_views.py): A 2 × 100.00 + 100.00 − 200.00 (V1 from
  A's account for B) − 50.00 (S1) + 200.00 (V1 reversed) = 250.00; B 60.00 − 60.00 (V2's
  own part) = 0.00.
- the jobs test: 4 people, bases 3000.00 + i.ii → credits 60.00, 60.02, 60.04, 60.06.
"""

from __future__ import annotations

import base64
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from api_support import AGENCY, auth, settings
from conftest import PARAMETERS
from fastapi.testclient import TestClient
from jobs_support import contributions, enroll_many
from test_projections_views import database_of, scenario, views  # noqa: F401  (fixture)
from typer.testing import CliRunner

from api import create_app
from api.idempotency import RedisStore, SqlStore, once
from cli.main import app as cli
from ledger import Ledger, open_ledger
from ledger.commands import EnrollPerson, RecordContribution, RecordRetirement
from ledger.crypto import CipherKeyError, Codec, new_key
from ledger.ids import account_id
from ledger.jobs import credit_month
from ledger.settings import SettingsError, load_settings
from policies.errors import LedgerError
from projections import ViewReader, ViewStore, ViewWorker, open_views
from projections.stores.memory import MemoryViews

PERSON = "330102198007151234"  # shaped like a resident identity number (公民身份号码)
BORN = "1980-07-15"
KEY = base64.b64encode(bytes(range(32))).decode()
OTHER_KEY = base64.b64encode(bytes(range(1, 33))).decode()


@pytest.fixture
def keyed(monkeypatch: pytest.MonkeyPatch) -> str:
    """The deployment's key in the environment, as ``gongji`` reads it."""
    monkeypatch.setenv("GONGJI_CIPHER_KEY", KEY)
    monkeypatch.delenv("GONGJI_REDIS_URL", raising=False)
    return KEY


@pytest.fixture
def encrypted(keyed: str, database_url: str) -> Iterator[Ledger]:
    ledger = open_ledger(database_url, PARAMETERS)
    yield ledger
    ledger.close()


def stored_rows(ledger: Ledger, table: str) -> list[bytes]:
    """Every stored row of ``events``, ``snapshots``, ``chain``, ``states`` (the accounts'
    state rows) or ``idempotency``, as the database holds it: all columns as bytes, one
    blob per row."""
    env = ledger.env
    if env["PERSISTENCE_MODULE"] == "eventsourcing.sqlite":
        name = {"events": "stored_events", "snapshots": "stored_snapshots",
                "chain": "stored_events_chain", "states": "stored_events_accounts",
                "idempotency": "gongji_idempotency"}[table]
        with sqlite3.connect(env["SQLITE_DBNAME"]) as db:
            rows = db.execute(f"SELECT * FROM {name}").fetchall()
    else:
        schema = env["POSTGRES_SCHEMA"]
        name = {"events": "ledger_events", "snapshots": "ledger_snapshots",
                "chain": "ledger_events_chain", "states": "ledger_events_accounts",
                "idempotency": "gongji_idempotency"}[table]
        with psycopg.connect(dbname=env["POSTGRES_DBNAME"], host=env["POSTGRES_HOST"],
                             user=env["POSTGRES_USER"]) as db:
            rows = db.execute(f"SELECT * FROM {schema}.{name}").fetchall()
    return [b"|".join(bytes(v) if isinstance(v, bytes | memoryview) else str(v).encode()
                      for v in row) for row in rows]


def assert_no_personal_data(rows: list[bytes]) -> None:
    assert rows
    for row in rows:
        assert PERSON.encode() not in row and BORN.encode() not in row
        assert "suizhou".encode() not in row  # and nothing else of the state is legible


def enroll_with_history(ledger: Ledger) -> None:
    ledger.enroll(EnrollPerson(person=PERSON, region="suizhou", birth_date=BORN))
    for month in ("2024-01", "2024-02", "2024-03"):
        ledger.credit_contribution(RecordContribution(person=PERSON, month=month,
                                                      base="5000.00"))
    ledger.take_snapshot(account_id(PERSON))


# -- settings -----------------------------------------------------------------------------

@pytest.mark.parametrize("value, says", [
    ("not base64 at all!", "GONGJI_CIPHER_KEY is not base64"),
    (base64.b64encode(b"ten bytes!").decode(), "GONGJI_CIPHER_KEY decodes to 10 bytes"),
])
def test_a_bad_key_stops_start_up_naming_the_variable_never_the_key(monkeypatch, value, says):
    monkeypatch.setenv("GONGJI_CIPHER_KEY", value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert says in str(caught.value) and value not in str(caught.value)


def test_new_keys_are_random_aes_256_keys() -> None:
    first, second = new_key(), new_key()
    assert first != second and len(base64.b64decode(first)) == 32


# -- events and snapshots -----------------------------------------------------------------

def test_events_and_snapshots_are_stored_encrypted(encrypted: Ledger, database_url: str):
    enroll_with_history(encrypted)
    assert_no_personal_data(stored_rows(encrypted, "events"))
    assert_no_personal_data(stored_rows(encrypted, "snapshots"))
    assert_no_personal_data(stored_rows(encrypted, "states"))
    again = open_ledger(database_url, PARAMETERS)  # a fresh process: no cached aggregate
    try:
        view = again.account_view(PERSON)
        assert (view.balance, view.version) == (3 * 10000, 4)
        assert again.load(account_id(PERSON)).birth_date.isoformat() == BORN
    finally:
        again.close()


def test_without_the_key_the_same_history_is_legible(database_url: str, monkeypatch) -> None:
    """The control: what the encrypted test looks for is really there in a plain store."""
    monkeypatch.delenv("GONGJI_CIPHER_KEY", raising=False)
    ledger = open_ledger(database_url, PARAMETERS)
    try:
        enroll_with_history(ledger)
        assert any(PERSON.encode() in row and BORN.encode() in row
                   for row in stored_rows(ledger, "events"))
    finally:
        ledger.close()


def test_opening_the_store_without_the_key_or_with_another_fails_clearly(
        encrypted: Ledger, database_url: str, monkeypatch) -> None:
    enroll_with_history(encrypted)
    monkeypatch.delenv("GONGJI_CIPHER_KEY")
    with pytest.raises(CipherKeyError, match="encrypted but GONGJI_CIPHER_KEY is not set"):
        open_ledger(database_url, PARAMETERS)
    monkeypatch.setenv("GONGJI_CIPHER_KEY", OTHER_KEY)
    with pytest.raises(CipherKeyError, match="does not decrypt the event store's events"):
        open_ledger(database_url, PARAMETERS)


def test_a_key_on_a_plain_store_is_refused(database_url: str, monkeypatch) -> None:
    monkeypatch.delenv("GONGJI_CIPHER_KEY", raising=False)
    plain = open_ledger(database_url, PARAMETERS)
    enroll_with_history(plain)
    plain.close()
    monkeypatch.setenv("GONGJI_CIPHER_KEY", KEY)
    with pytest.raises(CipherKeyError, match="events are not encrypted"):
        open_ledger(database_url, PARAMETERS)


# -- batch jobs, projections, audit --------------------------------------------------------

def test_batch_jobs_write_encrypted_bodies(encrypted: Ledger, tmp_path: Path) -> None:
    """``people import`` and ``credit-month`` insert through the recorder in bulk."""
    names = enroll_many(encrypted, tmp_path, 4)  # born 1985-07-01
    summary = credit_month(encrypted, contributions(tmp_path, names, "2024-03"),
                           tmp_path / "r.csv")
    assert summary.written == 4 and summary.ties_out
    rows = stored_rows(encrypted, "events")
    assert len(rows) == 8
    assert not any(b"P0000" in row or b"1985-07-01" in row for row in rows)
    assert [encrypted.account_view(n).balance for n in names] == [6000, 6002, 6004, 6006]


@pytest.fixture
def ledger(encrypted: Ledger) -> Ledger:
    """conftest's ledger, with the key: what the ``views`` fixture (SQL, Redis) follows."""
    return encrypted


def test_the_projection_worker_decrypts_and_views_seal_the_dates(
        encrypted: Ledger, views: ViewStore) -> None:
    scenario(encrypted, close=False)
    enroll_with_history(encrypted)
    encrypted.retire(RecordRetirement(person=PERSON, date="2024-06-30"))
    applied = ViewWorker(encrypted.recorder, encrypted.mapper, views).catch_up()
    assert applied == encrypted.recorder.max_notification_id()
    reader = ViewReader(views, encrypted.book)
    assert (reader.account("A").balance, reader.account("B").balance) == (25000, 0)
    for person in ("A", "B", PERSON):
        assert reader.account(person) == encrypted.account_view(person)
    assert reader.account(PERSON).category == "retired"

    stored = views.get("accounts", (PERSON,))
    assert stored is not None
    assert stored["birth_date"].startswith("siv:") and stored["retired_on"].startswith("siv:")
    dump = json.dumps(views.dump())
    for date in (BORN, "2024-06-30", "1980-01-01", "1982-01-01"):
        assert date not in dump
    # deterministic: a recompute equals the stored views (what audit verify compares)
    memory = MemoryViews()
    ViewWorker(encrypted.recorder, encrypted.mapper, memory).catch_up()
    assert memory.dump() == views.dump()


def test_views_sealed_under_one_key_are_refused_under_another(encrypted: Ledger,
                                                              monkeypatch) -> None:
    enroll_with_history(encrypted)
    views = MemoryViews()
    ViewWorker(encrypted.recorder, encrypted.mapper, views).catch_up()
    monkeypatch.setenv("GONGJI_CIPHER_KEY", OTHER_KEY)
    with pytest.raises(CipherKeyError, match="rebuild them"):
        ViewReader(views, encrypted.book).account(PERSON)


def test_audit_verify_works_with_the_key_and_fails_clearly_without(
        encrypted: Ledger, database_url: str, monkeypatch) -> None:
    scenario(encrypted)
    monkeypatch.setenv("GONGJI_DATABASE_URL", database_of(encrypted))
    runner = CliRunner()
    assert runner.invoke(cli, ["projections", "run", "--once"]).exit_code == 0

    result = runner.invoke(cli, ["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "ok: the events, the chain, the prices and the views agree" in result.output

    explained = runner.invoke(cli, ["audit", "explain", "A", "--json"])
    assert explained.exit_code == 0 and "ContributionCredited" in explained.output

    for key, says in ((None, "encrypted but GONGJI_CIPHER_KEY is not set"),
                      (OTHER_KEY, "GONGJI_CIPHER_KEY does not decrypt")):
        if key is None:
            monkeypatch.delenv("GONGJI_CIPHER_KEY")
        else:
            monkeypatch.setenv("GONGJI_CIPHER_KEY", key)
        result = runner.invoke(cli, ["audit", "verify"])
        assert result.exit_code == 2
        assert result.exception is None or isinstance(result.exception, SystemExit)
        text = " ".join(result.output.split())
        assert text.startswith("gongji: ") and says in text and "Traceback" not in text
        assert KEY not in text and OTHER_KEY not in text


def test_serve_refuses_to_start_without_the_key(encrypted: Ledger, database_url: str) -> None:
    """``gongji serve`` checks the key before starting workers: exit 2, one paragraph."""
    import os
    import subprocess

    from api_support import GONGJI, free_port

    enroll_with_history(encrypted)
    for key, says in (("", "encrypted but GONGJI_CIPHER_KEY is not set"),
                      (OTHER_KEY, "GONGJI_CIPHER_KEY does not decrypt")):
        env = {**os.environ, "GONGJI_DATABASE_URL": database_url, "GONGJI_CIPHER_KEY": key}
        done = subprocess.run([GONGJI, "serve", "--port", str(free_port())], env=env,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 2
        assert says in done.stderr and "Traceback" not in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1


# -- idempotency bodies ---------------------------------------------------------------------

BODY = {"person": PERSON, "birth_date": BORN, "balance": "0.00"}
CLIENT_KEY = f"enroll-{PERSON}"  # clients put what they like in an Idempotency-Key


def test_sql_idempotency_bodies_are_encrypted_with_the_key(encrypted: Ledger,
                                                         database_url: str) -> None:
    store = SqlStore(database_url, Codec.of(encrypted.mapper).cipher)
    try:
        assert once(store, "caller", CLIENT_KEY, "f1", lambda: (201, BODY)) == \
            (201, BODY, False)
        assert once(store, "caller", CLIENT_KEY, "f1", lambda: (500, None)) == \
            (201, BODY, True)
        with pytest.raises(LedgerError) as other:  # another request, same key
            once(store, "caller", CLIENT_KEY, "f2", lambda: (500, None))
        assert other.value.code == "duplicate_conflict"
        assert_no_personal_data(stored_rows(encrypted, "idempotency"))
    finally:
        store.close()
    plain = SqlStore(database_url)  # without the key: a new key, never a 500
    try:
        assert once(plain, "caller", CLIENT_KEY, "f1", lambda: (201, {})) == (201, {}, False)
    finally:
        plain.close()


def test_a_response_sealed_under_another_key_is_refused_not_a_500() -> None:
    """Defensive: a stored body that the current key cannot open is a 409, never a 500."""
    from api.idempotency import Bodies
    from ledger.crypto import field_cipher

    sealed = Bodies(field_cipher(KEY)).dump(BODY)
    assert sealed.startswith("aes:") and Bodies(field_cipher(KEY)).load(sealed, "k") == BODY
    for reader in (Bodies(field_cipher(OTHER_KEY)), Bodies(None)):
        with pytest.raises(LedgerError, match="encrypted under another key") as caught:
            reader.load(sealed, "k1")
        assert caught.value.code == "duplicate_conflict"


@pytest.mark.redis
def test_redis_idempotency_bodies_are_encrypted_with_the_key(redis_url: str, keyed) -> None:
    import redis

    from ledger.crypto import field_cipher

    store = RedisStore(redis_url, field_cipher())
    try:
        assert once(store, "caller", CLIENT_KEY, "f1", lambda: (201, BODY)) == \
            (201, BODY, False)
        assert once(store, "caller", CLIENT_KEY, "f1", lambda: (500, None)) == \
            (201, BODY, True)
    finally:
        store.close()
    client = redis.Redis.from_url(redis_url)
    try:
        names = client.keys("gongji:idempotency:caller:*")
        assert len(names) == 1
        raw = client.get(names[0])
    finally:
        client.close()
    assert raw is not None and json.loads(raw)["body"].startswith("aes:")
    assert_no_personal_data([names[0] + b"|" + raw])


def test_the_api_stores_encrypted_responses_and_replays_them(encrypted: Ledger,
                                                            database_url: str) -> None:
    encrypted.close()
    headers = {**auth(AGENCY), "Idempotency-Key": "visit-1"}
    visit = {"person": PERSON, "id": "V1", "date": "2024-03-15", "level": 1,
             "in_scope": "300.00"}
    with TestClient(create_app(settings(database_url, PARAMETERS))) as client:
        enrolled = client.post("/v1/people", headers=auth(AGENCY), json={
            "person": PERSON, "region": "suizhou", "birth_date": BORN})
        first = client.post("/v1/settlements", json=visit, headers=headers)
        again = client.post("/v1/settlements", json=visit, headers=headers)
    assert enrolled.status_code == 200 and first.status_code == 200, first.text
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json() and first.json()["person"] == PERSON
    ledger = open_ledger(database_url, PARAMETERS)
    try:
        assert_no_personal_data(stored_rows(ledger, "idempotency"))
        assert_no_personal_data(stored_rows(ledger, "events"))
    finally:
        ledger.close()


# -- key rotation ---------------------------------------------------------------------------

def target_url(database_url: str, tmp_path: Path, postgres_admin_or_none) -> str:
    if not database_url.startswith("postgresql"):
        return str(tmp_path / "rekeyed.db")
    base, schema = database_url.split("?schema=")
    postgres_admin_or_none.execute(f"CREATE SCHEMA {schema}_new")
    return f"{base}?schema={schema}_new"


@pytest.fixture
def admin(database_url: str, request: pytest.FixtureRequest):
    if not database_url.startswith("postgresql"):
        yield None
        return
    admin = request.getfixturevalue("postgres_admin")
    schema = database_url.split("?schema=")[1]
    yield admin
    admin.execute(f"DROP SCHEMA IF EXISTS {schema}_new CASCADE")


def test_rekey_copies_the_store_under_a_new_key(encrypted: Ledger, database_url: str,
                                               tmp_path: Path, admin, monkeypatch) -> None:
    scenario(encrypted)
    enroll_with_history(encrypted)  # with a snapshot
    events = encrypted.recorder.max_notification_id()
    encrypted.close()
    target = target_url(database_url, tmp_path, admin)
    monkeypatch.setenv("GONGJI_DATABASE_URL", database_url)
    monkeypatch.setenv("GONGJI_NEW_CIPHER_KEY", OTHER_KEY)
    result = CliRunner().invoke(cli, ["cipher", "rekey", target])
    assert result.exit_code == 0, result.output

    monkeypatch.setenv("GONGJI_CIPHER_KEY", OTHER_KEY)
    copy = open_ledger(target, PARAMETERS)
    try:
        assert copy.recorder.max_notification_id() == events
        assert copy.account_view("A").balance == 25000
        assert copy.account_view(PERSON).balance == 30000
        assert_no_personal_data(stored_rows(copy, "events"))
        assert_no_personal_data(stored_rows(copy, "snapshots"))
        assert len(stored_rows(copy, "snapshots")) == 1
        assert_no_personal_data(stored_rows(copy, "states"))  # rewritten under the new key
        assert len(stored_rows(copy, "states")) == copy.recorder.count_states() == 3
        assert list(copy.state_differences()) == []
    finally:
        copy.close()
    head = result.stdout.strip().splitlines()[-1]
    monkeypatch.setenv("GONGJI_DATABASE_URL", target)
    runner = CliRunner()
    assert runner.invoke(cli, ["projections", "run", "--once"]).exit_code == 0
    verified = runner.invoke(cli, ["audit", "verify", "--json"])
    assert verified.exit_code == 0, verified.output
    assert json.loads(verified.stdout[verified.stdout.index("{"):])["chain_head"] == head

    monkeypatch.setenv("GONGJI_CIPHER_KEY", KEY)  # the old key no longer opens the copy
    with pytest.raises(CipherKeyError, match="does not decrypt"):
        open_ledger(target, PARAMETERS)


def test_rekey_refuses_a_tampered_source_and_a_full_target(
        encrypted: Ledger, database_url: str, tmp_path: Path, admin, monkeypatch) -> None:
    from test_chain import execute

    scenario(encrypted, close=False)
    monkeypatch.setenv("GONGJI_DATABASE_URL", database_url)
    monkeypatch.setenv("GONGJI_NEW_CIPHER_KEY", OTHER_KEY)
    runner = CliRunner()
    refused = runner.invoke(cli, ["cipher", "rekey", database_url])
    assert refused.exit_code == 2 and "already holds events" in " ".join(refused.output.split())

    execute(encrypted, "DELETE FROM {events} WHERE {id} = 3")
    target = target_url(database_url, tmp_path, admin)
    refused = runner.invoke(cli, ["cipher", "rekey", target])
    text = " ".join(refused.output.split())
    assert refused.exit_code == 2 and "hash chain is broken" in text and "event #3" in text

    refused = runner.invoke(cli, ["cipher", "rekey", str(tmp_path / "no" / "such" / "x.db")])
    assert refused.exit_code == 2 and "cannot be used" in refused.output
    assert "Traceback" not in refused.output

    monkeypatch.delenv("GONGJI_NEW_CIPHER_KEY")
    refused = runner.invoke(cli, ["cipher", "rekey", target])
    assert refused.exit_code == 2 and "GONGJI_NEW_CIPHER_KEY is not set" in refused.output


def test_rekey_encrypts_a_plain_store(database_url: str, tmp_path: Path, admin,
                                      monkeypatch) -> None:
    monkeypatch.delenv("GONGJI_CIPHER_KEY", raising=False)
    plain = open_ledger(database_url, PARAMETERS)
    enroll_with_history(plain)
    plain.close()
    target = target_url(database_url, tmp_path, admin)
    monkeypatch.setenv("GONGJI_DATABASE_URL", database_url)
    monkeypatch.setenv("GONGJI_NEW_CIPHER_KEY", KEY)
    assert CliRunner().invoke(cli, ["cipher", "rekey", target]).exit_code == 0
    monkeypatch.setenv("GONGJI_CIPHER_KEY", KEY)
    copy = open_ledger(target, PARAMETERS)
    try:
        assert copy.account_view(PERSON).balance == 30000
        assert_no_personal_data(stored_rows(copy, "events"))
    finally:
        copy.close()


# -- the two AES libraries ------------------------------------------------------------------

def test_a_store_written_with_pycryptodome_is_read_with_cryptography(
        keyed: str, database_url: str) -> None:
    """Both of eventsourcing's AES-GCM ciphers store nonce, tag, ciphertext: either library
    reads what the other wrote (the faster one is used when both are installed)."""
    from ledger.crypto import FAST_TOPIC, PYCRYPTODOME_TOPIC, cipher_topic

    assert cipher_topic() == FAST_TOPIC
    slow = open_ledger(database_url, PARAMETERS, env={"CIPHER_TOPIC": PYCRYPTODOME_TOPIC})
    try:
        assert type(slow.mapper.cipher).__module__ == "eventsourcing.cipher"
        enroll_with_history(slow)
    finally:
        slow.close()
    fast = open_ledger(database_url, PARAMETERS)
    try:
        assert type(fast.mapper.cipher).__module__ == "eventsourcing.cryptography"
        assert fast.account_view(PERSON).balance == 30000
        assert_no_personal_data(stored_rows(fast, "events"))
    finally:
        fast.close()


def siv(key: bytes, fast: bool):
    from ledger.crypto import _Siv

    sealer = _Siv(key)
    sealer.fast = fast
    return sealer


def test_view_dates_seal_alike_with_either_library() -> None:
    key = bytes(range(64))
    sealed = siv(key, fast=True).encrypt(BORN.encode())
    assert siv(key, fast=False).encrypt(BORN.encode()) == sealed  # deterministic, same bytes
    for fast in (True, False):
        assert siv(key, fast).decrypt(sealed) == BORN.encode()
        with pytest.raises(ValueError):
            siv(bytes(64), fast).decrypt(sealed)
