"""Policy data files and deployment parameters: they load, validate, and fail loudly.

A broken policy file stops the program naming the file and the field; deployment
parameters outside jilin's provincial framework disable jilin only (``policy_invalid`` on
every jilin step, FORMAT.md), never another region.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from conformance.inprocess import InProcessDriver
from ledger import open_ledger
from ledger.commands import EnrollPerson
from policies.book import DATA_DIR, PolicyBook, PolicyFileError, load_file
from policies.errors import ErrorCode, LedgerError
from policies.parameters import ParameterError
from conftest import JILIN, PARAMETERS

SUIZHOU = (DATA_DIR / "suizhou-2022.toml").read_text(encoding="utf-8")


# -- the bundled data ---------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(DATA_DIR.glob("*.toml")), ids=lambda p: p.name)
def test_every_bundled_policy_file_validates(path: Path) -> None:
    policy = load_file(path)
    assert path.name == f"{policy.source}.toml"
    assert policy.default_scheme in policy.schemes


def test_the_book_has_every_region_with_its_validity() -> None:
    book = PolicyBook.load(PARAMETERS)
    assert book.regions == ["chongqing", "jilin", "nanchang", "suizhou", "yunnan"]
    assert book.invalid == {}
    spans = {region: [(p.valid_from, p.valid_to) for p in versions]
             for region, versions in book.versions.items()}
    assert spans == {
        "suizhou": [(dt.date(2022, 12, 31), dt.date(2024, 12, 31))],
        "nanchang": [(dt.date(2023, 1, 1), None)],
        "jilin": [(dt.date(2021, 12, 24), None)],
        "yunnan": [(dt.date(2024, 11, 1), None)],
        "chongqing": [(dt.date(2024, 1, 1), None)],
    }


@pytest.mark.parametrize(
    ("region", "day"),
    [("suizhou", dt.date(2022, 12, 30)), ("suizhou", dt.date(2025, 1, 1)),
     ("nanchang", dt.date(2022, 12, 31)), ("jilin", dt.date(2021, 12, 23)),
     ("yunnan", dt.date(2024, 10, 31)), ("chongqing", dt.date(2023, 12, 31))],
)
def test_no_policy_in_force_outside_every_version(region: str, day: dt.date) -> None:
    with pytest.raises(LedgerError) as refused:
        PolicyBook.load(PARAMETERS).in_force(region, day)
    assert refused.value.code is ErrorCode.NO_POLICY_IN_FORCE


def test_jilin_parameters_become_its_pooling_figures_and_allotment() -> None:
    jilin = PolicyBook.load(PARAMETERS).in_force("jilin", dt.date(2024, 1, 1))
    pooling = jilin.pooling
    assert (pooling.deductible.employed, pooling.deductible.retired) == (80000, 80000)
    assert [str(r) for r in pooling.rates.employed] == ["0.6", "0.55", "0.5"]
    assert [str(r) for r in pooling.rates.retired] == ["0.65", "0.6", "0.55"]
    assert (pooling.caps["standard"].employed, pooling.caps["standard"].retired) == (
        150000, 180000)
    assert jilin.credits.retired.amount == 6000  # 2% × 3000.00


def test_nanchang_allotment_is_two_and_a_half_percent_of_the_average_pension() -> None:
    nanchang = PolicyBook.load(PARAMETERS).in_force("nanchang", dt.date(2024, 1, 1))
    assert nanchang.credits.retired.amount == 7750  # 2.5% × 3100.00


# -- broken files -------------------------------------------------------------------------


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ('employed = "500.00", retired = "400.00"', 'employed = "-500.00", retired = "400.00"',
         "pooling.deductible.employed"),
        ('employed = "500.00", retired = "400.00"', 'employed = 500.5, retired = "400.00"',
         "pooling.deductible.employed"),
        ('employed = "500.00", retired = "400.00"', 'employed = "500.001", retired = "400.00"',
         "pooling.deductible.employed"),
        ('rates_article = "suizhou art. 8"\n', "", "pooling.rates_article"),
        ('employed = ["0.80", "0.70", "0.60"]', 'employed = ["0.80", "0.70"]',
         "pooling.rates.employed"),
        ('employed = ["0.80", "0.70", "0.60"]', 'employed = [0.80, "0.70", "0.60"]',
         "pooling.rates.employed"),
        ('valid_from = 2022-12-31', 'valid_from = "2022-13-31"', "valid_from"),
        ('not_designated = "suizhou art. 27(四)"', 'not_registered_typo = "x"',
         "pooling.ineligible"),
        ('rates_article = "suizhou art. 8"\n', 'rates_article = "suizhou art. 8"\nrate_typo = 1\n',
         "pooling.rate_typo"),
        ('default_scheme = "standard"', 'default_scheme = "gold"', "default_scheme"),
    ],
)
def test_a_broken_file_names_the_file_and_the_field(
    tmp_path: Path, old: str, new: str, field: str
) -> None:
    assert old in SUIZHOU
    path = _write(tmp_path, "suizhou-2099.toml", SUIZHOU.replace(old, new, 1))
    with pytest.raises(PolicyFileError) as broken:
        load_file(path)
    message = str(broken.value)
    assert message.startswith("suizhou-2099.toml: ")
    assert field in message


def test_a_file_that_is_not_toml_names_the_file_and_the_line(tmp_path: Path) -> None:
    line = SUIZHOU.splitlines().index("[pooling]") + 1
    path = _write(tmp_path, "suizhou-2099.toml", SUIZHOU.replace("[pooling]", "[pooling", 1))
    with pytest.raises(PolicyFileError, match=rf"^suizhou-2099\.toml: .*line {line}\b"):
        load_file(path)


def test_the_book_refuses_to_load_a_directory_with_a_broken_file(tmp_path: Path) -> None:
    _write(tmp_path, "suizhou-2022.toml", SUIZHOU)
    _write(tmp_path, "suizhou-2025.toml",
           SUIZHOU.replace('caps = { standard = { employed = "1300.00"',
                           'caps = { standard = { employed = "lots"', 1))
    with pytest.raises(PolicyFileError, match=r"suizhou-2025\.toml: pooling\.caps\.standard"):
        PolicyBook.load(directory=tmp_path)


def test_a_new_version_is_a_new_file(tmp_path: Path) -> None:
    """Policies are data: a 2025 suizhou version extends validity without a code change."""
    _write(tmp_path, "suizhou-2022.toml", SUIZHOU)
    _write(tmp_path, "suizhou-2025.toml", SUIZHOU.replace('version = "2022"', 'version = "2025"')
           .replace("valid_from = 2022-12-31", "valid_from = 2025-01-01")
           .replace("valid_to = 2024-12-31", "valid_to = 2026-12-31")
           .replace('employed = "500.00", retired = "400.00"',
                    'employed = "450.00", retired = "400.00"'))
    book = PolicyBook.load(directory=tmp_path)
    assert book.in_force("suizhou", dt.date(2024, 12, 31)).pooling.deductible.employed == 50000
    assert book.in_force("suizhou", dt.date(2025, 1, 1)).pooling.deductible.employed == 45000


# -- deployment parameters ----------------------------------------------------------------


def _jilin(**changes: object) -> dict[str, object]:
    values = {**JILIN, **changes}
    return {name: value for name, value in values.items() if value is not None}


INVALID_JILIN = {
    "rate under 0.50": _jilin(rates_employed=["0.60", "0.55", "0.49"]),
    "lower level paid less": _jilin(rates_employed=["0.50", "0.55", "0.50"]),
    "retired rate above 1": _jilin(rates_employed=["0.98", "0.90", "0.80"], retired_extra="0.05"),
    "negative deductible": _jilin(deductible="-800.00"),
    "negative cap": _jilin(cap_retired="-1.00"),
    "negative average pension": _jilin(average_pension="-3000.00"),
    "negative retired extra": _jilin(retired_extra="-0.05"),
    "float rate": _jilin(rates_employed=[0.6, 0.55, 0.5]),
    "missing cap_retired": _jilin(cap_retired=None),
    "missing rates": _jilin(rates_employed=None),
    "no parameters at all": None,
    "unknown field": _jilin(deductable="800.00"),
}


@pytest.mark.parametrize("jilin", INVALID_JILIN.values(), ids=INVALID_JILIN.keys())
def test_jilin_values_outside_the_framework_make_jilin_invalid(jilin: object) -> None:
    parameters = {"nanchang": PARAMETERS["nanchang"]}
    if jilin is not None:
        parameters["jilin"] = jilin
    book = PolicyBook.load(parameters)
    assert "jilin" in book.invalid
    with pytest.raises(LedgerError) as refused:
        book.in_force("jilin", dt.date(2024, 1, 1))
    assert refused.value.code is ErrorCode.POLICY_INVALID
    assert "jilin" in refused.value.message
    # the other regions are untouched
    assert book.in_force("suizhou", dt.date(2024, 1, 1)).region == "suizhou"


def test_equal_rates_across_levels_are_within_the_framework() -> None:
    book = PolicyBook.load({"jilin": _jilin(rates_employed=["0.50", "0.50", "0.50"])})
    assert book.invalid == {}


def test_a_region_with_its_own_figures_refuses_city_figures() -> None:
    book = PolicyBook.load({**PARAMETERS, "suizhou": {"deductible": "100.00"}})
    assert "suizhou" in book.invalid


def test_parameters_for_an_unknown_region_stop_the_load() -> None:
    with pytest.raises(ParameterError, match="atlantis"):
        PolicyBook.load({**PARAMETERS, "atlantis": {}})


JILIN_PERSON = {"region": "jilin", "birth_date": "1970-01-01", "scheme": "standard"}
EVERY_JILIN_STEP = [
    ("contribution", {"person": "J", "month": "2024-01", "base": "5000.00"}),
    ("allotment", {"person": "R", "month": "2024-01"}),
    ("retire", {"person": "J", "date": "2024-02-01"}),
    ("visit", {"person": "J", "id": "V1", "date": "2024-02-01", "level": 1,
               "in_scope": "100.00"}),
    ("bind", {"owner": "J", "member": "R", "relation": "parent", "date": "2024-01-01"}),
    ("unbind", {"owner": "J", "member": "R", "date": "2024-01-01"}),
    ("spend", {"payer": "J", "purpose": "pharmacy", "amount": "1.00", "id": "S1",
               "date": "2024-01-01"}),
    ("transfer", {"person": "J", "to_region": "suizhou", "date": "2024-01-01"}),
    ("transfer", {"person": "S", "to_region": "jilin", "date": "2024-01-01"}),
    ("emigrate", {"person": "J", "date": "2024-01-01"}),
    ("death", {"person": "J", "date": "2024-01-01"}),
    ("inheritance", {"person": "J", "date": "2024-01-01",
                     "heirs": [{"name": "H", "share": "1"}]}),
]


@pytest.mark.parametrize(("op", "fields"), EVERY_JILIN_STEP,
                         ids=[f"{op}-{i}" for i, (op, _) in enumerate(EVERY_JILIN_STEP)])
@pytest.mark.parametrize("jilin", [INVALID_JILIN["rate under 0.50"],
                                   INVALID_JILIN["missing cap_retired"]],
                         ids=["out-of-framework", "missing"])
def test_every_jilin_step_fails_with_policy_invalid(
    tmp_path: Path, op: str, fields: dict[str, object], jilin: object
) -> None:
    ledger = open_ledger(str(tmp_path / "jilin.db"), {"jilin": jilin})
    try:
        ledger.enroll(EnrollPerson(person="J", **JILIN_PERSON))
        ledger.enroll(EnrollPerson(person="R", **{**JILIN_PERSON, "retired_on": "2020-01-01"}))
        ledger.enroll(EnrollPerson(person="S", region="suizhou", birth_date="1970-01-01"))
        events = ledger.recorder.max_notification_id()
        with pytest.raises(LedgerError) as refused:
            InProcessDriver(ledger).step(op, fields, "step 1")
        assert refused.value.code is ErrorCode.POLICY_INVALID
        assert ledger.recorder.max_notification_id() == events
    finally:
        ledger.close()


def test_nanchang_allotment_without_average_pension_is_policy_invalid(tmp_path: Path) -> None:
    ledger = open_ledger(str(tmp_path / "nanchang.db"), {"jilin": JILIN})
    try:
        ledger.enroll(EnrollPerson(person="N", region="nanchang", birth_date="1955-01-01",
                                   retired_on="2015-01-01"))
        ledger.enroll(EnrollPerson(person="E", region="nanchang", birth_date="1980-01-01"))
        events = ledger.recorder.max_notification_id()
        driver = InProcessDriver(ledger)
        with pytest.raises(LedgerError) as refused:
            driver.step("allotment", {"person": "N", "month": "2024-01"}, "step 1")
        assert refused.value.code is ErrorCode.POLICY_INVALID
        assert "average_pension" in refused.value.message
        assert ledger.recorder.max_notification_id() == events
        # the rest of nanchang works without the parameter
        assert driver.step("contribution", {"person": "E", "month": "2024-01",
                                            "base": "6000.00"}, "step 2") == {
            "credited": "120.00"}
    finally:
        ledger.close()
