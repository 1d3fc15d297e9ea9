"""The institution directory (定点医药机构目录): who may settle, at which level, when.

Each institution is an aggregate whose events are its directory entries: ``Listed``
records one entry (name, region, level, designated, networked, valid from/to) as the
agency imported it, and a changed entry is a new ``Listed`` event, a new version; nothing
is edited. An entry is known by its institution and its ``valid_from``; the entry in
force on a day is the one with the latest ``valid_from`` on or before that day, unless
its ``valid_to`` has passed (the rule of policy versions, DOMAIN.md §9: a later entry
supersedes an earlier one from its own start date).

:func:`listed_level` is the one rule for a visit settled by an institution key (the JSON
API and the national platform gateway both call it): the level comes from the entry in
force on the visit's date, and the settlement records which entry (``listing``) so that an
auditor can trace a visit's level to the directory version that gave it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate, event
from eventsourcing.utils import get_topic

from ledger.commands import SettleVisit
from ledger.core import LedgerCore
from ledger.ids import NAMESPACE
from ledger.transaction import Settlement
from policies.errors import ErrorCode, LedgerError


def institution_id(code: str) -> UUID:
    return uuid5(NAMESPACE, f"institution/{code}")


@dataclass(frozen=True, slots=True)
class Entry:
    """One directory entry (目录条目) of an institution, and the version that recorded it."""

    code: str           # 定点医药机构编号
    name: str           # 机构名称
    region: str         # 统筹地区 (the ledger's region)
    admdvs: str | None  # 医保区划 as the file gave it, if it gave a code
    level: int          # 医疗机构等级 1, 2, 3: the pooling rate's level
    designated: bool    # 定点: may settle with the insurance
    networked: bool     # 联网结算: connected to the platform (recorded, not enforced)
    valid_from: str     # YYYY-MM-DD
    valid_to: str | None
    version: int = 0    # the aggregate version of its Listed event

    def content(self) -> dict[str, Any]:
        """What the file said: compared to tell a repeat from a change."""
        return {k: v for k, v in asdict(self).items() if k != "version"}

    def covers(self, day: dt.date) -> bool:
        return self.valid_from <= day.isoformat() and (
            self.valid_to is None or day.isoformat() <= self.valid_to)

    def reference(self) -> dict[str, Any]:
        """What a settlement records of the entry that priced it."""
        return {"code": self.code, "version": self.version, "valid_from": self.valid_from,
                "level": self.level}


class Institution(Aggregate):
    """定点医药机构: an institution's directory entries, each change a new event."""

    @staticmethod
    def create_id(code: str, **_: Any) -> UUID:
        return institution_id(code)

    @event("Registered")
    def __init__(self, code: str) -> None:
        self.code = code
        self.entries: dict[str, dict[str, Any]] = {}  # valid_from → entry (with version)

    def list_entry(self, entry: Entry) -> bool:
        """Record ``entry``; False (nothing recorded) if the same entry is already there."""
        current = self.entries.get(entry.valid_from)
        if current is not None and Entry(**current).content() == entry.content():
            return False
        self._listed(entry.content())
        return True

    @event("Listed")
    def _listed(self, entry: dict[str, Any]) -> None:
        self.entries[entry["valid_from"]] = {**entry, "version": self.version + 1}

    def entry_on(self, day: dt.date) -> Entry | None:
        return in_force(self.entries, day)


def in_force(listed: dict[str, dict[str, Any]], day: dt.date) -> Entry | None:
    """Of an institution's entries (by valid_from), the one in force on ``day``: the latest
    start on or before it, unless its valid_to has passed."""
    started = [start for start in listed if start <= day.isoformat()]
    if not started:
        return None
    entry = Entry(**listed[max(started)])
    return entry if entry.covers(day) else None


LISTED_TOPIC = get_topic(Institution.Listed)  # type: ignore[attr-defined]


# -- reading ---------------------------------------------------------------------------


def institution(ledger: LedgerCore, code: str, field: str = "code") -> Institution:
    """The institution's aggregate, or ``unknown_institution``."""
    try:
        return ledger.load(institution_id(code))
    except AggregateNotFoundError:
        raise LedgerError(
            ErrorCode.UNKNOWN_INSTITUTION,
            f"institution {code!r} is not in the directory (定点医药机构目录); the agency "
            "lists it with gongji institutions import", field=field,
            message_zh=f"定点医药机构目录中没有机构 {code}：检查机构编码，或由经办机构导入目录",
        ) from None


