"""Read models of the ledger, fed from its notification log, and the auditor's tools.

- :func:`open_views` — the view store a deployment uses: Redis when a Redis URL is set,
  else SQL tables in the event store's own database.
- :class:`~projections.worker.ViewWorker` — applies events to the views exactly once.
- :class:`~projections.reader.ViewReader` — the queries the API serves from the views.
- :mod:`projections.audit` — explain, point-in-time figures, verify (from events alone).
"""

from __future__ import annotations

from projections.reader import ViewReader, read_account
from projections.stores.base import ViewStore
from projections.worker import ViewWorker


def open_views(database_url: str, redis_url: str | None = None, *,
               create: bool = True) -> ViewStore:
    """Redis views when ``redis_url`` is set, else SQL views beside the events (their
    tables created if missing, unless ``create`` is false: see
    :func:`~projections.stores.sql.open_sql_views`)."""
    if redis_url:
        from projections.stores.redis import RedisViews

        return RedisViews(redis_url)
    from projections.stores.sql import open_sql_views

    return open_sql_views(database_url, create=create)


__all__ = ["ViewReader", "ViewStore", "ViewWorker", "open_views", "read_account"]
