"""The cyclic garbage collector paused during bulk work (batch jobs, the projection worker).

Python's collector runs whenever enough container objects have been allocated, and every
tenth or so run traverses *every* live object: the job's sorted input held in memory
(up to :data:`ledger.jobs.keysort.RUN` rows), the batch's accounts. At 100,000 people
that took 45% of a credit-month run (measured: 18.6 s with the collector, 10.3 s
without; BENCHMARKS.md). A batch frees nearly all it allocates by reference counting,
so the job pauses the automatic collector and collects the young generations itself
after each batch — which finds any cycle the batch left (a caught error's traceback, for
one) — and restores the collector when it ends. The projection worker pauses it around
each batch of events it applies.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused() -> Iterator[None]:
    """No automatic collection inside the block (restored after it, as it was)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def after_batch() -> None:
    """Collect what the last batch left in cycles (young generations only: cheap)."""
    gc.collect(1)
