"""The HTTP API of the ledger (FastAPI): routes, roles, idempotency, problem+json errors."""

from __future__ import annotations

from typing import Any

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    """``api.create_app``, imported on first use: ``gongji db init`` and ``serve``'s parent
    process use :mod:`api.idempotency` without paying for FastAPI."""
    if name == "create_app":
        from api.app import create_app

        return create_app
    raise AttributeError(f"module 'api' has no attribute {name!r}")
