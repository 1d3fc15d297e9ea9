"""CPU time per request of the API's read paths, inside one process (no HTTP, no client).

A shared, loaded machine makes latencies noisy; the CPU time a request costs the server
is steadier, and 1,000,000 / (µs per request) is what one worker could serve on a core
of its own. The script enrolls ``--people`` persons in a temporary SQLite store (or the
PostgreSQL schema / Redis views given), applies them to the views, then calls the ASGI
app directly ``--requests`` times per path and prints the CPU µs per request, beside the
same run's baselines:

- ``/v1/health``: a constant answer through the same app and middleware (a sync route);
- ``…?consistency=eventual``: the same read through FastAPI's route (routing, dependency
  solving, query parsing), i.e. without the hot lane of ``api/hot.py``;
- ``…?consistency=strong``: the aggregate (what a read the views cannot answer costs).

    .venv/bin/python bench/api_cpu.py [--redis redis://127.0.0.1:6379/4] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

KEY = "bench-agency-key-000000000001"


def scope(path: str, method: str = "GET", body: bytes = b"") -> dict:
    path, _, query = path.partition("?")
    headers = [(b"host", b"bench"), (b"authorization", f"Bearer {KEY}".encode())]
    if method == "POST":
        headers += [(b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode())]
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": method, "scheme": "http", "path": path, "raw_path": path.encode(),
            "query_string": query.encode(), "root_path": "", "headers": headers,
            "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80), "state": {}}


Body = Callable[[int], bytes]  # request number -> a POST body


async def drive(app, path: str, count: int, body: Body | None = None,  # noqa: ANN001
                start: int = 0) -> int:
    """``count`` requests to ``path`` (a POST of ``body(i)`` when given); the last status."""
    sent: list[dict] = []
    for i in range(start, start + count):
        data = body(i) if body else b""

        async def receive(data: bytes = data) -> dict:
            return {"type": "http.request", "body": data, "more_body": False}

        async def send(message: dict) -> None:
            sent.append(message)

        sent.clear()
        await app(scope(path, "POST" if body else "GET", data), receive, send)
        if sent[0]["status"] >= 300:
            raise SystemExit(f"{path}: status {sent[0]['status']}: {sent[1].get('body')!r}")
    return sent[0]["status"]


def settlements(people: int, run: str) -> Body:
    """Settlement bodies with new visit ids, spread over ``people`` persons (as
    ``bench/api_load.py`` sends them)."""

    def body(i: int) -> bytes:
        return json.dumps({"person": f"P{i % people}", "id": f"S{run}-{i}",
                           "date": "2024-06-01", "level": 1, "in_scope": "80.00",
                           "out_of_scope": "5.00"}).encode()

    return body


def inline_thread_pool() -> None:
    """Run FastAPI's sync endpoints and dependencies in the calling thread (for cProfile,
    which sees only the thread it was started in)."""
    import fastapi.dependencies.utils
    import fastapi.routing

    import api.writes

    async def inline(call, /, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        return call(*args, **kwargs)

    async def inline_call(call):  # noqa: ANN001, ANN202
        return call()

    fastapi.routing.run_in_threadpool = inline
    fastapi.dependencies.utils.run_in_threadpool = inline
    api.writes.run_in_threadpool = inline
    api.writes.in_writer = inline_call


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=50)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--database", default=None, help="default: a temporary SQLite file")
    parser.add_argument("--redis", default=None, help="Redis URL for the views (FLUSHED)")
    parser.add_argument("--profile", nargs="?", const="balance", choices=["balance", "settlement"],
                        help="cProfile the balance read (default) or the settlement")
    parser.add_argument("--profile-file", default=None, help="also save the profile there")
    parser.add_argument("--settlements", type=int, default=None,
                        help="settlement POSTs to time (default: --requests / 5)")
    args = parser.parse_args()
    directory = tempfile.mkdtemp(prefix="gongji-bench-")
    os.environ.update(GONGJI_DATABASE_URL=args.database or str(Path(directory) / "g.db"),
                      GONGJI_API_KEYS=json.dumps({KEY: {"role": "agency"}}),
                      GONGJI_POLICY_PARAMETERS="{}")
    os.environ.pop("GONGJI_REDIS_URL", None)
    if args.redis:
        import redis

        redis.Redis.from_url(args.redis).flushdb()
        os.environ["GONGJI_REDIS_URL"] = args.redis
    from fastapi.testclient import TestClient

    from api import create_app
    from cli.projections import worker

    app = create_app()
    with TestClient(app) as client:  # seeds through the API
        client.headers["Authorization"] = f"Bearer {KEY}"
        for n in range(args.people):
            client.post("/v1/people", json={"person": f"P{n}", "region": "suizhou",
                                            "birth_date": "1970-01-01"}).raise_for_status()
            client.post("/v1/contributions", json={"person": f"P{n}", "month": "2024-01",
                                                   "base": "5000.00"}).raise_for_status()
            client.post("/v1/settlements", json={
                "person": f"P{n}", "id": f"V{n}", "date": "2024-03-01", "level": 1,
                "in_scope": "80.00"}).raise_for_status()
        with worker() as w:
            w.catch_up()
        person = f"P{args.people // 2}"
        paths = [("baseline: /v1/health (constant)", "/v1/health"),
                 ("balance read", f"/v1/people/{person}"),
                 ("pooling read", f"/v1/people/{person}/pooling"),
                 ("baseline: balance read through the route",
                  f"/v1/people/{person}?consistency=eventual"),
                 ("baseline: pooling read through the route",
                  f"/v1/people/{person}/pooling?consistency=eventual"),
                 ("baseline: balance read, aggregate", f"/v1/people/{person}?consistency=strong")]
        print(f"views: {app.state.services.views.kind}; {args.requests} requests per path; "
              f"load average {os.getloadavg()[0]:.1f} (2 cores, shared)")
        for name, path in paths:
            asyncio.run(drive(app, path, 100))  # warm
            started = time.process_time()
            status = asyncio.run(drive(app, path, args.requests))
            cpu = (time.process_time() - started) / args.requests * 1e6
            print(f"{name:<42} {cpu:7.0f} µs CPU/request  (status {status})", flush=True)
        run, count = uuid.uuid4().hex[:6], args.settlements or max(1, args.requests // 5)
        body = settlements(args.people, run)
        asyncio.run(drive(app, "/v1/settlements", 50, body, start=10**6))  # warm
        started, wall = time.process_time(), time.perf_counter()
        status = asyncio.run(drive(app, "/v1/settlements", count, body))
        cpu = (time.process_time() - started) / count * 1e6
        wall = (time.perf_counter() - wall) / count * 1e3
        print(f"{'settlement (new visit ids)':<42} {cpu:7.0f} µs CPU/request  (status {status}, "
              f"{count} requests one after the other, {wall:.2f} ms wall each)", flush=True)
        if args.profile:
            inline_thread_pool()  # cProfile sees one thread: run sync routes in it
            profile = cProfile.Profile(time.process_time)  # CPU: not the fsync waits
            if args.profile == "balance":
                profile.runcall(asyncio.run, drive(app, f"/v1/people/{person}", args.requests))
            else:
                profile.runcall(asyncio.run, drive(app, "/v1/settlements", count, body,
                                                   start=2 * 10**6))
            if args.profile_file:
                profile.dump_stats(args.profile_file)
            pstats.Stats(profile).sort_stats("cumulative").print_stats(40)


if __name__ == "__main__":
    main()
