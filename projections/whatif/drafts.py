"""Draft policies for a what-if: validated exactly as real policy files are.

A draft is a policy file (:func:`policies.book.load_file`, the loader of
``policies/data``), with the deployment's parameters applied as the book applies them
(:func:`policies.parameters.apply_parameters`; for a framework such as jilin, the city's
figures are checked against the provincial framework). A broken draft is refused with
``invalid_input`` naming the file and the field; nothing is read or priced before.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from policies.book import PolicyFileError, load_file
from policies.errors import ErrorCode, LedgerError
from policies.model import RegionPolicy
from policies.parameters import ParameterError, apply_parameters


@dataclass(frozen=True, slots=True)
class Draft:
    name: str  # the file's name without .toml: the scenario's column
    policy: RegionPolicy


def _refuse(message: str) -> LedgerError:
    return LedgerError(ErrorCode.INVALID_INPUT, f"draft policy {message}", field="policy")


def load_draft(path: Path, region: str, parameters: Mapping[str, object] | None = None) -> Draft:
    """The draft at ``path`` for ``region``, with ``parameters`` (region → values) applied."""
    try:
        policy = load_file(path)
    except PolicyFileError as error:
        raise _refuse(str(error)) from None
    if policy.region != region:
        raise _refuse(f"{path.name}: region: the draft is a policy of {policy.region!r}, "
                      f"the what-if is of {region!r}")
    try:
        policy = apply_parameters(policy, (parameters or {}).get(region))
    except ParameterError as error:
        raise _refuse(f"{path.name}: parameters: {error}") from None
    return Draft(path.name.removesuffix(".toml"), policy)


def load_draft_text(name: str, text: str, region: str,
                    parameters: Mapping[str, object] | None = None) -> Draft:
    """A draft sent as text (the API): written to a scratch file and loaded as a file."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", Path(name).name) or "draft"
    if not safe.endswith(".toml"):
        safe += ".toml"
    with tempfile.TemporaryDirectory(prefix="gongji-whatif-") as scratch:
        path = Path(scratch, safe)
        path.write_text(text, encoding="utf-8")
        return load_draft(path, region, parameters)


def check_schemes(drafts: Iterable[Draft], schemes: set[str]) -> None:
    """Every scheme the year's visits were priced under must be a scheme of each draft."""
    for draft in drafts:
        missing = sorted(schemes - set(draft.policy.schemes))
        if missing:
            raise _refuse(f"{draft.name}.toml: schemes: the year has visits under "
                          f"{missing}, which the draft does not define")


def unique_names(drafts: list[Draft]) -> list[Draft]:
    """Drafts with distinct column names (a second ``final`` becomes ``final-2``)."""
    seen: dict[str, int] = {"actual": 1}  # the recorded column keeps its name
    named = []
    for draft in drafts:
        seen[draft.name] = seen.get(draft.name, 0) + 1
        name = draft.name if seen[draft.name] == 1 else f"{draft.name}-{seen[draft.name]}"
        named.append(Draft(name, draft.policy))
    return named
