"""The auditor's tools, answering from the events alone (审计).

- :func:`~projections.audit.explain.explain` — every event touching a person, with the
  amount, the balance after it and the policy articles behind it;
- :func:`~projections.audit.as_of.balance_as_of`, :func:`~projections.audit.as_of.pooling_as_of`
  — a figure as it stood on a past date;
- :func:`~projections.audit.verify.verify` — the hash chain, every settlement re-priced,
  every view recomputed and compared.
"""

from projections.audit.as_of import balance_as_of, pooling_as_of
from projections.audit.explain import explain
from projections.audit.verify import verify

__all__ = ["balance_as_of", "explain", "pooling_as_of", "verify"]
