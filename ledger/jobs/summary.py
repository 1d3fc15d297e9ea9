"""What a job did, counted so that it ties out.

Every row (or account) the shard considered ends in exactly one bucket: written,
already done (an idempotent repeat: nothing written), skipped (not a candidate, such as
an employed person in the allotment run) or rejected (with its error code). The money
side is checked against the accounts themselves: the balances of the committed accounts
before the job's events, plus the credits the outcomes report, minus the debits, must
equal their balances after; and the number of credit events actually stored must equal
the rows reported written.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from ledger.adapters.batch import BatchResult
from policies.money import format_fen

WRITTEN, ALREADY, SKIPPED, REJECTED = "written", "already", "skipped", "rejected"


@dataclass(frozen=True, slots=True)
class Outcome:
    """The fate of one row or account: a bucket, an amount of fen credited, a reason."""

    kind: str
    amount: int = 0
    code: str = ""
    message: str = ""
    person: str = ""
    figures: Mapping[str, int] | None = None


@dataclass
class JobSummary:
    """Counts and money of one run of one job on one shard."""

    job: str
    shard: str
    credit_event: str
    considered: int = 0
    other_shards: int = 0
    written: int = 0
    already: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)
    credited: int = 0
    debited: int = 0
    balances_before: int = 0
    balances_after: int = 0
    events: Counter[str] = field(default_factory=Counter)
    figures: Counter[str] = field(default_factory=Counter)
    batches: int = 0
    fallbacks: int = 0
    seconds: float = 0.0

    def add(self, outcome: Outcome) -> None:
        """Count one outcome (after its batch committed)."""
        self.considered += 1
        if outcome.figures:
            self.figures.update(outcome.figures)
        if outcome.kind == WRITTEN:
            self.written += 1
            self.credited += outcome.amount
        elif outcome.kind == ALREADY:
            self.already += 1
        elif outcome.kind == SKIPPED:
            self.skipped[outcome.code] += 1
        else:
            self.rejected[outcome.code] += 1

    def add_batch(self, result: BatchResult) -> None:
        self.batches += 1
        self.fallbacks += result.fallbacks
        self.balances_before += result.balances_before
        self.balances_after += result.balances_after
        self.events += result.events

    # -- tie-out ------------------------------------------------------------------------

    def checks(self) -> list[tuple[str, bool, str]]:
        """``(what, holds, detail)`` for every identity the summary must satisfy."""
        buckets = self.written + self.already + sum(self.skipped.values()) \
            + sum(self.rejected.values())
        stored = self.events[self.credit_event]
        money = self.balances_before + self.credited - self.debited
        return [
            ("every row counted once", buckets == self.considered,
             f"{self.written} written + {self.already} already + {sum(self.skipped.values())} "
             f"skipped + {sum(self.rejected.values())} rejected = {buckets} of {self.considered}"),
            (f"{self.credit_event} events stored = rows written", stored == self.written,
             f"{stored} stored, {self.written} written"),
            ("balances before + credits − debits = balances after",
             money == self.balances_after,
             f"{format_fen(self.balances_before)} + {format_fen(self.credited)} − "
             f"{format_fen(self.debited)} = {format_fen(money)}; after "
             f"{format_fen(self.balances_after)}"),
        ]

    @property
    def ties_out(self) -> bool:
        return all(holds for _, holds, _ in self.checks())

    @property
    def rate(self) -> float:
        """Rows (or accounts) per second."""
        return (self.considered + self.other_shards) / self.seconds if self.seconds else 0.0
