"""Key rotation (密钥轮换) for an append-only store: copy it into a new store under a new key.

eventsourcing's cipher holds one key, and stored events are never rewritten in place, so
rotating the key means writing every event and snapshot again, re-encrypted, into an
empty store (another SQLite file, or another PostgreSQL database or schema), which then
replaces the old one. :func:`rekey` does that copy:

1. the source's hash chain is verified first: a copy of a tampered store is refused;
2. events are copied in notification order, in batches, through the target's chained
   recorder, so the target gets a hash chain of its own (over the new ciphertext: a new
   chain head, to be anchored again);
3. snapshots are copied re-encrypted;
4. the target is read back: every event must decrypt under the new key to exactly the
   state the source held, and its chain must verify.

The same copy encrypts a plain store (source without a key) or decrypts one (target
without a key). Read models and idempotency records are not copied: views are rebuilt
from the events (``gongji projections rebuild``); idempotency keys do not survive.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ledger.adapters.bulk import BulkReader
from ledger.adapters.chain import verify_chain
from ledger.core import LedgerCore
from ledger.crypto import CipherKeyError, Codec, cipher_env, recode
from ledger.settings import SettingsError

BATCH = 2000


class RekeyError(SettingsError):
    """The copy cannot be made (tampered source, target not empty, check failed)."""


@dataclass(frozen=True, slots=True)
class RekeyReport:
    events: int
    snapshots: int
    source_head: str
    target_head: str
    encrypted: bool


def open_target(source: LedgerCore, target_url: str, target_key: str | None) -> LedgerCore:
    """The target ledger under ``target_key`` (no cipher when None), refused if not empty."""
    env = cipher_env(target_key) if target_key else {"CIPHER_TOPIC": "", "CIPHER_KEY": ""}
    full = RekeyError(f"the target store {target_url!r} already holds events: rekey "
                      "copies into an empty store only")
    try:
        target = LedgerCore(source.book, database_url=target_url, env=env)
    except CipherKeyError:  # only stored events can disagree with a key
        raise full from None
    if target.recorder.max_notification_id():
        target.close()
        raise full
    return target


def rekey(source: LedgerCore, target: LedgerCore,
          progress: Callable[[int, int], None] | None = None) -> RekeyReport:
    """Copy every event and snapshot of ``source`` into the empty ``target``, re-encoded
    from the source's key to the target's, and check the copy."""
    chain = verify_chain(source.recorder)
    if chain.first_break is not None:
        raise RekeyError(f"the source store's hash chain is broken, so it is not copied: "
                         f"{chain.first_break.message}; run `gongji audit verify`")
    old, new = Codec.of(source.mapper), Codec.of(target.mapper)
    head = source.recorder.max_notification_id() or 0
    copied, start = 0, 0
    while rows := source.recorder.select_notifications(start, BATCH, inclusive_of_start=False):
        target.recorder.insert_events(recode(rows, old, new))
        copied += len(rows)
        start = rows[-1].id
        if progress is not None:
            progress(start, head)
    snapshots = 0
    if source.snapshots is not None and target.snapshots is not None:
        for batch in BulkReader(source).snapshot_rows(BATCH):
            target.snapshots.recorder.insert_events(recode(batch, old, new))
            snapshots += len(batch)
    target.fill_states()  # the accounts' state rows, from the copied events, new key
    return RekeyReport(copied, snapshots, chain.head, _check(source, target, copied),
                       new.cipher is not None)


def _check(source: LedgerCore, target: LedgerCore, copied: int) -> str:
    """Read the copy back: same events, same states, a chain that verifies; its head."""
    old, new = Codec.of(source.mapper), Codec.of(target.mapper)
    start_old = start_new = 0
    while True:
        a = source.recorder.select_notifications(start_old, BATCH, inclusive_of_start=False)
        b = target.recorder.select_notifications(start_new, BATCH, inclusive_of_start=False)
        if len(a) != len(b):
            raise RekeyError(f"the copy holds a different number of events than the source "
                             f"(after source #{start_old}); the target is unusable")
        if not a:
            break
        for x, y in zip(a, b, strict=True):
            if (x.originator_id, x.originator_version, x.topic) != (
                    y.originator_id, y.originator_version, y.topic) or \
                    old.open(x.state) != new.open(y.state):
                raise RekeyError(f"event #{x.id} was not copied faithfully; the target is "
                                 "unusable")
        start_old, start_new = a[-1].id, b[-1].id
    chain = verify_chain(target.recorder)
    if chain.first_break is not None or chain.events != copied:
        raise RekeyError("the copy's hash chain does not verify; the target is unusable")
    return chain.head


def describe(report: RekeyReport) -> list[tuple[str, Any]]:
    return [("events copied", report.events), ("snapshots copied", report.snapshots),
            ("target encrypted", "yes" if report.encrypted else "no")]
