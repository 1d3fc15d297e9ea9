"""Deployment parameters: the values a seed leaves to the city or the agency.

They arrive as JSON (a scenario's ``policy_parameters`` or ``GONGJI_POLICY_PARAMETERS``),
one object per region. Bad values do not stop the ledger: they make that region's steps
fail with ``policy_invalid`` (FORMAT.md), so one city's typo cannot take the others down.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationError

from policies.model import (
    ByCategory,
    Fen,
    Pooling,
    Purpose,
    RateField,
    RatesByLevel,
    RegionPolicy,
    Strict,
)


class ParameterError(ValueError):
    """Deployment parameters that a region's policy or framework does not accept."""


class RegionParameters(Strict):
    """What a deployment may set for one region."""

    average_pension: Fen | None = Field(
        None, description="average pension of the reform year; retired allotment base"
    )
    interest_rate: RateField | None = Field(None, description="annual account interest rate")
    deductible: Fen | None = None
    deductible_retired: Fen | None = None
    rates_employed: tuple[RateField, RateField, RateField] | None = None
    retired_extra: RateField | None = None
    cap_employed: Fen | None = None
    cap_retired: Fen | None = None
    enable_purposes: dict[Purpose, list[Literal["self", "family"]]] = Field(
        default_factory=dict, description="探索 purposes a deployment switches on"
    )


_CITY_FIGURES = ("deductible", "deductible_retired", "rates_employed", "retired_extra",
                 "cap_employed", "cap_retired")


def describe(error: ValidationError) -> str:
    """One line per problem, each naming the field's path."""
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}" for e in error.errors()
    )


def apply_parameters(policy: RegionPolicy, raw: object) -> RegionPolicy:
    """The policy with a deployment's values filled in, or :class:`ParameterError`."""
    try:
        params = RegionParameters.model_validate(raw or {})
    except ValidationError as error:
        raise ParameterError(f"{policy.region} parameters: {describe(error)}") from None
    update: dict[str, object] = {}
    if policy.framework is not None:
        update["pooling"] = _city_pooling(policy, params)
    else:
        given = [name for name in _CITY_FIGURES if getattr(params, name) is not None]
        if given:
            raise ParameterError(
                f"{policy.region} sets its own pooling figures; parameters may not set {given}"
            )
    retired = policy.credits.retired
    if retired.kind == "pension_share" and params.average_pension is not None:
        assert retired.share is not None
        amount = retired.share.apply(params.average_pension)
        update["credits"] = policy.credits.model_copy(
            update={"retired": retired.model_copy(update={"amount": amount})}
        )
    if params.interest_rate is not None:
        update["interest"] = policy.interest.model_copy(update={"rate": params.interest_rate})
    if params.enable_purposes:
        purposes = dict(policy.family.purposes)
        for purpose, who in params.enable_purposes.items():
            rule = purposes.get(purpose)
            already = {side for side, on in (("self", rule and rule.self_allowed),
                                             ("family", rule and rule.family)) if on}
            closed = sorted(set(who) - set(rule.explore if rule else ()) - already)
            if rule is None or closed:
                explorable = list(rule.explore) if rule else []
                raise ParameterError(
                    f"{policy.region}: enable_purposes may switch on only what the seed marks "
                    f"探索 (explore); {purpose} for {closed or list(who)} is closed"
                    + (f" (explorable: {explorable})" if explorable else "")
                    + (f" — {rule.article}" if rule else ""))
            purposes[purpose] = rule.model_copy(
                update={"self_allowed": rule.self_allowed or "self" in who,
                        "family": rule.family or "family" in who,
                        "article": f"{rule.article}; enabled by deployment"}
            )
        update["family"] = policy.family.model_copy(update={"purposes": purposes})
    return policy.model_copy(update=update)


def _city_pooling(policy: RegionPolicy, params: RegionParameters) -> Pooling:
    """Check a city's figures against the provincial framework (jilin (四)) and use them."""
    framework = policy.framework
    assert framework is not None
    missing = [name for name in framework.required if getattr(params, name) is None]
    if missing:
        raise ParameterError(
            f"{policy.region} is a framework: the deployment must set {', '.join(missing)} "
            f"(GONGJI_POLICY_PARAMETERS or a scenario's policy_parameters)"
        )
    assert params.rates_employed is not None and params.retired_extra is not None
    employed = params.rates_employed
    retired = tuple(rate + params.retired_extra for rate in employed)
    for label, rates in (("employed", employed), ("retired", retired)):
        for level, rate in enumerate(rates, start=1):
            if rate.value < framework.min_rate.value or rate.value > 1:
                raise ParameterError(
                    f"{policy.region} {label} rate at level {level} is {rate}; "
                    f"{framework.article} requires {framework.min_rate} to 1"
                )
        if framework.lower_level_not_less and any(
            rates[i].value < rates[i + 1].value for i in range(2)
        ):
            raise ParameterError(
                f"{policy.region} {label} rates {[str(r) for r in rates]}: a lower level may "
                f"not be paid less than a higher one ({framework.article})"
            )
    assert params.deductible is not None
    deductible = ByCategory(
        employed=params.deductible,
        retired=params.deductible if params.deductible_retired is None else params.deductible_retired,
    )
    caps = {name: ByCategory(employed=params.cap_employed, retired=params.cap_retired)
            for name in {s.caps for s in policy.schemes.values()}}
    return policy.pooling.model_copy(update={
        "deductible": deductible,
        "rates": RatesByLevel(employed=employed, retired=retired),  # type: ignore[arg-type]
        "caps": caps,
    })

