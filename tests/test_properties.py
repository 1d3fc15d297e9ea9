"""Properties over random histories (hypothesis, bounded): money is never created or lost.

Each example runs a random sequence of FORMAT.md steps (many of them refused, which is
part of the point) against a fresh ledger in a temporary directory, and checks after every
step, from the step results alone, that

    Σ credits − Σ account debits + Σ restorations − Σ payouts = Σ balances      (DOMAIN.md 2)

and that no balance is ever negative. A second property reverses a random visit and finds
every balance and the person's pooling year exactly as before it.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from conformance.steps import OPS
from ledger.commands import EnrollPerson, parse
from ledger.service import Ledger
from policies.book import PolicyBook
from policies.errors import ErrorCode, LedgerError
from policies.money import format_fen
from conftest import PARAMETERS

BOOK = PolicyBook.load(PARAMETERS)
PEOPLE = {
    "A": {"region": "suizhou", "birth_date": "1975-04-02"},
    "B": {"region": "suizhou", "birth_date": "1958-09-30", "retired_on": "2015-06-30"},
    "C": {"region": "suizhou", "birth_date": "2001-01-01"},
    "T": {"region": "suizhou", "birth_date": "1980-01-01", "scheme": "pooling_only"},
}
NAMES = sorted(PEOPLE)
BOUNDED = settings(max_examples=50, deadline=None, database=None,
                   suppress_health_check=[HealthCheck.too_slow])


@contextmanager
def fresh_ledger() -> Iterator[Ledger]:
    with tempfile.TemporaryDirectory(prefix="gongji-property-") as tmp:
        app = Ledger(BOOK, database_url=str(Path(tmp) / "gongji.db"))
        try:
            for name, facts in PEOPLE.items():
                app.execute(EnrollPerson(person=name, **facts))
            yield app
        finally:
            app.close()


# -- strategies -------------------------------------------------------------------------------

people = st.sampled_from(NAMES)
leavers = st.sampled_from(["B", "C", "T"])  # A stays, so later steps still have an account
fen = st.integers(min_value=0, max_value=400_000).map(format_fen)
bases = st.integers(min_value=0, max_value=5_000_000).map(format_fen)
small_fen = st.integers(min_value=1, max_value=1_500).map(format_fen)


def day_in_2024(first: int = 0, last: int = 365) -> st.SearchStrategy[str]:
    return st.integers(min_value=first, max_value=last).map(
        lambda n: (dt.date(2024, 1, 1) + dt.timedelta(days=n)).isoformat())


days = day_in_2024()
months = st.integers(min_value=1, max_value=12).map(lambda m: f"2024-{m:02d}")
# few ids, so that retries, conflicts and reversals of earlier steps happen
visit_ids = st.sampled_from(["V0", "V1", "V2"])
spend_ids = st.sampled_from(["S0", "S1", "V0"])  # V0: a spend may collide with a visit

pay = st.one_of(
    st.just("own"), st.just("own"), st.just("none"),
    st.builds(lambda payer, first: {"family": payer, "own_first": first}, people, st.booleans()),
)
SHARES = [["1"], ["1/2", "1/2"], ["1/3", "1/3", "1/3"], ["1/6", "0.5", "1/3"], ["0.7", "0.3"]]

contribution = st.fixed_dictionaries({"op": st.just("contribution"), "person": people,
                                      "month": months, "base": bases})
allotment = st.fixed_dictionaries({"op": st.just("allotment"), "person": people,
                                   "month": months})
visit = st.fixed_dictionaries({
    "op": st.just("visit"), "person": people, "id": visit_ids, "date": days,
    "level": st.sampled_from([1, 2, 3]), "in_scope": fen,
    "out_of_scope": st.sampled_from(["0.00", "3.33", "50.00"]),
    "flags": st.sampled_from([[], [], ["not_designated"]]), "pay": pay})
spend = st.builds(
    lambda payer, other, for_family, purpose, amount, id, date: {
        "op": "spend", "payer": payer, "beneficiary": other if for_family else payer,
        "purpose": purpose, "amount": amount, "id": id, "date": date},
    people, people, st.sampled_from([False, False, True]),
    st.sampled_from(["pharmacy", "medical", "pharmacy", "medical", "pharmacy", "fitness"]),
    small_fen, spend_ids, days)
reverse = st.fixed_dictionaries({"op": st.just("reverse"), "id": visit_ids | spend_ids,
                                 "date": days})
bind = st.fixed_dictionaries({"op": st.just("bind"), "owner": people, "member": people,
                              "relation": st.sampled_from(["spouse", "child", "parent"]),
                              "date": day_in_2024(0, 90)})
unbind = st.fixed_dictionaries({"op": st.just("unbind"), "owner": people, "member": people,
                                "date": days})
transfer = st.fixed_dictionaries({"op": st.just("transfer"), "person": people,
                                  "to_region": st.sampled_from(["nanchang", "chongqing"]),
                                  "date": days})
emigrate = st.fixed_dictionaries({"op": st.just("emigrate"), "person": leavers,
                                  "date": day_in_2024(300, 365)})
death = st.fixed_dictionaries({"op": st.just("death"), "person": leavers,
                               "date": day_in_2024(200, 365)})


def heirs(shares: list[str]) -> list[dict[str, str]]:
    return [{"name": f"H{i}", "share": share} for i, share in enumerate(shares)]


inheritance = st.builds(
    lambda person, date, shares: {"op": "inheritance", "person": person, "date": date,
                                  "heirs": heirs(shares)},
    leavers, days, st.sampled_from(SHARES))
close_year = st.just({"op": "close_year", "year": 2024})
# a death followed by the heirs' payout, so that payouts of real balances happen often
death_and_heirs = st.builds(
    lambda person, died, paid, shares: [
        {"op": "death", "person": person, "date": died},
        {"op": "inheritance", "person": person, "date": paid, "heirs": heirs(shares)}],
    leavers, day_in_2024(200, 300), day_in_2024(301, 365), st.sampled_from(SHARES))

# weights: steps that move money come up more often than those that close an account
WEIGHTED = [(contribution, 4), (allotment, 1), (visit, 5), (spend, 4), (reverse, 2), (bind, 2),
            (unbind, 1), (transfer, 1), (emigrate, 1), (death, 1), (inheritance, 1),
            (close_year, 1), (death_and_heirs, 1)]
chunks = st.sampled_from([kind for kind, weight in WEIGHTED for _ in range(weight)]).flatmap(
    lambda kind: kind if kind is death_and_heirs else kind.map(lambda step: [step]))


def flat(parts: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return [step for part in parts for step in part]


histories = st.lists(chunks, min_size=8, max_size=25).map(flat)
prefixes = st.lists(chunks, min_size=3, max_size=12).map(flat)  # before the probe visit


# -- running and accounting -------------------------------------------------------------------


# The refusals each step may meet in these histories, and only these: any other code (a
# policy_invalid, an unknown_person, a concurrency_conflict, …) is a bug, not a refusal.
# invalid_input: binding oneself, a visit paid by the person's own "family" account, a
# transfer to the region the person is already in.
E = ErrorCode
EXPECTED_REFUSALS: dict[str, set[ErrorCode]] = {
    "contribution": {E.ACCOUNT_CLOSED, E.DUPLICATE_CONFLICT, E.NO_PERSONAL_ACCOUNT,
                     E.NOT_EMPLOYED},
    "allotment": {E.ACCOUNT_CLOSED, E.NO_PERSONAL_ACCOUNT, E.NOT_RETIRED},
    "visit": {E.ACCOUNT_CLOSED, E.DUPLICATE_CONFLICT, E.INVALID_INPUT, E.NO_PERSONAL_ACCOUNT,
              E.NOT_BOUND},
    "spend": {E.ACCOUNT_CLOSED, E.DUPLICATE_CONFLICT, E.INSUFFICIENT_BALANCE,
              E.NO_PERSONAL_ACCOUNT, E.NOT_BOUND, E.PURPOSE_NOT_ALLOWED},
    "reverse": {E.ALREADY_REVERSED, E.UNKNOWN_TRANSACTION, E.ACCOUNT_CLOSED},
    "bind": {E.ACCOUNT_CLOSED, E.DUPLICATE_CONFLICT, E.INVALID_INPUT, E.NO_PERSONAL_ACCOUNT,
             E.RELATION_NOT_ALLOWED},
    "unbind": {E.ACCOUNT_CLOSED, E.NOT_BOUND},
    "transfer": {E.ACCOUNT_CLOSED, E.DUPLICATE_CONFLICT, E.INVALID_INPUT},
    "emigrate": {E.ACCOUNT_CLOSED, E.DUPLICATE_CONFLICT, E.NO_PERSONAL_ACCOUNT},
    "death": {E.ACCOUNT_CLOSED, E.DUPLICATE_CONFLICT},
    "inheritance": {E.ACCOUNT_CLOSED, E.DUPLICATE_CONFLICT, E.NO_PERSONAL_ACCOUNT,
                    E.NOT_DEAD},
    "close_year": set(),
}


def run(ledger: Ledger, step: dict[str, Any]) -> Any | None:
    """The ledger's result for ``step``, or None when it is refused with an expected code."""
    data = {key: value for key, value in step.items() if key != "op"}
    try:
        return ledger.execute(parse(OPS[step["op"]].command, data, step["op"]))
    except LedgerError as error:
        assert error.code in EXPECTED_REFUSALS[step["op"]], (step, error.code, error.message)
        return None


