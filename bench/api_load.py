"""Load the HTTP API at fixed rates with wrk and print p50/p99 latency and throughput.

Two workloads, on the embedded SQLite store and on PostgreSQL:
- balance read  ``GET /v1/people/{person}``        target p99 < 5 ms at 2,000 req/s
- settlement    ``POST /v1/settlements`` (new ids)  target p99 < 20 ms at 300 req/s (PostgreSQL)

The script starts ``gongji serve`` itself on an empty store (a temporary SQLite file; a
fresh schema in --postgres), enrolls --people persons with a balance, then runs wrk with a
Lua script that paces every connection (``delay()``) so that the connections together send
the target rate. wrk is installed with apt-get when missing.

    .venv/bin/python bench/api_load.py --duration 10
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import httpx

KEY = "bench-agency-key-000000000001"
GONGJI = str(Path(sys.executable).with_name("gongji"))

READ_LUA = """
local people, rate_delay = {people}, {delay}
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", "/v1/people/P" .. (n % people), {{["Authorization"] = "Bearer {key}"}})
end
delay = function() return rate_delay end
"""

SETTLE_LUA = """
local people, rate_delay = {people}, {delay}
local counter, threads = 0, 0
setup = function(thread) threads = threads + 1; thread:set("tid", threads) end
request = function()
  counter = counter + 1
  local body = string.format(
    '{{"person": "P%d", "id": "b-%s-%d-%d", "date": "2024-06-01", "level": 1, '
    .. '"in_scope": "80.00", "out_of_scope": "5.00"}}',
    counter % people, "{run}", tid, counter)
  return wrk.format("POST", "/v1/settlements",
    {{["Authorization"] = "Bearer {key}", ["Content-Type"] = "application/json"}}, body)
end
delay = function() return rate_delay end
"""


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    print("installing wrk (apt-get install -y wrk)…", file=sys.stderr)
    subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=True,
                   stdout=subprocess.DEVNULL)
    return shutil.which("wrk") or sys.exit("wrk could not be installed")


@contextmanager
def server(database_url: str, port: int, workers: int) -> Iterator[str]:
    env = {**os.environ, "GONGJI_DATABASE_URL": database_url,
           "GONGJI_API_KEYS": json.dumps({KEY: {"role": "agency"}}),
           "GONGJI_POLICY_PARAMETERS": "{}"}
    env.pop("GONGJI_REDIS_URL", None)
    process = subprocess.Popen([GONGJI, "serve", "--port", str(port), "--workers", str(workers),
                                "--log-level", "warning", "--no-access-log"], env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{url}/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(15)


def seed(url: str, people: int) -> None:
    """Enroll P0…P{people-1} in suizhou with 12 months credited (1,200.00 each)."""
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {KEY}"}) as client:
        for n in range(people):
            client.post("/v1/people", json={"person": f"P{n}", "region": "suizhou",
                                            "birth_date": "1970-01-01"}).raise_for_status()
            for month in range(1, 13):
                client.post("/v1/contributions", json={
                    "person": f"P{n}", "month": f"2024-{month:02d}", "base": "5000.00",
                }).raise_for_status()


def wrk(binary: str, url: str, script: str, rate: int, connections: int, duration: int,
        threads: int) -> dict[str, float]:
    """Run wrk with ``script`` paced to ``rate`` req/s; parse its latency distribution."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(script)
    try:
        out = subprocess.run(
            [binary, "-t", str(threads), "-c", str(connections), "-d", f"{duration}s",
             "--latency", "-s", lua.name, url], capture_output=True, text=True, check=True,
        ).stdout
    finally:
        os.unlink(lua.name)
    percentiles = dict(re.findall(r"^\s+(\d+)%\s+([\d.]+\w+)", out, re.M))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {
        "p50_ms": _ms(percentiles["50"]), "p90_ms": _ms(percentiles["90"]),
        "p99_ms": _ms(percentiles["99"]),
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "socket_errors": errors.group(1) if errors else "",
    }


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


@contextmanager
def stores(postgres: str | None) -> Iterator[list[tuple[str, str]]]:
    """(name, database URL) pairs: a temporary SQLite file, and a fresh PostgreSQL schema."""
    directory = tempfile.mkdtemp(prefix="gongji-bench-")
    found = [("sqlite", str(Path(directory) / "gongji.db"))]
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = None
    if postgres:
        import psycopg

        admin = psycopg.connect(postgres, autocommit=True)
        admin.execute(f"CREATE SCHEMA {schema}")
        found.append(("postgres", f"{postgres}?schema={schema}"))
    try:
        yield found
    finally:
        shutil.rmtree(directory, ignore_errors=True)
        if admin is not None:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")
            admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per workload")
    parser.add_argument("--read-rate", type=int, default=2000)
    parser.add_argument("--settle-rate", type=int, default=300)
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test",
                        help="PostgreSQL URL ('' to skip)")
    parser.add_argument("--port", type=int, default=8931)
    args = parser.parse_args()
    binary = ensure_wrk()
    rows = []
    with stores(args.postgres or None) as found:
        for store, database_url in found:
            with server(database_url, args.port, args.workers) as url:
                seed(url, args.people)
                for workload, template, rate, connections in (
                    ("balance read", READ_LUA, args.read_rate, 40),
                    ("settlement", SETTLE_LUA, args.settle_rate, 20),
                ):
                    script = template.format(people=args.people, key=KEY,
                                             delay=round(connections * 1000 / rate, 3),
                                             run=uuid.uuid4().hex[:6])
                    result = wrk(binary, url, script, rate, connections, args.duration, 2)
                    rows.append((store, workload, rate, result))
                    print(f"{store:8} {workload:12} target {rate:5} req/s: "
                          f"{result['rps']:8.1f} req/s  p50 {result['p50_ms']:7.2f} ms  "
                          f"p90 {result['p90_ms']:7.2f} ms  p99 {result['p99_ms']:7.2f} ms  "
                          f"non-2xx {result['non_2xx']} {result['socket_errors']}",
                          flush=True)
    print(json.dumps([{"store": s, "workload": w, "target_rps": r, **res}
                      for s, w, r, res in rows], indent=2))


if __name__ == "__main__":
    main()
