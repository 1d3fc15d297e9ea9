"""Deployment settings, read from the environment once.

``GONGJI_DATABASE_URL`` chooses the store (:func:`ledger.adapters.store.store_env` turns
it into eventsourcing's settings): a SQLite file path, or ``sqlite:///`` followed by that
path exactly as written (``sqlite:///gongji.db`` is ``./gongji.db``, relative to the
working directory; ``sqlite:////var/lib/gongji.db`` — four slashes — is absolute), or
``postgresql://USER[:PASSWORD]@HOST:PORT/DB`` (optionally ``?schema=NAME``). The embedded
default is ``./gongji.db``. A bad value stops start-up with a message naming it; no message
ever repeats a password or an API key.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlparse

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ledger.admdvs import parse as parse_admdvs

DEFAULT_DATABASE = "./gongji.db"


class SettingsError(ValueError):
    """A setting that cannot be used; the message names the variable."""


class Settings(BaseSettings):
    """Everything a deployment sets, each as ``GONGJI_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="GONGJI_", extra="ignore")

    database_url: str = Field(DEFAULT_DATABASE, description="SQLite path/URL or postgresql:// URL")
    redis_url: str | None = Field(None, description="redis://HOST:PORT/DB for read models")
    api_keys: str = Field("", description='JSON: {"KEY": {"role": "agency"}, …}, read by '
                                          "the API (api.keys.load_keys)")
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

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        from ledger.adapters.store import store_env  # that module imports this one

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
