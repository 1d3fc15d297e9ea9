"""The read models' tables, declared once for every store (SQL, Redis, memory).

Every column is an integer or a text. A row is changed in two ways only:

- *added* columns are sums: a batch adds its delta (``balance += -1200``), so applying a
  batch twice would show — which is what the crash and recompute tests look for;
- *set* columns take the batch's last value; ``None`` means "not set by this batch" and
  keeps what is stored (``""`` is the stored "no value" of a text column).

Because every change is a delta or a last value keyed by the row's key, a store applies a
batch with one upsert per row and no reads, and the same batch means the same thing in
SQL, in Redis and in memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

INT, TEXT = "int", "text"


@dataclass(frozen=True, slots=True)
class Table:
    """A view table: ``keys`` identify a row; the first key is what rows are listed by.

    The names, the types and the empty row are worked out once, here: a balance read
    asks for them for every row it returns (a sixth of its CPU when they were rebuilt
    on each call)."""

    name: str
    keys: tuple[tuple[str, str], ...]
    added: tuple[str, ...] = ()
    set: tuple[tuple[str, str], ...] = ()
    key_names: tuple[str, ...] = field(init=False, repr=False, compare=False)
    columns: tuple[str, ...] = field(init=False, repr=False, compare=False)
    ints: frozenset[str] = field(init=False, repr=False, compare=False)
    blank: Mapping[str, Any] = field(init=False, repr=False, compare=False)
    _types: Mapping[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        key_names = tuple(name for name, _ in self.keys)
        columns = key_names + self.added + tuple(name for name, _ in self.set)
        types = {**dict(self.keys), **{name: INT for name in self.added}, **dict(self.set)}
        fix = object.__setattr__
        fix(self, "key_names", key_names)
        fix(self, "columns", columns)
        fix(self, "ints", frozenset(name for name, kind in types.items() if kind == INT))
        # a row with every column: sums 0, unset values None
        fix(self, "blank", {name: 0 if name in self.added else None for name in columns})
        fix(self, "_types", types)

    def types(self) -> Mapping[str, str]:
        """Each column's type (INT or TEXT), keys first (shared: read it, do not change it)."""
        return self._types


PEOPLE = Table("people", (("account_id", TEXT),), set=(("person", TEXT),))
ACCOUNTS = Table(
    "accounts", (("person", TEXT),), added=("balance",),
    set=(("account_id", TEXT), ("region", TEXT), ("scheme", TEXT), ("has_account", INT),
         ("birth_date", TEXT), ("retired_on", TEXT), ("status", TEXT), ("death_date", TEXT),
         ("version", INT)),
)
POOLING = Table(
    "pooling", (("person", TEXT), ("region", TEXT), ("year", INT)),
    added=("in_scope", "deductible_applied", "fund_paid", "over_cap", "visits"),
    set=(("closed", INT), ("cap", INT), ("forfeited", INT)),
)
TRANSACTIONS = Table(
    "transactions", (("aggregate_id", TEXT),),
    set=(("client_id", TEXT), ("kind", TEXT), ("person", TEXT), ("date", TEXT),
         ("region", TEXT), ("year", INT), ("level", INT), ("purpose", TEXT),
         ("payer", TEXT), ("fund_paid", INT), ("own_paid", INT), ("family_paid", INT),
         ("cash_paid", INT), ("reversed_on", TEXT),
         # what a visit's reversal takes back out of the monitoring views (#15)
         ("institution", TEXT), ("category", TEXT), ("in_scope", INT), ("out_of_scope", INT),
         ("over_cap", INT), ("capped", INT)),
)
BINDINGS = Table(
    "bindings", (("owner", TEXT), ("member", TEXT)),
    set=(("relation", TEXT), ("bound_from", TEXT), ("unbound_on", TEXT)),
)
FAMILY = Table(
    "family", (("payer", TEXT), ("beneficiary", TEXT), ("purpose", TEXT)),
    added=("paid", "payments", "reversed"),
)
FUNDS = Table(
    "funds", (("region", TEXT), ("year", INT), ("month", INT), ("level", INT)),
    added=("fund_paid", "account_paid", "family_paid", "cash_paid", "visits", "reversed"),
)
DAILY = Table("daily", (("person", TEXT), ("day", TEXT)), added=("change",))
# -- fund monitoring (基金运行监测, projections.monitoring) ------------------------------
#: the monthly fund statement: one row per region, value-date month and statement line
STATEMENT = Table(
    "statement", (("region", TEXT), ("year", INT), ("month", INT), ("line", TEXT)),
    added=("amount", "count"),
)
#: a designated institution's visits of a month, at one level ("" = unknown institution)
INSTITUTIONS = Table(
    "institutions", (("region", TEXT), ("year", INT), ("month", INT), ("level", INT),
                     ("institution", TEXT)),
    added=("visits", "in_scope", "total", "out_of_scope", "fund_paid", "account_paid",
           "cash_paid", "reversed"),
)
#: the day an account entered a region (``since``: "" at enrolment, from the start; else the
#: day of its TransferredIn): the region as of a day, for the statement's tie-out
REGIONS = Table("regions", (("person", TEXT), ("since", TEXT)), set=(("region", TEXT),))
#: reviews of account-use alerts (AlertReviewed events), by alert
REVIEWS = Table(
    "reviews", (("alert", TEXT), ("review", TEXT)),
    set=(("outcome", TEXT), ("note", TEXT), ("reviewer", TEXT), ("role", TEXT),
         ("day", TEXT)),
)

TABLES: tuple[Table, ...] = (PEOPLE, ACCOUNTS, POOLING, TRANSACTIONS, BINDINGS, FAMILY,
                             FUNDS, DAILY, STATEMENT, INSTITUTIONS, REGIONS, REVIEWS)
BY_NAME = {table.name: table for table in TABLES}
