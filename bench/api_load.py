"""Load one ``gongji serve`` worker at fixed rates (open loop) and print p50/p90/p99 latency.

Workloads, on the embedded SQLite store and on PostgreSQL with Redis (views and
idempotency keys in Redis), each printed beside its same-run baseline:

- balance read  ``GET /v1/people/{person}``           target p99 < 5 ms at 2,000 req/s
- pooling read  ``GET /v1/people/{person}/pooling``   (same path as the balance read)
- settlement    ``POST /v1/settlements`` (new ids)     target p99 < 20 ms at 300 req/s

Baselines, measured in the same run at the same rate by the same client:

- ``bare``: a constant JSON answer from a bare ASGI app under the same uvicorn
  (:mod:`bench.bare_app`) — the floor of server plus client on this machine;
- ``--previous DIR``: the same routes served by another checkout's code (e.g. the main
  branch before this change), started with ``PYTHONPATH=DIR``.

The script starts the servers itself (one worker each) on an empty store (a temporary
SQLite file; a fresh PostgreSQL schema and a flushed Redis database), enrolls ``--people``
persons with credited months over HTTP, applies the events to the views with ``gongji
projections run --once``, then drives each workload with :mod:`bench.loadgen` (open
loop: latency counts from the moment a request was due, so queueing shows).

    .venv/bin/python bench/api_load.py --duration 10 --previous /work/main
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.loadgen import Request, Result, request_bytes, run  # noqa: E402

KEY = "bench-agency-key-000000000001"
GONGJI = str(Path(sys.executable).with_name("gongji"))
AUTH = {"Authorization": f"Bearer {KEY}"}


def _wait(url: str, process: subprocess.Popen[bytes]) -> None:
    for _ in range(600):
        if process.poll() is not None:
            sys.exit(f"the server at {url} exited with status {process.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    sys.exit(f"the server at {url} did not start")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (``/proc/PID/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (uvicorn's workers)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return found


@contextmanager
def gongji(env: dict[str, str], port: int, code: str | None = None,
           workers: int = 1) -> Iterator[int]:
    """``gongji serve`` with ``workers`` workers (its pid); ``code``: another checkout to
    serve from."""
    env = {**env, **({"PYTHONPATH": code} if code else {})}
    process = subprocess.Popen([GONGJI, "serve", "--port", str(port), "--workers",
                                str(workers), "--log-level", "warning", "--no-access-log"],
                               env=env)
    try:
        _wait(f"http://127.0.0.1:{port}/v1/health", process)
        yield process.pid
    finally:
        process.terminate()
        process.wait(15)


def grouping(port: int) -> str:
    """How the server's writes were saved so far (``gongji_group_commit_commands_total``
    of its /metrics): grouped, alone, redone."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", headers=AUTH, timeout=10).text
    found = {}
    for line in text.splitlines():
        if line.startswith("gongji_group_commit_commands_total{"):
            how = line.split('how="', 1)[1].split('"', 1)[0]
            found[how] = int(float(line.rsplit(" ", 1)[1]))
    return ", ".join(f"{how} {count}" for how, count in sorted(found.items())) or "none"


@contextmanager
def bare(port: int) -> Iterator[int]:
    """The constant-answer baseline under uvicorn, configured as ``gongji serve`` is."""
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "bench.bare_app:app", "--port", str(port),
         "--workers", "1", "--log-level", "warning", "--no-access-log", "--lifespan", "off"],
        cwd=Path(__file__).resolve().parent.parent)
    try:
        _wait(f"http://127.0.0.1:{port}/", process)
        yield process.pid
    finally:
        process.terminate()
        process.wait(15)


def seed(url: str, env: dict[str, str], people: int, months: int) -> None:
    """Enroll P0…P{people-1} with ``months`` credited, then apply them to the views."""
    with httpx.Client(base_url=url, headers=AUTH, timeout=30) as client:
        for n in range(people):
            client.post("/v1/people", json={"person": f"P{n}", "region": "suizhou",
                                            "birth_date": "1970-01-01"}).raise_for_status()
            for month in range(1, months + 1):
                client.post("/v1/contributions", json={
                    "person": f"P{n}", "month": f"2024-{month:02d}", "base": "5000.00",
                }).raise_for_status()
    subprocess.run([GONGJI, "projections", "run", "--once"], env=env, check=True,
                   stderr=subprocess.DEVNULL)


@dataclass(frozen=True)
class Workload:
    """Requests sent in turn: GETs of ``paths``, or POSTs of ``bodies`` to ``paths[0]``
    (``{n}`` in a body is replaced by the request's number or id: a new visit id)."""

    paths: list[str]
    bodies: list[str] | None = None

    def python(self) -> Request:
        """The request maker of :mod:`bench.loadgen`."""
        if self.bodies is None:
            requests = [request_bytes("GET", path, AUTH) for path in self.paths]
            return lambda i: requests[i % len(requests)]
        headers = {**AUTH, "Content-Type": "application/json"}
        bodies = self.bodies
        return lambda i: request_bytes("POST", self.paths[0], headers,
                                       bodies[i % len(bodies)].replace("{n}", str(i)).encode())


