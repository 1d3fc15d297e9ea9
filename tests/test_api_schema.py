"""Property-based checks of the whole API from its own OpenAPI document (schemathesis).

Bounded examples per route keep it to seconds: no 5xx for any generated request, every
status documented, and every response matching its schema and content type.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from api_support import AGENCY, auth, settings
from fastapi import FastAPI
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api import create_app
from ledger.commands import EnrollPerson, RecordContribution
from projections import ViewWorker

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


def _app_with_one_person(directory: Path) -> FastAPI:
    """The app on a store with one person, so that some generated reads find someone; the
    views caught up, so that /v1/ready answers 200 (its 503 is for a worker behind)."""
    app = create_app(settings(str(directory / "gongji.db")))
    services = app.state.services
    services.ledger.execute(EnrollPerson(person="A", region="suizhou", birth_date="1980-01-01"))
    services.ledger.execute(RecordContribution(person="A", month="2023-01", base="5000.00"))
    ViewWorker(services.ledger.recorder, services.ledger.mapper, services.views).catch_up()
    return app


_STORE = Path(tempfile.mkdtemp(prefix="gongji-schema-"))
APP = _app_with_one_person(_STORE)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@pytest.fixture(scope="module", autouse=True)
def _close_store() -> Iterator[None]:
    yield
    if APP.state.services is not None:
        APP.state.services.close()
    shutil.rmtree(_STORE, ignore_errors=True)


@schema.parametrize()
@hypothesis_settings(max_examples=12, deadline=None, derandomize=True,
                     suppress_health_check=list(HealthCheck))
def test_no_5xx_and_every_response_matches_its_schema(case):
    case.call_and_validate(headers=auth(AGENCY), checks=CHECKS)
