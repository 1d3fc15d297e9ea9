"""The settlement write path's shortcuts give what the general path gives.

- A transaction read from its events alone (``LedgerCore.unsnapshotted``, used by the
  prefetch and ``find_transaction``) equals the aggregate the repository rebuilds
  (snapshot store, cache, deep copy), before and after a reversal, and a retry of the
  visit answers the first result.
- ``flat_record`` is ``dataclasses.asdict`` for every result a transaction stores.
"""

from __future__ import annotations

from dataclasses import asdict

from ledger import commands as c
from ledger.ids import transaction_id
from ledger.results import flat_record


def _same(a: object, b: object) -> None:
    assert type(a) is type(b)
    assert vars(a) == vars(b)


def test_transaction_from_its_events_equals_the_rebuilt_one(ledger) -> None:
    ledger.enroll(c.EnrollPerson(person="A", region="suizhou", birth_date="1970-01-01"))
    ledger.credit_contribution(c.RecordContribution(person="A", month="2024-01",
                                                    base="5000.00"))
    visit = c.SettleVisit(person="A", id="V1", date="2024-06-01", level=1,
                          in_scope="80.00", out_of_scope="5.00")
    first = ledger.settle_visit(visit)
    tid = transaction_id("V1")
    _same(ledger.find_transaction("V1"), ledger.rebuild(tid))
    assert ledger.settle_visit(visit) == first  # the retry: read from its events
    assert flat_record(first) == asdict(first)
    assert list(flat_record(first)) == list(asdict(first))
    reversed_ = ledger.reverse(c.Reverse(id="V1", date="2024-06-02"))
    assert flat_record(reversed_) == asdict(reversed_)
    _same(ledger.find_transaction("V1"), ledger.rebuild(tid))
    assert ledger.find_transaction("nothing") is None
    assert ledger.unsnapshotted(transaction_id("nothing")) is None
