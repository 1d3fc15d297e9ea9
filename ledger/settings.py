"""Deployment settings, read from the environment once, and the event store they select.

``GONGJI_DATABASE_URL`` chooses the store: a SQLite file path, or ``sqlite:///`` followed by
that path exactly as written (``sqlite:///gongji.db`` is ``./gongji.db``, relative to the
working directory; ``sqlite:////var/lib/gongji.db`` — four slashes — is absolute), or
``postgresql://USER[:PASSWORD]@HOST:PORT/DB`` (optionally ``?schema=NAME``). The embedded
default is ``./gongji.db``. A bad value stops start-up with a message naming it; no message
ever repeats a password or an API key.
"""

from __future__ import annotations

import json
from typing import Any, Literal
from urllib.parse import parse_qs, unquote, urlparse

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator
from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ledger.admdvs import parse as parse_admdvs

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
    admdvs: str = Field("", description="more region codes: CODE=region,… (医保区划 → 统筹地区)")

    @field_validator("admdvs")
    @classmethod
    def _admdvs(cls, value: str) -> str:
        from policies.book import PolicyBook

        parse_admdvs(value or "", PolicyBook.load().regions)  # ValueError naming GONGJI_ADMDVS
        return value or ""

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
            # the first part of an error's location is the key itself: a secret, never shown
            order = _key_order(value)
            problems = "; ".join(
                f"{_where(e['loc'], order)}: {e['msg'].removeprefix('Value error, ')}"
                for e in error.errors()
            )
            raise ValueError(f"GONGJI_API_KEYS: {problems}") from None
        short = [key for key in keys if len(key) < 16]
        if short:
            raise ValueError("GONGJI_API_KEYS: every key needs at least 16 characters")
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        store_env(value)  # raises SettingsError naming GONGJI_DATABASE_URL
        return value.strip()

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        redis_target(value)  # raises SettingsError naming GONGJI_REDIS_URL
        return value.strip()

    @property
    def parameters(self) -> dict[str, Any]:
        return json.loads(self.policy_parameters or "{}")

    @property
    def regions_by_code(self) -> dict[str, str]:
        """Every region code (admdvs) the deployment knows: the built-in five and
        GONGJI_ADMDVS's."""
        from policies.book import PolicyBook

        return parse_admdvs(self.admdvs, PolicyBook.load().regions)

    @property
    def keys(self) -> dict[str, ApiKey]:
        return _API_KEYS.validate_json(self.api_keys or "{}")


def _where(location: tuple[Any, ...], order: dict[str, str]) -> str:
    """An error's place in GONGJI_API_KEYS, naming the key by its position, not its text."""
    if not location:
        return "(top)"
    return ".".join([order.get(str(location[0]), "a key"), *map(str, location[1:])])


def _key_order(value: str) -> dict[str, str]:
    """``{key: "key #N"}``: how an error names a key without showing it."""
    try:
        parsed = json.loads(value or "{}")
    except json.JSONDecodeError:
        return {}
    if not isinstance(parsed, dict):
        return {}
    return {key: f"key #{n}" + (f" ({entry['name']})" if isinstance(entry, dict)
                                and isinstance(entry.get("name"), str) else "")
            for n, (key, entry) in enumerate(parsed.items(), 1)}


def redacted(url: str) -> str:
    """``url`` with its password, if any, replaced by ``***``: safe to print."""
    url = url.strip()
    scheme, separator, rest = url.partition("://")
    userinfo, at, host = rest.rpartition("@")
    if not separator or not at or ":" not in userinfo:
        return url
    return f"{scheme}://{userinfo.split(':', 1)[0]}:***@{host}"


def redis_target(url: str) -> dict[str, Any]:
    """redis-py's connection arguments for ``url``, or :class:`SettingsError`."""
    from redis.connection import parse_url

    shown = redacted(url)
    try:
        arguments = parse_url(url.strip())
        path = urlparse(url.strip()).path.strip("/")
    except ValueError as error:
        raise SettingsError(
            f"GONGJI_REDIS_URL {shown!r} is not a Redis URL ({error}). Use "
            "redis://[:PASSWORD@]HOST:PORT/DB (rediss:// for TLS), or unset GONGJI_REDIS_URL "
            "to keep the views and idempotency keys in the database."
        ) from None
    if not url.strip().startswith("unix://") and path and not path.isdigit():
        raise SettingsError(
            f"GONGJI_REDIS_URL {shown!r}: the database after the last slash must be a "
            "number (redis://HOST:PORT/0)."
        )
    return arguments


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
    return settings


def store_env(database_url: str) -> dict[str, str]:
    """eventsourcing's persistence settings for a database URL."""
    url = database_url.strip()
    shown = redacted(url) if "://" in url else url
    if not url:
        raise SettingsError("GONGJI_DATABASE_URL is empty: give a SQLite path, "
                            "sqlite:///PATH or postgresql://USER@HOST:PORT/DB")
    if url.startswith(("postgresql://", "postgres://")):
        try:
            parts = urlparse(url)
            parts.port  # noqa: B018 — raises on a port that is not a number
        except ValueError as error:
            raise SettingsError(
                f"GONGJI_DATABASE_URL {shown!r}: {error}; expected "
                "postgresql://USER[:PASSWORD]@HOST:PORT/DB[?schema=NAME]"
            ) from None
        if not parts.hostname or not parts.path.strip("/"):
            raise SettingsError(
                f"GONGJI_DATABASE_URL {shown!r}: expected "
                "postgresql://USER[:PASSWORD]@HOST:PORT/DB[?schema=NAME]"
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
    if url.startswith("sqlite:"):
        path = url.removeprefix("sqlite:///")  # the path exactly as written after it
        if path == url or not path:
            raise SettingsError(
                f"GONGJI_DATABASE_URL {shown!r}: write sqlite:/// followed by the file's path "
                "(sqlite:///gongji.db is ./gongji.db; sqlite:////var/lib/gongji.db, four "
                "slashes, is absolute), or just the path"
            )
    elif "://" in url:
        raise SettingsError(
            f"GONGJI_DATABASE_URL {shown!r}: use a SQLite path, sqlite:///PATH or "
            "postgresql://USER@HOST:PORT/DB"
        )
    else:
        path = url
    return {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": path,
        "SQLITE_LOCK_TIMEOUT": "30",
        "APPLICATION_RECORDER_TOPIC": "ledger.chain:ChainedSQLiteRecorder",
    }