def reads(path: str, people: int) -> Workload:
    return Workload([path.format(person=f"P{n}") for n in range(people)])


def settlements(people: int) -> Workload:
    run_id = uuid.uuid4().hex[:8]
    return Workload(["/v1/settlements"], [json.dumps({
        "person": f"P{n}", "id": f"b-{run_id}-{{n}}", "date": "2024-06-01", "level": 1,
        "in_scope": "80.00", "out_of_scope": "5.00"}) for n in range(people)])


WRK_SCRIPT = Path(__file__).with_name("fixed_rate.lua")


def wrk_run(port: int, work: Workload, rate: int, duration: float, connections: int,
            warmup: float) -> tuple[Result, dict[str, float]]:
    """``work`` at ``rate`` by wrk (one thread) and :file:`fixed_rate.lua`; latencies from
    each request's scheduled time, and wrk's own (from the send: coordinated omission)."""
    with tempfile.TemporaryDirectory(prefix="gongji-wrk-") as directory:
        paths = Path(directory) / "paths"
        paths.write_text("\n".join(work.paths) + "\n")
        args = [str(rate), str(warmup), str(paths)]
        if work.bodies is not None:
            bodies = Path(directory) / "bodies"
            bodies.write_text("\n".join(work.bodies) + "\n")
            args.append(str(bodies))
        done = subprocess.run(
            ["wrk", "-t1", f"-c{connections}", f"-d{warmup + duration:.0f}s",
             "--timeout", "10s", "-H", f"Authorization: Bearer {KEY}", "-s", str(WRK_SCRIPT),
             f"http://127.0.0.1:{port}", "--", *args],
            capture_output=True, text=True, check=True)
    line = next((x for x in done.stdout.splitlines() if x.startswith('{"answered"')), None)
    if line is None:
        sys.exit(f"wrk printed no result:\n{done.stdout}\n{done.stderr}")
    got = json.loads(line)
    statuses = {int(k): v for k, v in got["statuses"].items()}
    return Result(rate=rate, sent=got["answered"], seconds=duration, p50=got["p50"],
                  p90=got["p90"], p99=got["p99"], max=got["max"], statuses=statuses,
                  errors=got["errors"] + got["unmatched"]), \
        {"p50": got["wrk_p50"], "p99": got["wrk_p99"], "completed": got["completed"]}


