"""A synthetic year of one region, driven through the application service (``gongji demo``).

It exists to show the whole ledger working end to end on the embedded store and to give
a number for its write rate: a reproducible population (``seed``) is enrolled, credited
monthly, visits doctors, pays for family, retires, dies, moves away, and the year is
closed. Every figure of the summary is summed from the commands' own results, and the
tie-out compares it with the balances read back from the accounts.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from ledger import commands as c
from ledger import results as r
from ledger.service import Ledger
from policies.calendar import Month
from policies.errors import LedgerError
from policies.money import format_fen

DEMO_YEAR = {"suizhou": 2023, "nanchang": 2024, "jilin": 2024, "yunnan": 2025, "chongqing": 2024}
DEMO_PARAMETERS = {
    "jilin": {"deductible": "800.00", "rates_employed": ["0.60", "0.55", "0.50"],
              "retired_extra": "0.05", "cap_employed": "1500.00", "cap_retired": "1800.00",
              "average_pension": "3000.00"},
    "nanchang": {"average_pension": "3100.00"},
}
RELATIONS = ("spouse", "parent", "child")


@dataclass
class Totals:
    """Money movements summed from command results, in fen."""

    people: int = 0
    commands: int = 0
    refused: dict[str, int] = field(default_factory=dict)
    credited: int = 0
    fund_paid: int = 0
    account_paid: int = 0
    family_paid: int = 0
    cash_paid: int = 0
    spent: int = 0
    restored: int = 0
    paid_out: int = 0
    visits: int = 0
    pooling_years_closed: int = 0

    @property
    def debited(self) -> int:
        return self.account_paid + self.spent + self.paid_out

    def add(self, result: object) -> None:
        """Fold one command's result into the totals."""
        match result:
            case r.Credited(credited=amount):
                self.credited += amount
            case r.VisitResult():
                self.visits += 1
                self.fund_paid += result.fund_paid
                self.account_paid += result.account_paid
                self.family_paid += result.family_paid
                self.cash_paid += result.cash_paid
            case r.SpendResult(paid=amount):
                self.spent += amount
            case r.Reversed(restored=amount):
                self.restored += amount
            case r.InheritancePaid(payouts=payouts):
                self.paid_out += sum(payouts.values())
            case r.YearClosed(closed=closed, interest=interest):
                self.pooling_years_closed += closed
                self.credited += interest


@dataclass(frozen=True)
class Person:
    name: str
    retired_on: dt.date | None
    scheme: str
    birth_date: dt.date