def entry_in_force(ledger: LedgerCore, code: str, day: dt.date,
                   field: str = "institution") -> Entry:
    """The designated entry in force on ``day``, or the refusal that says why there is none."""
    found = institution(ledger, code, field)
    entry = found.entry_on(day)
    if entry is None:
        spans = ", ".join(f"{e['valid_from']}–{e['valid_to'] or ''}"
                          for _, e in sorted(found.entries.items()))
        raise LedgerError(
            ErrorCode.INSTITUTION_NOT_IN_FORCE,
            f"institution {code!r} has no directory entry in force on {day} (its entries: "
            f"{spans}); check the date or the directory", field=field,
            message_zh=f"机构 {code} 在 {day} 没有有效的定点目录条目（有效期：{spans}）："
                       "检查业务日期或目录",
        )
    if not entry.designated:
        raise LedgerError(
            ErrorCode.NOT_DESIGNATED,
            f"institution {code!r} is not designated (非定点) on {day} by its directory entry "
            f"from {entry.valid_from}; it cannot settle with the insurance", field=field,
            message_zh=f"机构 {code} 在 {day} 为非定点医药机构（目录条目自 {entry.valid_from} "
                       "起）：不能办理医保结算",
        )
    return entry


def listed_level(ledger: LedgerCore, institution_code: str, visit_id: str, day: dt.date,
                 stated_level: int | None,
                 fields: tuple[str, str] = ("institution", "level")) -> tuple[int, dict[str, Any]]:
    """The level of an institution's visit on ``day`` and the directory entry that gives it
    (定点医药机构目录): the entry in force on the visit's date. ``stated_level``, the level
    the caller sent if any, must agree: a HIS that shows its patient figures at another
    level is told so (``level_mismatch``) rather than charged otherwise in silence.
    ``fields`` name the institution and the level in the caller's words. A retry of a
    settled ``visit_id`` keeps the entry it was settled with, so that it gets the first
    answer even after the directory changed."""
    institution_field, level_field = fields
    first = ledger.find_transaction(visit_id)
    if isinstance(first, Settlement) and getattr(first, "listing", None) \
            and first.institution == institution_code:
        reference: dict[str, Any] = first.listing  # type: ignore[attr-defined]
    else:
        reference = entry_in_force(ledger, institution_code, day, institution_field).reference()
    level = int(reference["level"])
    if stated_level is not None and stated_level != level:
        raise LedgerError(
            ErrorCode.LEVEL_MISMATCH,
            f"{level_field} {stated_level} is not the level of institution "
            f"{institution_code!r} on {day}: the directory lists level {level}; send "
            f"{level} or leave it out", field=level_field,
            message_zh=f"{level_field}（医疗机构等级）为 {stated_level}，与定点医药机构目录不符："
                       f"机构 {institution_code} 在 {day} 为 {level} 级，请按目录填写或不填",
        )
    return level, reference


def listed_visit(ledger: LedgerCore, cmd: SettleVisit) -> SettleVisit:
    """An institution's visit (the JSON API's): its ``level`` must be the directory's."""
    assert cmd.institution is not None
    level, reference = listed_level(ledger, cmd.institution, cmd.id, cmd.date, cmd.level)
    listed = cmd.model_copy(update={"level": level})
    listed.listed_as(reference)
    return listed


def entries(ledger: LedgerCore) -> dict[str, dict[str, dict[str, Any]]]:
    """Every institution's current entries, ``{code: {valid_from: entry}}``, read from the
    Listed events in order (the directory is small: thousands of rows, not millions)."""
    directory: dict[str, dict[str, dict[str, Any]]] = {}
    start, batch = 0, 1000
    while True:
        rows = ledger.recorder.select_notifications(start, batch, topics=[LISTED_TOPIC],
                                                    inclusive_of_start=False)
        for row in rows:
            listed = ledger.mapper.to_domain_event(row)
            entry = {**listed.entry, "version": listed.originator_version}
            directory.setdefault(entry["code"], {})[entry["valid_from"]] = entry
        if len(rows) < batch:
            return directory
        start = rows[-1].id
