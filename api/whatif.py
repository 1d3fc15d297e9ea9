"""The what-if route (政策测算): a recorded year re-priced under draft policies, for the
agency only. It reads the events and writes nothing (:mod:`projections.whatif`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from api.auth import Principal, allow
from api.problems import documented
from projections.whatif import load_draft_text, what_if
from projections.whatif.drafts import unique_names
from projections.whatif.present import document

router = APIRouter(prefix="/v1/what-if", tags=["reports"])

Agency = Annotated[Principal, Depends(allow("agency"))]


class DraftPolicy(BaseModel):
    """草案政策: a policy file's text, validated as the files of ``policies/data`` are."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, examples=["nanchang-final.toml"],
                      description="file name (文件名); names the draft's column")
    toml: str = Field(min_length=1, max_length=200_000,
                      description="the policy file's TOML text (政策文件内容)",
                      examples=['region = "nanchang"\nversion = "final"\n…'])


class WhatIfRequest(BaseModel):
    """政策测算请求: which year of which region, under which drafts."""

    model_config = ConfigDict(extra="forbid")

    region: str = Field(min_length=1, max_length=32, examples=["nanchang"],
                        description="region (统筹地区)")
    year: int = Field(ge=1990, le=2200, examples=[2024], description="business year (年度)")
    drafts: list[DraftPolicy] = Field(
        min_length=1, max_length=5, description="draft policies (草案), compared side by side",
        examples=[[{"name": "nanchang-final.toml", "toml": 'region = "nanchang"\n…'}]])
    parameters: dict[str, Any] | None = Field(
        None, description="deployment parameters for the drafts, region → values "
                          "(部署参数; default: the deployment's); a framework draft such as "
                          "jilin takes its city figures from here",
        examples=[{"jilin": {"deductible": "800.00", "rates_employed": ["0.60", "0.55", "0.50"],
                             "retired_extra": "0.05", "cap_employed": "1500.00",
                             "cap_retired": "1800.00"}}])


class WhatIfReport(BaseModel):
    """政策测算结果: actual | draft | change; amounts are two-decimal yuan strings."""

    region: str = Field(description="region (统筹地区)", examples=["nanchang"])
    year: int = Field(description="business year (年度)", examples=[2024])
    scenarios: list[str] = Field(description="actual (实际), then each draft (草案)",
                                 examples=[["actual", "nanchang-final"]])
    drafts: list[dict[str, Any]] = Field(
        description="each draft (草案): its column name, its policy source, whether it "
                    "changes personal-account credits (个人账户计入)",
        examples=[[{"name": "nanchang-final", "source": "nanchang-2023-final-unverified",
                    "changes_credits": False}]])
    self_check: dict[str, Any] = Field(
        description="self-check (自检): re-pricing under the policy in force must reproduce "
                    "every recorded settlement to the fen",
        examples=[{"ok": True, "visits": 7, "differences": [], "message": "self-check: …"}])
    visits_settled: int = Field(description="settled visits of the year (结算人次), reversed "
                                            "ones included", examples=[4703])
    visits_reversed: int = Field(description="of which reversed (冲正), left out of the "
                                             "figures", examples=[157])
    tables: dict[str, list[dict[str, Any]]] = Field(
        description="report tables (测算表): totals, by month, by month × level × category, "
                    "cap, self-pay change deciles, who gains and loses most, "
                    "personal-account credits",
        examples=[{"totals": [{"measure": "fund_paid", "actual": "2020.00",
                               "nanchang-final": "2385.00",
                               "change nanchang-final": "365.00"}]}])


@router.post("", response_model=WhatIfReport, responses=documented(401, 403, 422))
def run_what_if(request: Request, body: WhatIfRequest, who: Agency) -> dict[str, Any]:
    """Re-price a recorded year under draft policies (政策测算), agency only (经办机构).

    Every settled, not reversed visit of the region and year is priced again in its original
    order, from zero accumulations, with the same people, categories, schemes, flags and
    levels: under the policy in force (the self-check) and under each draft. A draft that
    does not validate is refused with 422 ``invalid_input`` naming the file and the field.
    Writes nothing; a POST because the drafts travel in the body.
    """
    services = request.app.state.services
    parameters = services.parameters if body.parameters is None else body.parameters
    drafts = unique_names([load_draft_text(d.name, d.toml, body.region, parameters)
                           for d in body.drafts])
    return document(what_if(services.ledger, body.region, body.year, drafts))
