"""API keys (API 密钥) and their roles, read from ``GONGJI_API_KEYS``.

The setting is a JSON object ``{"KEY": {"role": ROLE, …}}``; :func:`load_keys` checks it
and names a bad entry by its position (``key #2``), never by the key itself, which is a
secret. The ledger knows nothing of keys: only the API (and the CLI that starts it) reads
them.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from ledger.settings import SettingsError

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


def load_keys(value: str) -> dict[str, ApiKey]:
    """The keys of ``GONGJI_API_KEYS`` (``value``), or :class:`SettingsError` naming it."""
    try:
        keys = _API_KEYS.validate_json(value or "{}")
    except ValidationError as error:
        # the first part of an error's location is the key itself: a secret, never shown
        order = _key_order(value)
        problems = "; ".join(
            f"{_where(e['loc'], order)}: {e['msg'].removeprefix('Value error, ')}"
            for e in error.errors()
        )
        raise SettingsError(f"GONGJI_API_KEYS: {problems}") from None
    if any(len(key) < 16 for key in keys):
        raise SettingsError("GONGJI_API_KEYS: every key needs at least 16 characters")
    return keys


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