class Books:
    """Money in and out of accounts, counted from step results only (retries once)."""

    def __init__(self) -> None:
        self.net = 0
        self.seen: set[tuple[Any, ...]] = set()

    def once(self, *key: Any) -> bool:
        first = key not in self.seen
        self.seen.add(key)
        return first

    def record(self, step: dict[str, Any], result: Any) -> None:
        op = step["op"]
        if op in ("contribution", "allotment"):
            if self.once("credit", step["person"], step["month"]):
                self.net += result.credited
        elif op == "visit":
            if self.once("txn", step["id"]):
                self.net -= result.own_paid + result.family_paid
        elif op == "spend":
            if self.once("txn", step["id"]):
                self.net -= result.paid
        elif op == "reverse":
            if self.once("reverse", step["id"]):
                self.net += result.restored
        elif op == "emigrate":
            self.net -= result.paid_out
        elif op == "inheritance":
            if self.once("inheritance", step["person"]):
                self.net -= sum(result.payouts.values())
        elif op == "close_year":
            self.net += result.interest


def balances(ledger: Ledger) -> dict[str, int]:
    return {name: ledger.account(name).balance for name in NAMES}


@BOUNDED
@given(histories)
def test_money_is_conserved_and_balances_never_go_negative(history: list[dict[str, Any]]) -> None:
    books = Books()
    with fresh_ledger() as ledger:
        for number, step in enumerate(history, start=1):
            result = run(ledger, step)
            if result is not None:
                books.record(step, result)
            now = balances(ledger)
            assert all(value >= 0 for value in now.values()), (number, step, now)
            assert sum(now.values()) == books.net, (number, step, now)


