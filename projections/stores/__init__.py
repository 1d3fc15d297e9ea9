"""View stores: one interface (:class:`~projections.stores.base.ViewStore`), three backends.

SQL (the event store's own database: SQLite file or PostgreSQL schema), Redis (when
``GONGJI_REDIS_URL`` is set) and memory (recomputes for ``audit verify`` and tests).
"""