class Simulation:
    """One region's year; :meth:`steps` yields a callable per command, for a progress bar."""

    def __init__(self, ledger: Ledger, region: str, people: int, seed: int) -> None:
        if region not in DEMO_YEAR:
            raise ValueError(f"region must be one of {sorted(DEMO_YEAR)}, not {region!r}")
        self.ledger = ledger
        self.region = region
        self.year = DEMO_YEAR[region]
        self.size = people
        self.random = random.Random(seed)
        self.tag = f"{region}-s{seed}"
        self.totals = Totals()
        self.population: list[Person] = []

    def estimated_commands(self) -> int:
        return self.size * 30

    def steps(self) -> Iterator[Callable[[], None]]:
        """Every command of the simulated year, in the order an agency would record them."""
        rng = self.random
        for number in range(self.size):
            person = self._person(number)
            self.population.append(person)
            yield lambda p=person: self._enroll(p)
        gone: set[str] = set()
        for binder in rng.sample(self.population, k=len(self.population) // 5):
            member = rng.choice(self.population)
            if member.name != binder.name:
                yield self._do(c.BindFamilyMember(
                    owner=binder.name, member=member.name, relation=rng.choice(RELATIONS),
                    date=dt.date(self.year, 1, 1)))
        retiring = {p.name: dt.date(self.year, rng.randint(1, 11), 28)
                    for p in rng.sample(self.population, k=len(self.population) // 50)
                    if p.retired_on is None}
        for month in (Month(self.year, m) for m in range(1, 13)):
            for person in self.population:
                if person.name in gone:
                    continue
                yield from self._month(person, month, retiring.get(person.name))
            for person in rng.sample(self.population, k=max(1, len(self.population) // 400)):
                if person.name not in gone:
                    gone.add(person.name)
                    yield from self._leave(person, month)
        yield self._do(c.CloseYear(year=self.year))

    # -- one person's month -----------------------------------------------------------

    def _month(self, person: Person, month: Month, retires: dt.date | None
               ) -> Iterator[Callable[[], None]]:
        rng = self.random
        if retires is not None and Month.of(retires) == month:
            yield self._do(c.RecordRetirement(person=person.name, date=retires))
        retired_on = person.retired_on or (retires if retires and Month.of(retires) < month else None)
        if retired_on is not None:
            yield self._do(c.CreditAllotment(person=person.name, month=month))
        else:
            base = rng.randint(300_000, 2_500_000)  # fen: 3,000–25,000 yuan a month
            yield self._do(c.RecordContribution(person=person.name, month=month,
                                                base=format_fen(base)))
        for visit in range(rng.choice((0, 0, 1, 1, 2))):
            day = dt.date(month.year, month.month, rng.randint(1, 28))
            visit_id = f"{person.name}-{month}-v{visit}"
            yield self._do(c.SettleVisit(
                person=person.name, id=visit_id, date=day, level=rng.choice((1, 1, 2, 3)),
                in_scope=format_fen(rng.randint(1_000, 90_000)),
                out_of_scope=format_fen(rng.choice((0, 0, rng.randint(100, 5_000)))),
                flags=("not_designated",) if rng.random() < 0.02 else (),
            ))
            if rng.random() < 0.03:
                yield self._do(c.Reverse(id=visit_id, date=day, reason="refund"))
        if rng.random() < 0.1:
            yield self._do(c.Spend(
                payer=person.name, purpose="pharmacy", amount=format_fen(rng.randint(500, 8_000)),
                id=f"{person.name}-{month}-s", date=dt.date(month.year, month.month, 15)))

    def _leave(self, person: Person, month: Month) -> Iterator[Callable[[], None]]:
        day = dt.date(month.year, month.month, 20)
        if self.random.random() < 0.7:
            yield self._do(c.RecordDeath(person=person.name, date=day))
            yield self._do(c.PayInheritance(
                person=person.name, date=day + dt.timedelta(days=5),
                heirs=(c.Heir(name="heir-1", share="2/3"), c.Heir(name="heir-2", share="1/3"))))
        else:
            destination = next(r for r in DEMO_YEAR if r != self.region)
            yield self._do(c.Transfer(person=person.name, to_region=destination, date=day))

    # -- plumbing ---------------------------------------------------------------------

    def _person(self, number: int) -> Person:
        rng = self.random
        retired = rng.random() < 0.25
        birth = dt.date(rng.randint(1940, 1960) if retired else rng.randint(1966, 2002),
                        rng.randint(1, 12), rng.randint(1, 28))
        scheme = "pooling_only" if rng.random() < 0.05 else None
        if self.region == "chongqing":
            scheme = rng.choice(("employer", "employer", "individual_tier2", "individual_tier1"))
        retired_on = dt.date(birth.year + 60, birth.month, birth.day) if retired else None
        return Person(f"{self.tag}-{number:07d}", retired_on, scheme or "", birth)

    def _enroll(self, person: Person) -> None:
        self.totals.people += 1
        self._run(c.EnrollPerson(person=person.name, region=self.region,
                                 birth_date=person.birth_date, scheme=person.scheme or None,
                                 retired_on=person.retired_on))

    def _do(self, command: c.Command) -> Callable[[], None]:
        return lambda: self._run(command)

    def _run(self, command: c.Command) -> None:
        self.totals.commands += 1
        try:
            result = self.ledger.execute(command)
        except LedgerError as error:
            self.totals.refused[str(error.code)] = self.totals.refused.get(str(error.code), 0) + 1
            return
        self.totals.add(result)

    def balances(self) -> int:
        """Σ balances read back from every account of the population."""
        return sum(self.ledger.account(p.name).balance for p in self.population)