def usage(ledger: Ledger, name: str) -> dict[str, tuple[int, int, int, int]]:
    """Pooling accumulations, with a year that has none left out."""
    return {key: (p.in_scope, p.deductible_applied, p.fund_paid, p.over_cap)
            for key, p in ledger.account_view(name).pooling.items()
            if (p.in_scope, p.deductible_applied, p.fund_paid, p.over_cap) != (0, 0, 0, 0)}


@BOUNDED
@given(prefixes, people, st.sampled_from([1, 2, 3]), fen, pay, days)
def test_a_reversal_restores_exactly_the_state_before_the_settlement(
    history: list[dict[str, Any]], person: str, level: int, in_scope: str,
    paid_by: Any, date: str,
) -> None:
    with fresh_ledger() as ledger:
        for step in history:
            run(ledger, step)
        before = (balances(ledger), {name: usage(ledger, name) for name in NAMES})
        settled = run(ledger, {"op": "visit", "person": person, "id": "PROBE", "date": date,
                               "level": level, "in_scope": in_scope, "pay": paid_by})
        assume(settled is not None)
        restored = run(ledger, {"op": "reverse", "id": "PROBE", "date": date})
        assert restored is not None
        assert restored.restored == settled.own_paid + settled.family_paid
        assert (balances(ledger), {name: usage(ledger, name) for name in NAMES}) == before
