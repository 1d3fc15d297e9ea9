"""The HTTP API of the ledger (FastAPI): routes, roles, idempotency, problem+json errors."""

from api.app import create_app

__all__ = ["create_app"]
