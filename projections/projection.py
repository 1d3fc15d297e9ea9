"""The ledger's read models as a projection: stored events in, one batch of row changes out.

Events are decoded straight from their stored JSON (no aggregate is rebuilt, no domain
event object is made): that is what lets a rebuild run at hundreds of thousands of events
a second. Dates stay ISO strings. Each handler turns one event into deltas and last values
of view rows (see :mod:`projections.tables`); a whole batch of events becomes one
:class:`ViewBatch`, which a store writes in one transaction with the tracking position.

Two facts are not in the events that need them, and are looked up: the person behind an
account id (account events carry only the id; ``Enrolled`` names the person) and, for a
reversal, what the reversed transaction paid (``Reversed`` carries only the date). Both
come from rows this projection wrote earlier (``people``, ``transactions``), from the same
batch first.
"""

from __future__ import annotations

import orjson
from collections.abc import Callable, Sequence
from itertools import islice
from typing import Any

from eventsourcing.utils import get_topic

from ledger.account import DECEASED, EMIGRATED, SETTLED, Account
from ledger.crypto import ViewFields, state_decoder  # noqa: F401  (re-exported)
from ledger.movement import MOVING, Kind
from ledger.reviews import AlertReview
from ledger.transaction import LumpSum, Settlement, Spending, Transaction
from projections.log import LogRow
from projections.monitoring.flows import FlowHandlers, FlowMover, visit_figures, year_month
from projections.tables import (
    ACCOUNTS,
    BINDINGS,
    DAILY,
    FAMILY,
    FUNDS,
    PEOPLE,
    POOLING,
    REVIEWS,
    TABLES,
    TRANSACTIONS,
)

Key = tuple[Any, ...]
Row = dict[str, Any]
Lookup = Callable[[str, Sequence[Key]], dict[Key, Row]]
#: Transactions remembered from earlier batches, so that their reversal needs no lookup.
RECENT = 200_000
Handler = Callable[["ViewBatch", str, dict[str, Any]], None]


class ViewBatch:
    """Row changes of a batch of events: per table, per key, ``[added, set]``."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[Key, list[Row]]] = {table.name: {} for table in TABLES}
        self.last = 0  # the notification id the views reach with this batch

    def row(self, table: str, key: Key) -> list[Row]:
        rows = self.rows[table]
        change = rows.get(key)
        if change is None:
            change = rows[key] = [{}, {}]
        return change

    def add_one(self, table: str, key: Key, column: str, delta: int) -> None:
        """The hot path of :meth:`add`: one column of one row."""
        rows = self.rows[table]
        change = rows.get(key)
        if change is None:
            rows[key] = [{column: delta}, {}]
        else:
            added = change[0]
            added[column] = added.get(column, 0) + delta

    def add(self, table: str, key: Key, **deltas: int) -> None:
        rows = self.rows[table]
        change = rows.get(key)
        if change is None:
            rows[key] = [deltas, {}]  # a fresh dict of this call's: kept as it is
            return
        added = change[0]
        for name, delta in deltas.items():
            added[name] = added.get(name, 0) + delta

    def set(self, table: str, key: Key, **values: Any) -> None:
        rows = self.rows[table]
        change = rows.get(key)
        if change is None:
            rows[key] = [{}, values]
        else:
            change[1].update(values)

    def merge(self, other: ViewBatch) -> None:
        """Add ``other``'s changes to these (sums added, values set: ``other`` is later)."""
        for table, changes in other.rows.items():
            for key, (added, values) in changes.items():
                change = self.row(table, key)
                for name, delta in added.items():
                    change[0][name] = change[0].get(name, 0) + delta
                change[1].update(values)

    def pending(self, table: str, key: Key) -> Row | None:
        change = self.rows.get(table, {}).get(key)
        return change[1] if change else None


def _day(value: dict[str, str]) -> str:
    return value["_data_"]  # a DateAsISO transcoding: {"_type_": "date_iso", "_data_": …}


