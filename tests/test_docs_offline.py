"""The OpenAPI pages render in a real browser with no network but the API's own.

Debian's chromium runs headless against ``gongji serve``; every host name but 127.0.0.1
resolves to nothing, as on an agency's intranet. Today ``/docs`` loads Swagger UI from a
CDN and stays blank there. Skips when chromium is absent, unless
``GONGJI_REQUIRE_SERVICES=1`` (``.ci/run`` installs it).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
from api_support import running_server

from conftest import PARAMETERS, REQUIRE_SERVICES

BROWSER = shutil.which("chromium") or shutil.which("chromium-browser")
OFFLINE = "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    if BROWSER is None:
        if REQUIRE_SERVICES:
            pytest.fail("chromium is not installed and GONGJI_REQUIRE_SERVICES=1 "
                        "(apt-get install -y chromium)")
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    with running_server(str(tmp_path_factory.mktemp("docs") / "g.db"), PARAMETERS) as url:
        yield url


def _rendered(url: str, profile: Path) -> str:
    """The DOM after the page's scripts ran, in headless chromium with no network."""
    done = subprocess.run(
        [BROWSER, "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update", "--no-first-run",
         f"--user-data-dir={profile}", f"--host-resolver-rules={OFFLINE}",
         "--virtual-time-budget=20000", "--dump-dom", url],
        capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_swagger_ui_renders_every_operation_offline(server: str, tmp_path: Path):
    operations = sum(len(methods) for methods in
                     httpx.get(f"{server}/openapi.json").json()["paths"].values())
    dom = _rendered(f"{server}/docs", tmp_path / "profile")
    paths = re.findall(r'class="opblock-summary-path" data-path="([^"]+)"', dom)
    assert len(paths) == operations > 30
    assert {"/v1/people/{person}", "/v1/settlements", "/v1/ready"} <= set(paths)
    assert "共济" in dom  # the description, rendered


def test_redoc_renders_offline(server: str, tmp_path: Path):
    dom = _rendered(f"{server}/redoc", tmp_path / "profile")
    assert 'data-section-id="tag/people/operation/find_people_v1_people_get"' in dom
    assert "Look people up by the start of their id" in dom


def test_the_pages_name_no_host_but_their_own(server: str):
    for page in ("/docs", "/redoc"):
        html = httpx.get(f"{server}{page}").text
        assert "http://" not in html and "https://" not in html, page
    for asset in ("/static/swagger-ui/swagger-ui-bundle.js", "/static/swagger-ui/swagger-ui.css",
                  "/static/redoc/redoc.standalone.js"):
        assert httpx.get(f"{server}{asset}").status_code == 200
