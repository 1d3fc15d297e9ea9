"""Helpers of the API tests: keys for every role, and a real ``gongji serve`` subprocess."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from ledger.settings import Settings

GONGJI = str(Path(sys.executable).with_name("gongji"))
AGENCY = "agency-key-0000000001"
AUDITOR = "auditor-key-000000001"
HOSPITAL = "hospital-key-00000001"
PHARMACY = "pharmacy-key-00000001"
MEMBER_A = "member-a-key-00000001"
MEMBER_B = "member-b-key-00000001"
KEYS: dict[str, dict[str, str]] = {
    AGENCY: {"role": "agency"},
    AUDITOR: {"role": "auditor"},
    HOSPITAL: {"role": "institution", "institution": "H1"},
    PHARMACY: {"role": "institution", "institution": "P1"},
    MEMBER_A: {"role": "member", "person": "A"},
    MEMBER_B: {"role": "member", "person": "B"},
}


# The institution directory of the test keys' institutions (定点医药机构目录): level 1,
# designated, in force from 2000 on. An institution key's visits take their level from it.
DIRECTORY = """code,name,region,level,designated,networked,valid_from,valid_to
H1,随州市第一医院,421300,1,true,true,2000-01-01,
P1,随州市大药房,suizhou,1,true,true,2000-01-01,
"""


def list_directory(target: Any, text: str = DIRECTORY) -> Any:
    """Import ``text`` (a directory CSV) into the ledger of ``target`` (a TestClient or a
    ledger) with the import job itself; its summary."""
    from ledger.admdvs import BUILT_IN
    from ledger.jobs.institutions import import_institutions

    ledger = target.app.state.services.ledger if hasattr(target, "app") else target
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "directory.csv"
        path.write_text(text, encoding="utf-8")
        summary = import_institutions(ledger, path, Path(folder) / "rejects.csv", BUILT_IN)
    assert summary.ties_out and not summary.rejected, summary
    return summary


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def settings(database_url: str, parameters: dict[str, Any] | None = None,
             redis_url: str | None = None) -> Settings:
    return Settings(database_url=database_url, api_keys=json.dumps(KEYS),
                    policy_parameters=json.dumps(parameters or {}), redis_url=redis_url)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_server(database_url: str, parameters: dict[str, Any] | None = None,
                   workers: int = 1, log: Path | None = None,
                   options: tuple[str, ...] = ("--log-level", "warning", "--no-access-log"),
                   ) -> Iterator[str]:
    """``gongji serve`` on a free port with these settings; yields its base URL."""
    port = free_port()
    env = {**os.environ, "GONGJI_DATABASE_URL": database_url,
           "GONGJI_API_KEYS": json.dumps(KEYS),
           "GONGJI_POLICY_PARAMETERS": json.dumps(parameters or {})}
    env.pop("GONGJI_REDIS_URL", None)
    out = open(log, "ab") if log else subprocess.DEVNULL
    process = subprocess.Popen(
        [GONGJI, "serve", "--port", str(port), "--workers", str(workers), *options],
        env=env, stdout=out, stderr=out,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90  # a hang guard; a busy CI machine is slow
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"gongji serve exited with {process.returncode}")
            try:
                if httpx.get(f"{url}/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("gongji serve did not answer within 90 s")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if log:
            out.close()
