"""``--workers N``: a job decided in N processes by key range and written by one gives
what one process gives: the same balances, summaries that tie out, one rejects file."""

from __future__ import annotations

import pickle
import queue
import threading
from pathlib import Path
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from jobs_support import PEOPLE_HEADER, balances, contributions, rejects, write

from ledger import Ledger
from ledger.adapters.batch import BatchWriter, Prepared
from ledger.ids import as_uuid, hex_of
from ledger.jobs import Shard, close_year, credit_month, import_people, workers


def test_two_workers_credit_and_close_everyone_exactly_once(ledger: Ledger,
                                                            tmp_path: Path) -> None:
    names = [f"P{i:05d}" for i in range(60)]
    people = write(tmp_path / "people.csv", PEOPLE_HEADER + "".join(
        f"{n},suizhou,1985-07-01,,,,\n" for n in names) + "BAD,nowhere,1985-07-01,,,,\n")
    enrolled = import_people(ledger, people, tmp_path / "p.rejects.csv", batch_size=7,
                             workers=2)
    assert (enrolled.written, enrolled.ties_out, enrolled.other_shards) == (60, True, 0)
    assert [r[0] for r in rejects(tmp_path / "p.rejects.csv")] == ["62"]
    file = contributions(tmp_path, names, "2024-03")
    with file.open("a") as more:  # refused rows from both key ranges, in line order after
        more.write("NOBODY,2024-03,5000.00\nP00001,2024-03,1.00\nP00059,2024-03,x\n")
    summary = credit_month(ledger, file, tmp_path / "c.rejects.csv", batch_size=5, workers=2)
    assert summary.written == 60 and summary.ties_out and summary.batches >= 2
    assert summary.credited == sum(balances(ledger, names).values())
    assert [(r[0], r[4]) for r in rejects(tmp_path / "c.rejects.csv")] == [
        ("62", "unknown_person"), ("63", "duplicate_conflict"), ("64", "invalid_input")]
    assert not list(tmp_path.glob("*.part*"))
    again = credit_month(ledger, file, tmp_path / "c2.rejects.csv", workers=2)
    assert (again.written, again.already) == (0, 60)

    closed = close_year(ledger, 2024, tmp_path / "y.csv", shard=Shard(2, 2), workers=2)
    other = close_year(ledger, 2024, tmp_path / "y1.csv", shard=Shard(1, 2), workers=3)
    assert closed.written + other.written == 60 and closed.ties_out and other.ties_out
    assert all(2024 in ledger.account(n).closed_years for n in names)
    assert list(ledger.state_differences()) == []


def test_a_handed_batch_refused_by_the_writer_is_redone_and_counted_once(
        ledger: Ledger, tmp_path: Path, monkeypatch) -> None:
    """A deciding process hands a batch over and decides the next one before the answer
    comes; a refused batch is redone account by account and counted once, when redone.
    The writing process is a thread here: it refuses the first batch without storing it
    (as a clash with another writer would) and commits the others."""
    names = [f"Q{i:04d}" for i in range(23)]
    people = write(tmp_path / "people.csv", PEOPLE_HEADER + "".join(
        f"{n},suizhou,1985-07-01,,,,\n" for n in names))
    assert import_people(ledger, people, tmp_path / "p.rejects.csv").written == 23
    inbox: queue.Queue = queue.Queue()
    answers: queue.Queue = queue.Queue()
    handed: list[int] = []
    early: list[bool] = []  # did the 2nd batch come before the 1st one's answer went?
    store = BatchWriter(ledger)

    def writing() -> None:
        while (message := inbox.get())[0] != "stop":
            if message[0] != "batch":
                continue
            handed.append(len(message[2].events))
            if len(handed) > 1:
                answers.put(store.submit(message[2]))
                continue
            try:  # the first batch: its answer (refused) waits for the next batch
                following = inbox.get(timeout=10)
            except queue.Empty:
                following = ("none", 0, None)
            early.append(following[0] == "batch")
            answers.put(False)
            inbox.put(following)  # handled next, as if it came now

    thread = threading.Thread(target=writing, daemon=True)
    thread.start()
    monkeypatch.setattr(workers, "_current", workers._Worker(1, inbox, answers))
    try:
        summary = credit_month(ledger, contributions(tmp_path, names, "2024-03"),
                               tmp_path / "c.rejects.csv", batch_size=5)
    finally:
        inbox.put(("stop", 0, None))
        thread.join(10)
    assert handed[0] == 5 and sum(handed) == 23  # the refused batch is not handed again
    assert early == [True]  # decided and handed while the first was with the writer
    assert (summary.written, summary.fallbacks, summary.ties_out) == (23, 1, True)
    assert summary.credited == sum(balances(ledger, names).values()) > 0
    assert list(ledger.state_differences()) == []


