"""Deployment settings, read from the environment once, and the event store they select.

``GONGJI_DATABASE_URL`` chooses the store: a SQLite file path or ``sqlite:///path``
(the embedded default, ``./gongji.db``), or ``postgresql://USER[:PASSWORD]@HOST:PORT/DB``
(optionally ``?schema=NAME``). A bad value stops start-up with a message naming it.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE = "./gongji.db"


class SettingsError(ValueError):
    """A setting that cannot be used; the message names the variable."""


class Settings(BaseSettings):
    """Everything a deployment sets, each as ``GONGJI_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="GONGJI_", extra="ignore")

    database_url: str = Field(DEFAULT_DATABASE, description="SQLite path/URL or postgresql:// URL")
    redis_url: str | None = Field(None, description="redis://HOST:PORT/DB for read models")
    api_keys: str = Field("", description='JSON: {"KEY": {"role": "agency"}, …}')
    policy_parameters: str = Field("{}", description="JSON, same shape as a scenario's")

    @field_validator("policy_parameters")
    @classmethod
    def _json_object(cls, value: str) -> str:
        try:
            parsed = json.loads(value or "{}")
        except json.JSONDecodeError as error:
            raise ValueError(f"GONGJI_POLICY_PARAMETERS is not JSON: {error}") from None
        if not isinstance(parsed, dict):
            raise ValueError("GONGJI_POLICY_PARAMETERS must be a JSON object of regions")
        return value

    @property
    def parameters(self) -> dict[str, Any]:
        return json.loads(self.policy_parameters or "{}")


def store_env(database_url: str) -> dict[str, str]:
    """eventsourcing's persistence settings for a database URL."""
    url = database_url.strip()
    if url.startswith(("postgresql://", "postgres://")):
        parts = urlparse(url)
        if not parts.hostname or not parts.path.strip("/"):
            raise SettingsError(
                f"GONGJI_DATABASE_URL {url!r}: expected postgresql://USER@HOST:PORT/DB"
            )
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": parts.path.strip("/"),
            "POSTGRES_HOST": parts.hostname,
            "POSTGRES_PORT": str(parts.port or 5432),
            "POSTGRES_USER": unquote(parts.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(parts.password or ""),
            "POSTGRES_POOL_SIZE": "5",
            "POSTGRES_MAX_OVERFLOW": "10",
        }
        schema = parse_qs(parts.query).get("schema")
        if schema:
            env["POSTGRES_SCHEMA"] = schema[0]
        return env
    if url.startswith("sqlite://"):
        path = url.removeprefix("sqlite://").removeprefix("/") or ":memory:"
        if url.startswith("sqlite:////"):
            path = "/" + path.lstrip("/")
    elif "://" in url:
        raise SettingsError(
            f"GONGJI_DATABASE_URL {url!r}: use a SQLite path, sqlite:///PATH or postgresql://…"
        )
    else:
        path = url
    return {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": path,
        "SQLITE_LOCK_TIMEOUT": "30",
    }