@contextmanager
def stores(postgres: str | None, redis_url: str | None) -> Iterator[list[tuple[str, dict[str, str]]]]:
    """(name, environment) of each store: a temporary SQLite file; PostgreSQL + Redis."""
    directory = tempfile.mkdtemp(prefix="gongji-bench-")
    base = {**os.environ, "GONGJI_API_KEYS": json.dumps({KEY: {"role": "agency"}}),
            "GONGJI_POLICY_PARAMETERS": "{}"}
    base.pop("GONGJI_REDIS_URL", None)
    found = [("sqlite", {**base, "GONGJI_DATABASE_URL": str(Path(directory) / "gongji.db")})]
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = None
    if postgres:
        import psycopg
        import redis

        admin = psycopg.connect(postgres, autocommit=True)
        admin.execute(f"CREATE SCHEMA {schema}")
        env = {**base, "GONGJI_DATABASE_URL": f"{postgres}?schema={schema}"}
        if redis_url:
            redis.Redis.from_url(redis_url).flushdb()
            env["GONGJI_REDIS_URL"] = redis_url
        found.append(("postgres+redis" if redis_url else "postgres", env))
    try:
        yield found
    finally:
        shutil.rmtree(directory, ignore_errors=True)
        if admin is not None:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")
            admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10, help="measured seconds per workload")
    parser.add_argument("--warmup", type=float, default=2, help="unmeasured seconds first")
    parser.add_argument("--read-rate", type=int, default=2000)
    parser.add_argument("--settle-rate", type=int, default=300)
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--months", type=int, default=6, help="months credited per person")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test",
                        help="PostgreSQL URL ('' to skip)")
    parser.add_argument("--redis", default=os.environ.get("GONGJI_TEST_REDIS",
                                                          "redis://127.0.0.1:6379/4"),
                        help="Redis URL for the views of the PostgreSQL run ('' for SQL views); "
                             "the database is FLUSHED")
    parser.add_argument("--previous", default=None,
                        help="a checkout whose code serves the same reads as a baseline")
    parser.add_argument("--only", choices=["sqlite", "postgres"], default=None)
    parser.add_argument("--no-settle", action="store_true", help="reads only")
    parser.add_argument("--no-reads", action="store_true", help="settlements only")
    parser.add_argument("--settle-workers", type=int, default=1,
                        help="server workers for the settlements (reads always use one)")
    parser.add_argument("--client", choices=["auto", "wrk", "python"], default="auto",
                        help="wrk + bench/fixed_rate.lua (auto: when installed), or the "
                             "asyncio client of bench/loadgen.py")
    parser.add_argument("--port", type=int, default=8931)
    args = parser.parse_args()
    client = args.client
    if client != "python" and shutil.which("wrk") is None:
        if client == "wrk":
            sys.exit("wrk is not installed (Debian: apt-get install wrk)")
        print("wrk is not installed (Debian: apt-get install wrk): using the Python client, "
              "which takes CPU from the server on a small machine", flush=True)
        client = "python"
    elif client == "auto":
        client = "wrk"

    def load(port: int, pids: list[int], work: Workload, rate: int) -> tuple[Result, float, str]:
        """The result, the servers' CPU time per request (µs) during the run, and (wrk)
        wrk's own latencies from the send. The CPU is divided by the requests answered
        (wrk) or sent (Python client: more than answered when the server fell behind)."""
        before = sum(cpu_seconds(pid) for pid in pids)
        own = ""
        sent = rate * (args.duration + args.warmup)
        if client == "wrk":
            result, uncorrected = wrk_run(port, work, rate, args.duration, args.connections,
                                          args.warmup)
            own = f"  [wrk from the send: p50 {uncorrected['p50']:.2f} p99 " \
                  f"{uncorrected['p99']:.2f} ms]"
            sent = max(1, uncorrected["completed"])
        else:
            result = run("127.0.0.1", port, work.python(), rate, args.duration,
                         args.connections, args.warmup)
        return result, (sum(cpu_seconds(pid) for pid in pids) - before) / sent * 1e6, own

    out: list[dict[str, object]] = []

    def show(store: str, workload: str, measured: tuple[Result, float, str]) -> None:
        result, cpu, own = measured
        print(f"{store:15} {workload:38} {result.rate:5}/s: {result.line()}  "
              f"server CPU {cpu:5.0f} µs/req{own}", flush=True)
        out.append({"store": store, "workload": workload, "rate": result.rate,
                    "client": client, "server_cpu_us_per_request": round(cpu),
                    "achieved": round(result.achieved), "p50_ms": round(result.p50, 2),
                    "p90_ms": round(result.p90, 2), "p99_ms": round(result.p99, 2),
                    "max_ms": round(result.max, 1), "statuses": result.statuses,
                    "errors": result.errors})

    print(f"client: {client} ({'wrk -t1, fixed rate, latency from the scheduled time' if client == 'wrk' else 'bench/loadgen.py, open loop'}); "
          f"load average at start: {os.getloadavg()}", flush=True)
    bare_port = args.port + 1
    constant = Workload(["/"])
    url = f"http://127.0.0.1:{args.port}"
    workloads = [("balance read", "/v1/people/{person}"),
                 ("pooling read", "/v1/people/{person}/pooling")]
    if args.no_reads:
        workloads = []

    def settle(store: str, env: dict[str, str], pids: list[int], name: str = "settlement",
               code: str | None = None) -> None:
        show(store, "baseline: bare constant", load(bare_port, [bare_pid], constant,
                                                    args.settle_rate))
        if args.settle_workers == 1:
            show(store, name, load(args.port, pids, settlements(args.people), args.settle_rate))
            print(f"{store:15} {'':38} group commit: {grouping(args.port)}", flush=True)
            return
        with gongji(env, args.port + 2, code, args.settle_workers) as parent:
            show(store, f"{name}, {args.settle_workers} workers",
                 load(args.port + 2, [parent, *children(parent)], settlements(args.people),
                      args.settle_rate))

    with bare(bare_port) as bare_pid, \
            stores(args.postgres or None, args.redis or None) as found:
        for store, env in found:
            if args.only and not store.startswith(args.only):
                continue
            with gongji(env, args.port) as pid:
                seed(url, env, args.people, args.months)
                for name, path in workloads:
                    show(store, "baseline: bare constant",
                         load(bare_port, [bare_pid], constant, args.read_rate))
                    show(store, name, load(args.port, [pid], reads(path, args.people),
                                           args.read_rate))
                if not args.no_settle:
                    settle(store, env, [pid])
            if args.previous:
                with gongji(env, args.port, args.previous) as pid:
                    for name, path in workloads:
                        show(store, f"baseline: previous code, {name}",
                             load(args.port, [pid], reads(path, args.people), args.read_rate))
                    if not args.no_settle:
                        settle(store, env, [pid], "baseline: previous code, settlement",
                               args.previous)
    print(f"load average at end: {os.getloadavg()}", flush=True)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
