"""Reviews of account-use alerts (个人账户使用预警复核): who looked at what, as events.

An alert (:mod:`projections.monitoring.alerts`) is computed from the events and never
blocks a payment; an agency or auditor reviews it — ``acknowledged`` (已知悉) or
``referred`` (移交核查) — with a note. The review is an aggregate of its own, one
``AlertReview.Reviewed`` event per review id, so the audit trail keeps the reviewer, the
role, the day and the note. A review id sent again with the same content is a harmless
retry; with other content, ``duplicate_conflict``.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event
from pydantic import AfterValidator, Field, WithJsonSchema

from ledger.commands import Command, Day, Id
from ledger.core import LedgerCore
from ledger.deciders import Decision
from ledger.ids import NAMESPACE
from ledger.prefetch import Needs
from ledger.results import Reviewed
from policies.errors import ErrorCode, InputError, LedgerError

ALERT_PATTERN = r"^[a-z][a-z_]{0,31}:[0-9A-Za-z\u4e00-\u9fff][0-9A-Za-z\u4e00-\u9fff_.:-]{0,159}$"
_ALERT = re.compile(ALERT_PATTERN)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _alert(value: str) -> str:
    if not _ALERT.fullmatch(value):
        raise InputError(
            f"alert must be an alert id as listed by the alerts report, RULE:SUBJECT:PERIOD "
            f"(e.g. many_beneficiaries:P1:2024); got {value[:60]!r}",
            "alert 须为预警列表中的预警编号（规则:对象:期间，如 many_beneficiaries:P1:2024）")
    return value


def _note(value: str) -> str:
    if not value.strip() or _CONTROL.search(value):
        raise InputError("note must say what was found (1–500 characters, no control "
                         "characters)", "note 须填写复核意见（1–500 个字符，不得含控制字符）")
    return value


AlertId = Annotated[str, AfterValidator(_alert), WithJsonSchema({
    "type": "string", "pattern": ALERT_PATTERN, "maxLength": 193,
    "description": "the alert's id as the alerts report gives it (预警编号)"})]
Note = Annotated[str, Field(min_length=1, max_length=500), AfterValidator(_note)]
Outcome = Literal["acknowledged", "referred"]


class AlertReviewRequest(Command):
    """Review an account-use alert (预警复核): acknowledged (已知悉) or referred (移交核查)."""

    review: Id = Field(description="the review's own id (复核编号): a retry sends it again")
    alert: AlertId
    outcome: Outcome = Field(description="acknowledged 已知悉 | referred 移交核查")
    note: Note = Field(description="what the reviewer found or decided (复核意见)")
    reviewer: Id = Field(description="who reviewed (复核人)")
    date: Day = Field(description="the day of the review (复核日期)")


class ReviewAlert(AlertReviewRequest):
    """A review with the reviewer's role (over HTTP: the API key's, not the body's)."""

    role: Literal["agency", "auditor"] = Field(
        "agency", description="the reviewer's role; over HTTP, the API key's role")


def review_key(review: str) -> UUID:
    """The review aggregate's id: derived from the caller's review id, so a retry collides."""
    return uuid5(NAMESPACE, f"review/{review}")


class AlertReview(Aggregate):
    """One review of one alert; never changed (a second look is another review)."""

    @staticmethod
    def create_id(review_id: str, **_: Any) -> UUID:
        return review_key(review_id)

    @event("Reviewed")
    def __init__(self, review_id: str, alert: str, outcome: str, note: str, reviewer: str,
                 role: str, date: dt.date) -> None:
        self.review_id = review_id
        self.request = {"alert": alert, "outcome": outcome, "note": note,
                        "reviewer": reviewer, "role": role, "date": date.isoformat()}


class ReviewCommands(LedgerCore):
    """Recording reviews of alerts (the alerts themselves are computed from the views)."""

    def review_alert(self, cmd: ReviewAlert) -> Reviewed:
        """Record the review once per review id; a retry returns the same record."""
        key = review_key(cmd.review)
        return self.decide_and_save(Needs(ids=[key]),
                                    lambda got: decide_review(got.aggregate(key), cmd))


def decide_review(existing: AlertReview | None, cmd: ReviewAlert) -> Decision[Reviewed]:
    """The review to record (pure): a new ``AlertReview``, or the recorded one's answer
    for a retry; the same review id with other content is ``duplicate_conflict``."""
    request = cmd.model_dump(mode="json", exclude={"review"})
    if existing is not None:
        if existing.request != request:
            raise LedgerError(
                ErrorCode.DUPLICATE_CONFLICT,
                f"review {cmd.review!r} was already recorded with other content; "
                f"use a new review id (recorded: {existing.request})", field="review",
                message_zh=f"复核编号 {cmd.review} 已用于另一内容的复核，请使用新的编号")
        return Reviewed(review=cmd.review, **existing.request), []
    review = AlertReview(review_id=cmd.review, alert=cmd.alert, outcome=cmd.outcome,
                         note=cmd.note, reviewer=cmd.reviewer, role=cmd.role, date=cmd.date)
    return Reviewed(review=cmd.review, **request), [review]