def test_a_batch_crosses_to_the_writer_with_the_ids_its_store_keeps(
        ledger: Ledger, tmp_path: Path, monkeypatch) -> None:
    """On SQLite (ids kept as 32-digit hex) a batch's events, state rows and months carry
    their ids as that hex from the direct path on, cross to the writing process so, and
    are stored as the ``UUID`` ones would be; on PostgreSQL they stay ``UUID``s. A batch
    of ``UUID``s sent to a hex store crosses as hex; snapshots always as ``UUID``s."""
    names = [f"H{i:04d}" for i in range(6)]
    people = write(tmp_path / "people.csv", PEOPLE_HEADER + "".join(
        f"{n},suizhou,1985-07-01,,,,\n" for n in names))
    assert import_people(ledger, people, tmp_path / "p.rejects.csv").written == 6
    decided: list[Prepared] = []

    class Keeping(BatchWriter):
        def submit(self, prepared: Prepared) -> bool:
            decided.append(prepared)
            return False  # nothing stored: redone one by one, as a clash would be

    writer = Keeping(ledger)
    monkeypatch.setattr(workers, "writer_for", lambda _: writer)
    summary = credit_month(ledger, contributions(tmp_path, names, "2024-03"),
                           tmp_path / "c.rejects.csv", batch_size=100)
    assert (summary.written, summary.fallbacks) == (6, 1)
    (prepared,) = decided
    sqlite = type(ledger.recorder).__name__ == "StateSQLiteRecorder"
    assert prepared.hex_ids is sqlite
    kind = str if sqlite else UUID
    ids = [e.originator_id for e in prepared.events]
    assert all(type(i) is kind for i in ids) and ids == sorted(ids)
    assert [s.originator_id for s in prepared.states] == ids
    assert sorted(i for i, _ in prepared.months) == ids
    crossed = pickle.loads(pickle.dumps(prepared))
    for ours, theirs in ((prepared.events, crossed.events), (prepared.states, crossed.states)):
        assert [(e.originator_id, e.originator_version, e.topic, e.state) for e in theirs] \
            == [(e.originator_id, e.originator_version, e.topic, e.state) for e in ours]
    assert crossed.months == prepared.months and crossed.counts == prepared.counts
    # a batch of UUIDs (the usual path's) handed to a hex store crosses as hex
    as_uuids = Prepared([StoredEvent(as_uuid(e.originator_id), e.originator_version, e.topic,
                                     e.state) for e in prepared.events],
                        months=[(as_uuid(i), m) for i, m in prepared.months], hex_ids=True)
    crossed = pickle.loads(pickle.dumps(as_uuids))
    assert [e.originator_id for e in crossed.events] == [hex_of(i) for i in ids]
    assert [i for i, _ in crossed.months] == [hex_of(i) for i, _ in prepared.months]
    # the rows were stored by the one-by-one redo: the batch again is stale, refused, and
    # the state rows it names (by hex or UUID) are checked and left right
    assert BatchWriter(ledger).submit(pickle.loads(pickle.dumps(prepared))) is False
    assert list(ledger.state_differences()) == []
