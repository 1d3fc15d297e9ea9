"""Deployment settings, read from the environment once, and the event store they select.

``GONGJI_DATABASE_URL`` chooses the store: a SQLite file path or ``sqlite:///path``
(the embedded default, ``./gongji.db``), or ``postgresql://USER[:PASSWORD]@HOST:PORT/DB``
(optionally ``?schema=NAME``). A bad value stops start-up with a message naming it.
"""

from __future__ import annotations

import json
from typing import Any, Literal
from urllib.parse import parse_qs, unquote, urlparse

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator
from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE = "./gongji.db"


class SettingsError(ValueError):
    """A setting that cannot be used; the message names the variable."""


Role = Literal["agency", "institution", "member", "auditor"]


class ApiKey(BaseModel):
    """Who holds an API key: a role, scoped to an institution or a person where it must be.

    agency 经办机构 (every write and read), institution 定点医药机构 (settlements, spends and
    reversals under its own id), member 参保人 (its own account and family bindings),
    auditor 审计 (reads everything, writes nothing).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Role
    institution: str | None = Field(None, min_length=1, description="institution id (机构编码)")
    person: str | None = Field(None, min_length=1, description="the member's person id")
    name: str | None = Field(None, description="a label for logs, e.g. the vendor")

    @model_validator(mode="after")
    def _scoped(self) -> ApiKey:
        if self.role == "institution" and not self.institution:
            raise ValueError("an institution key needs an institution id")
        if self.role == "member" and not self.person:
            raise ValueError("a member key needs a person id")
        if self.role in ("agency", "auditor") and (self.institution or self.person):
            raise ValueError(f"an {self.role} key is not scoped to an institution or person")
        return self


_API_KEYS = TypeAdapter(dict[str, ApiKey])


class Settings(BaseSettings):
    """Everything a deployment sets, each as ``GONGJI_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="GONGJI_", extra="ignore")

    database_url: str = Field(DEFAULT_DATABASE, description="SQLite path/URL or postgresql:// URL")
    redis_url: str | None = Field(None, description="redis://HOST:PORT/DB for read models")
    api_keys: str = Field("", description='JSON: {"KEY": {"role": "agency"}, …}')
    policy_parameters: str = Field("{}", description="JSON, same shape as a scenario's")
    cipher_key: str | None = Field(None, description="base64 AES key: encryption at rest")

    @field_validator("cipher_key")
    @classmethod
    def _cipher_key(cls, value: str | None) -> str | None:
        from ledger.crypto import check_key  # ledger.crypto imports this module

        return check_key(value) if value and value.strip() else None

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

    @field_validator("api_keys")
    @classmethod
    def _api_keys(cls, value: str) -> str:
        try:
            keys = _API_KEYS.validate_json(value or "{}")
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: "
                f"{e['msg'].removeprefix('Value error, ')}"
                for e in error.errors()
            )
            raise ValueError(f"GONGJI_API_KEYS: {problems}") from None
        short = [key for key in keys if len(key) < 16]
        if short:
            raise ValueError("GONGJI_API_KEYS: every key needs at least 16 characters")
        return value

    @property
    def parameters(self) -> dict[str, Any]:
        return json.loads(self.policy_parameters or "{}")

    @property
    def keys(self) -> dict[str, ApiKey]:
        return _API_KEYS.validate_json(self.api_keys or "{}")


def load_settings(**overrides: Any) -> Settings:
    """The settings from the environment, or :class:`SettingsError` naming each bad one."""
    try:
        settings = Settings(**overrides)
    except ValidationError as error:
        messages = [str(e["msg"]).removeprefix("Value error, ") for e in error.errors()]
        raise SettingsError("; ".join(
            m if m.startswith("GONGJI_") else f"GONGJI_{str(e['loc'][0]).upper()}: {m}"
            for m, e in zip(messages, error.errors())
        )) from None
    store_env(settings.database_url)
    return settings


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
            # the hash chain is appended in the events' insert transaction (ledger.chain)
            "APPLICATION_RECORDER_TOPIC": "ledger.chain:ChainedPostgresRecorder",
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
        "APPLICATION_RECORDER_TOPIC": "ledger.chain:ChainedSQLiteRecorder",
    }