class LedgerProjection:
    """Turns the ledger's stored events into view row changes, batch by batch."""

    def __init__(self, lookup: Lookup, decode: Callable[[bytes], dict[str, Any]] = orjson.loads,
                 fields: ViewFields | None = None):
        self.lookup = lookup
        self.decode = decode
        self.seal = (fields or ViewFields.from_env()).seal  # birth/retirement/death dates
        self.people: dict[str, str] = {}  # account id (hex) -> person
        self.recent: dict[str, Row] = {}  # transaction (hex) -> its row, newest last
        self.regions: dict[str, str] = {}  # person -> the account's region now
        self.flows = FlowHandlers(self.regions)  # fund monitoring views (#15)
        effects: dict[str, Handler] = {  # what an event does besides moving the balance
            "Retired": self._retired,
            "VisitPooled": self._pooled,
            "VisitUnpooled": self._unpooled,
            "YearClosed": self._year_closed,
            "FamilyMemberBound": self._bound,
            "FamilyMemberUnbound": self._unbound,
            "TransferredIn": self._transferred_in,
            "EmigrationPaidOut": self._emigrated,
            "Died": self._died,
            "InheritancePaidOut": self._inherited,
        }
        # the balance, the daily changes and the fund statement move as ledger.movement
        # says, for every kind
        flows = self.flows.movers()
        self.account_handlers: dict[str, Handler] = {
            get_topic(getattr(Account, name)): (
                self._mover(MOVING[name], flows[name], effects.get(name)) if name in MOVING
                else effects[name])
            for name in dict.fromkeys([*MOVING, *effects])
        }
        self.enrolled = get_topic(Account.Enrolled)
        self.transaction_handlers: dict[str, Callable[[ViewBatch, str, dict[str, Any]], None]] = {
            get_topic(Settlement.Settled): self._settled,
            get_topic(Spending.Recorded): self._spent,
            get_topic(LumpSum.Credited): self._lump_sum,
            get_topic(Transaction.Reversed): self._reversed,
            get_topic(AlertReview.Reviewed): self._reviewed,
        }

    # -- the batch ----------------------------------------------------------------------

    def apply(self, rows: Sequence[LogRow]) -> ViewBatch:
        """Row changes for ``rows`` of the log (in notification order)."""
        batch = ViewBatch()
        if not rows:
            return batch
        batch.last = rows[-1][0]
        self._resolve_people(rows)
        account, transaction, enrolled = (
            self.account_handlers, self.transaction_handlers, self.enrolled)
        decode, people, versions = self.decode, self.people, {}
        for _, originator, version, topic, state in rows:
            handler = account.get(topic)
            if handler is not None:
                person = people[originator]
                handler(batch, person, decode(state))
                versions[person] = version
            elif topic == enrolled:
                self._enrolled(batch, originator, decode(state))
            else:
                handler = transaction.get(topic)
                if handler is not None:
                    handler(batch, originator, decode(state))
        for person, version in versions.items():
            batch.set(ACCOUNTS.name, (person,), version=version)
        self._remember(batch)
        return batch

    def _remember(self, batch: ViewBatch) -> None:
        """Keep the values of the batch's new transactions (the last :data:`RECENT`): a
        reversal in a later batch then finds them here instead of waiting for the batch's
        write and looking it up (:meth:`_recent` completes them to the stored row)."""
        recent = self.recent
        for (key,), (_, values) in batch.rows[TRANSACTIONS.name].items():
            if "kind" in values:
                recent[key] = values
        if len(recent) > RECENT:  # the oldest go: as many keys copied as leave, not all
            for key in list(islice(recent, len(recent) - RECENT)):
                del recent[key]

    def _recent(self, transaction: str) -> Row | None:
        """The row of a transaction of an earlier batch as the views store it (every
        column), if remembered."""
        values = self.recent.get(transaction)
        if values is None:
            return None
        row = {name: values.get(name) for name in TRANSACTIONS.columns}
        row["aggregate_id"] = transaction
        return row

    def _resolve_people(self, rows: Sequence[LogRow]) -> None:
        """Look up, in one go, the persons of accounts enrolled before this batch.

        An account enrolled in this batch is not looked up: its ``Enrolled`` (its version
        1) comes before its other events and names the person. (Looking it up found
        nothing, and in a rebuild's child it waited for the writer to catch up first.)"""
        handled, people, enrolled = self.account_handlers, self.people, self.enrolled
        # one pass: each unknown account's first event of the batch among its handled ones
        # and its Enrolled (reversed, so the earliest wins); Enrolled first: enrolled here
        first = {row[1]: row[3] for row in reversed(rows)
                 if row[1] not in people and (row[3] in handled or row[3] == enrolled)}
        unknown = [hex_id for hex_id, topic in first.items() if topic != enrolled]
        if unknown:
            found = self.lookup(PEOPLE.name, [(hex_id,) for hex_id in unknown])
            people.update({key[0]: row["person"] for key, row in found.items()})
            persons = [(row["person"],) for row in found.values()
                       if row["person"] not in self.regions]
            if persons:
                accounts = self.lookup(ACCOUNTS.name, persons)
                self.regions.update({key[0]: row["region"] for key, row in accounts.items()})

    # -- account events -----------------------------------------------------------------

    def _enrolled(self, batch: ViewBatch, account_id: str, d: dict[str, Any]) -> None:
        person = d["person"]
        self.people[account_id] = person
        self.flows.entered(batch, person, "", d["region"])
        batch.set(PEOPLE.name, (account_id,), person=person)
        retired = d["retired_on"]
        change = batch.row(ACCOUNTS.name, (person,))
        change[0]["balance"] = change[0].get("balance", 0)
        change[1].update(
            account_id=account_id, region=d["region"], scheme=d["scheme"],
            has_account=int(d["has_account"]), birth_date=self.seal(_day(d["birth_date"])),
            retired_on=self.seal(_day(retired)) if retired else "", status="active",
            death_date="",
            version=1,
        )

    def _mover(self, kind: Kind, flow: FlowMover, effect: Handler | None) -> Handler:
        """The handler of an event kind that moves the balance: the balance, the day's
        change and the statement line (``flow``) by the kind's sign and value date, then
        ``effect``. One function per kind: the hot path of a rebuild."""
        sign, day_of, add = kind.sign, kind.stored_day, ViewBatch.add_one
        accounts, daily = ACCOUNTS.name, DAILY.name

        def move(batch: ViewBatch, person: str, d: dict[str, Any]) -> None:
            amount = d["amount"]
            if type(amount) is not int:  # a tampered body: named, never multiplied as text
                raise TypeError(f"balance is {amount!r}, not an integer")
            day = day_of(d)
            add(batch, accounts, (person,), "balance", sign * amount)
            add(batch, daily, (person, day), "change", sign * amount)
            flow(batch, person, d, day)
            if effect is not None:
                effect(batch, person, d)

        return move

    def _retired(self, batch: ViewBatch, person: str, d: dict[str, Any]) -> None:
        batch.set(ACCOUNTS.name, (person,), retired_on=self.seal(_day(d["date"])))

    def _pooled(self, batch: ViewBatch, person: str, d: dict[str, Any], sign: int = 1) -> None:
        added = batch.row(POOLING.name, (person, d["region"], d["year"]))[0]
        for name in ("eligible_in_scope", "deductible_applied", "fund_paid", "over_cap"):
            column = "in_scope" if name == "eligible_in_scope" else name
            added[column] = added.get(column, 0) + sign * d[name]
        added["visits"] = added.get("visits", 0) + (sign > 0)  # a reversal keeps the count

    def _unpooled(self, batch: ViewBatch, person: str, d: dict[str, Any]) -> None:
        self._pooled(batch, person, d, sign=-1)

    def _year_closed(self, batch: ViewBatch, person: str, d: dict[str, Any]) -> None:
        for closing in d["pooling"]:
            batch.set(POOLING.name, (person, closing["region"], d["year"]), closed=1,
                      cap=closing["cap"], forfeited=closing["forfeited"])

    def _bound(self, batch: ViewBatch, person: str, d: dict[str, Any]) -> None:
        batch.set(BINDINGS.name, (person, d["member"]), relation=d["relation"],
                  bound_from=_day(d["date"]), unbound_on="")

    def _unbound(self, batch: ViewBatch, person: str, d: dict[str, Any]) -> None:
        batch.set(BINDINGS.name, (person, d["member"]), unbound_on=_day(d["date"]))

    def _transferred_in(self, batch: ViewBatch, person: str, d: dict[str, Any]) -> None:
        batch.set(ACCOUNTS.name, (person,), region=d["region"], scheme=d["scheme"])

    def _emigrated(self, batch: ViewBatch, person: str, d: dict[str, Any]) -> None:
        batch.set(ACCOUNTS.name, (person,), status=EMIGRATED)

    def _died(self, batch: ViewBatch, person: str, d: dict[str, Any]) -> None:
        batch.set(ACCOUNTS.name, (person,), status=DECEASED,
                  death_date=self.seal(_day(d["date"])))

    def _inherited(self, batch: ViewBatch, person: str, d: dict[str, Any]) -> None:
        batch.set(ACCOUNTS.name, (person,), status=SETTLED)

    # -- transaction events -------------------------------------------------------------

    def _settled(self, batch: ViewBatch, transaction: str, d: dict[str, Any]) -> None:
        r, figures = d["result"], visit_figures(d)
        self.flows.settled(batch, figures)  # the monitoring views' figures, kept on the row
        region, day, family_paid = r["region"], figures["date"], r["family_paid"]
        payer = r["family_payer"] or ""
        batch.set(TRANSACTIONS.name, (transaction,), client_id=d["client_id"], kind="visit",
                  person=d["person"], date=day, region=region, year=r["year"],
                  level=r["level"], purpose="medical", payer=payer, fund_paid=r["fund_paid"],
                  own_paid=r["own_paid"], family_paid=family_paid, cash_paid=r["cash_paid"],
                  reversed_on="", institution=figures["institution"],
                  category=figures["category"], in_scope=figures["in_scope"],
                  out_of_scope=figures["out_of_scope"], over_cap=figures["over_cap"],
                  capped=figures["capped"])
        batch.add(FUNDS.name, (region, r["year"], year_month(day)[1], r["level"]),
                  fund_paid=r["fund_paid"], account_paid=r["own_paid"] + family_paid,
                  family_paid=family_paid, cash_paid=r["cash_paid"], visits=1)
        if family_paid:
            batch.add(FAMILY.name, (payer, d["person"], "medical"), paid=family_paid,
                      payments=1)

    def _spent(self, batch: ViewBatch, transaction: str, d: dict[str, Any]) -> None:
        """A spend: from the payer's account, a family member's, or own first then family."""
        r, beneficiary = d["result"], d["beneficiary"]
        family_paid, payer = r["family_paid"], r["family_payer"] or d["debits"][0]["person"]
        batch.set(TRANSACTIONS.name, (transaction,), client_id=d["client_id"], kind="spend",
                  person=beneficiary, date=d["request"]["date"], purpose=d["purpose"],
                  payer=payer, fund_paid=0, own_paid=r["own_paid"], family_paid=family_paid,
                  cash_paid=0, reversed_on="")
        if family_paid:
            batch.add(FAMILY.name, (payer, beneficiary, d["purpose"]), paid=family_paid,
                      payments=1)

    def _lump_sum(self, batch: ViewBatch, transaction: str, d: dict[str, Any]) -> None:
        batch.set(TRANSACTIONS.name, (transaction,), client_id=d["client_id"], kind="lump_sum",
                  person=d["person"], date=d["request"]["date"], reversed_on="")

    def _reversed(self, batch: ViewBatch, transaction: str, d: dict[str, Any]) -> None:
        """冲正: take the reversed transaction's figures back out of the totals."""
        original = batch.pending(TRANSACTIONS.name, (transaction,)) \
            or self._recent(transaction)
        if original is None:
            original = self.lookup(TRANSACTIONS.name, [(transaction,)])[(transaction,)]
        batch.set(TRANSACTIONS.name, (transaction,), reversed_on=_day(d["date"]))
        family_paid = original["family_paid"]
        if original["kind"] == "visit":
            day = original["date"]
            batch.add(FUNDS.name, (original["region"], original["year"], year_month(day)[1],
                                   original["level"]),
                      fund_paid=-original["fund_paid"],
                      account_paid=-(original["own_paid"] + family_paid),
                      family_paid=-family_paid, cash_paid=-original["cash_paid"], visits=-1,
                      reversed=1)
            self.flows.settled(batch, original, sign=-1)
        if family_paid:
            batch.add(FAMILY.name, (original["payer"], original["person"], original["purpose"]),
                      paid=-family_paid, payments=-1, reversed=1)

    def _reviewed(self, batch: ViewBatch, review: str, d: dict[str, Any]) -> None:
        """A review of an account-use alert (AlertReviewed): who looked, and what they said."""
        batch.set(REVIEWS.name, (d["alert"], d["review_id"]), outcome=d["outcome"],
                  note=d["note"], reviewer=d["reviewer"], role=d["role"],
                  day=_day(d["date"]))
