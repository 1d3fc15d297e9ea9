"""A demo year for the fund monitoring tests (and bench/monitoring.py) with planted anomalies.

Yunnan 2025, ``people`` ordinary insured persons (15 % retired): monthly credits, three
visits a month at institutions of three levels (five of each level, id ``L{level}-{n}``),
cost per visit drawn per level, a few reversals, small pharmacy spends. Planted:

- ``CLINIC-JUMP`` (level 1): ordinary until August, then three times the cost per visit;
- ``PHARMACY-SWAP`` (level 1): visits whose bills are mostly out of scope (swapped drugs,
  daily goods: suizhou art. 25), so the patients pay most of them;
- ``PAY9``: an account that pays (共济) for 9 people;
- ``NEAR``: four family payments of 495.00, just under the 500.00 threshold;
- ``BURST``: five pharmacy spends on one day;
- ``DRAIN``: the whole balance spent at a pharmacy the day after every credit;
- ``CAPPER``: two large visits that reach the yearly cap (the second is all over the cap).

Visits of ``UNKNOWN_SHARE`` of ordinary visits name no institution.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from ledger import Ledger
from ledger.commands import (
    BindFamilyMember,
    CreditAllotment,
    EnrollPerson,
    RecordContribution,
    Reverse,
    SettleVisit,
    Spend,
)
from policies.errors import LedgerError

REGION, YEAR = "yunnan", 2025
JUMP, SWAP = "CLINIC-JUMP", "PHARMACY-SWAP"
PLANTED_PEOPLE = ("PAY9", "NEAR", "NEAR-KID", "BURST", "DRAIN", "CAPPER",
                  *(f"PAY9-M{n}" for n in range(1, 10)))
COST = {1: (40, 160), 2: (100, 300), 3: (200, 600)}  # in-scope yuan per visit, by level
UNKNOWN_SHARE = 0.03
VISITS = 3  # a month, per ordinary person


@dataclass
class Planted:
    people: list[str] = field(default_factory=list)
    institutions: dict[int, list[str]] = field(default_factory=dict)
    visits: int = 0
    refused: int = 0


def _yuan(value: float) -> str:
    return f"{value:.2f}"


def plant_year(ledger: Ledger, people: int = 300, seed: int = 15,
               token: str = "", visits: int = VISITS) -> Planted:
    """Run the year through ``ledger`` (one command at a time); what was made.

    ``token`` goes into every person and transaction id (the benchmark renames it to make
    copies of the population)."""
    rng = random.Random(seed)
    planted = Planted(institutions={level: [f"L{level}-{n}" for n in range(1, 6)]
                                    for level in (1, 2, 3)})
    planted.institutions[1] += [JUMP, SWAP]

    def run(call, command) -> bool:  # noqa: ANN001
        try:
            call(command)
            return True
        except LedgerError:
            planted.refused += 1
            return False

    retired = set()
    for i in range(people):
        person = f"P{token}{i:04d}"
        is_retired = rng.random() < 0.15
        ledger.enroll(EnrollPerson(
            person=person, region=REGION,
            birth_date=f"{rng.randint(1950, 1958) if is_retired else rng.randint(1965, 1998)}"
                       f"-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
            retired_on="2020-06-30" if is_retired else None))
        planted.people.append(person)
        if is_retired:
            retired.add(person)
    for person in PLANTED_PEOPLE:
        ledger.enroll(EnrollPerson(person=f"{person}{token}", region=REGION,
                                   birth_date="1975-03-03"))
    for n in range(1, 10):
        ledger.bind_family_member(BindFamilyMember(
            owner=f"PAY9{token}", member=f"PAY9-M{n}{token}",
            relation=("spouse", "child", "parent")[n % 3], date=f"{YEAR}-01-01"))
    ledger.bind_family_member(BindFamilyMember(owner=f"NEAR{token}", member=f"NEAR-KID{token}",
                                               relation="child", date=f"{YEAR}-01-01"))
    serial = 0
    for month in range(1, 13):
        ym = f"{YEAR}-{month:02d}"
        for person in planted.people:
            if person in retired:
                run(ledger.credit_allotment, CreditAllotment(person=person, month=ym))
            else:
                run(ledger.credit_contribution, RecordContribution(
                    person=person, month=ym, base=f"{rng.randint(3000, 12000)}.00"))
        for person, base in (("PAY9", "20000.00"), ("NEAR", "30000.00"),
                             ("BURST", "5000.00"), ("DRAIN", "10000.00")):
            run(ledger.credit_contribution, RecordContribution(
                person=f"{person}{token}", month=ym, base=base))
        for person in planted.people:
            for _ in range(visits):
                serial += 1
                level = rng.choices((1, 2, 3), (0.45, 0.35, 0.2))[0]
                institution = rng.choice(planted.institutions[level])
                low, high = COST[level]
                in_scope = rng.uniform(low, high)
                out_of_scope = in_scope * rng.uniform(0, 0.15)
                if institution == JUMP and month >= 9:
                    in_scope, out_of_scope = in_scope * 3, out_of_scope * 3
                if institution == SWAP:
                    out_of_scope = in_scope * rng.uniform(2, 4)
                if rng.random() < UNKNOWN_SHARE:
                    institution = None
                visit = f"V{token}{serial:06d}"
                day = rng.randint(1, 28)
                if run(ledger.settle_visit, SettleVisit(
                        person=person, id=visit, date=f"{ym}-{day:02d}", level=level,
                        in_scope=_yuan(in_scope), out_of_scope=_yuan(out_of_scope),
                        institution=institution)):
                    planted.visits += 1
                    if rng.random() < 0.02:
                        run(ledger.reverse, Reverse(id=visit, date=f"{ym}-{day:02d}"))
            if rng.random() < 0.3:
                serial += 1
                run(ledger.spend, Spend(payer=person, purpose="pharmacy",
                                        amount=f"{rng.randint(20, 80)}.00", id=f"S{token}{serial:06d}",
                                        date=f"{ym}-{rng.randint(1, 28):02d}", institution="L1-1"))
        # the planted accounts
        if month == 3:
            for n in range(1, 10):
                run(ledger.spend, Spend(payer=f"PAY9{token}", beneficiary=f"PAY9-M{n}{token}",
                                        purpose="pharmacy", amount="30.00",
                                        id=f"PAY9{token}-{n}", date=f"{ym}-15"))
        if month in (3, 4):
            run(ledger.settle_visit, SettleVisit(
                person=f"CAPPER{token}", id=f"CAPPER{token}-{month}", date=f"{ym}-11", level=3,
                in_scope="15000.00"))  # no institution: "unknown", not judged
        if month in (4, 6, 8, 10):
            run(ledger.spend, Spend(payer=f"NEAR{token}", beneficiary=f"NEAR-KID{token}",
                                    purpose="medical", amount="495.00",
                                    id=f"NEAR{token}-{month}", date=f"{ym}-20"))
        if month == 5:
            for n in range(5):
                run(ledger.spend, Spend(payer=f"BURST{token}", purpose="pharmacy",
                                        amount="10.00", id=f"BURST{token}-{n}",
                                        date=f"{ym}-20", institution="L1-2"))
        balance = ledger.account(f"DRAIN{token}").balance
        run(ledger.spend, Spend(payer=f"DRAIN{token}", purpose="pharmacy",
                                amount=f"{balance // 100}.{balance % 100:02d}",
                                id=f"DRAIN{token}-{month}", date=f"{ym}-02"))
    return planted
