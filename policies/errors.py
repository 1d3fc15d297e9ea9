"""The stable refusal codes of the ledger (conformance FORMAT.md) and the one error type.

They live here, at the bottom of the dependency graph, because the pure rules refuse
things too (a purpose not allowed, no policy in force) and every layer above maps the
same codes: the CLI prints them, the API turns them into problem+json.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    """Refusal codes, in the order the checks run (FORMAT.md "Checks run in this order")."""

    INVALID_INPUT = "invalid_input"
    UNKNOWN_PERSON = "unknown_person"
    UNKNOWN_TRANSACTION = "unknown_transaction"
    # the institution directory (定点医药机构), checked before anything is priced
    UNKNOWN_INSTITUTION = "unknown_institution"
    INSTITUTION_NOT_IN_FORCE = "institution_not_in_force"
    NOT_DESIGNATED = "not_designated"
    LEVEL_MISMATCH = "level_mismatch"
    POLICY_INVALID = "policy_invalid"
    NO_POLICY_IN_FORCE = "no_policy_in_force"
    DUPLICATE_CONFLICT = "duplicate_conflict"
    ALREADY_REVERSED = "already_reversed"
    ACCOUNT_CLOSED = "account_closed"
    NO_PERSONAL_ACCOUNT = "no_personal_account"
    NOT_EMPLOYED = "not_employed"
    NOT_RETIRED = "not_retired"
    NOT_DEAD = "not_dead"
    RELATION_NOT_ALLOWED = "relation_not_allowed"
    NOT_BOUND = "not_bound"
    PURPOSE_NOT_ALLOWED = "purpose_not_allowed"
    INSUFFICIENT_BALANCE = "insufficient_balance"
    CONCURRENCY_CONFLICT = "concurrency_conflict"


class LedgerError(Exception):
    """A refused operation: a stable ``code`` for machines, a ``message`` saying what to fix.

    A refusal changes nothing; the caller may correct the input and send it again.
    """

    def __init__(self, code: ErrorCode, message: str, *, field: str | None = None,
                 message_zh: str | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.field = field
        self.message_zh = message_zh


class InputError(ValueError):
    """A value a caller sent that is not acceptable, said in English and in Chinese (``zh``).

    Raised by the parsers of the rules (money, dates, months, shares) inside pydantic
    validators; the ``invalid_input`` refusal then carries both sentences."""

    def __init__(self, message: str, zh: str) -> None:
        super().__init__(message)
        self.zh = zh
