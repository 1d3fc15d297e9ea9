"""Server time of each console page (/console) on a demo ledger, beside the JSON API's
routes that answer the same questions (the same-run baseline).

    .venv/bin/gongji demo --region yunnan --people 2000 --seed 1 --database demo.db
    GONGJI_DATABASE_URL=demo.db .venv/bin/gongji projections run --once
    .venv/bin/python bench/console.py --database demo.db

Each page is requested ``--repeat`` times in process (FastAPI's TestClient: no network,
so the time is the server's: routing, queries, rendering) and the median and the worst
are printed in milliseconds. The person is the one with the most events; the settlement a
reversed one of that person's region.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from fastapi.testclient import TestClient

from api import create_app
from api.console import COOKIE, token
from ledger.settings import Settings
from cli.simulation import DEMO_PARAMETERS

KEY = "bench-auditor-key-0000001"


def timed(client: TestClient, path: str, repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        answer = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
    return statistics.median(times), max(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", required=True, help="a demo ledger with its views")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    settings = Settings(database_url=args.database,
                        api_keys=json.dumps({KEY: {"role": "auditor"}}),
                        policy_parameters=json.dumps(DEMO_PARAMETERS))
    app = create_app(settings)
    with TestClient(app) as client:
        client.headers["Authorization"] = f"Bearer {KEY}"
        client.cookies.set(COOKIE, token(KEY))
        ledger = app.state.services.ledger
        people = [p["person"] for p in client.get("/v1/people?limit=500").json()["people"]]
        person = max(people, key=lambda p: len(ledger.account_events(p, 500, None)))
        reversed_visit = None
        for p in people:  # a reversed settlement
            for e in client.get(f"/v1/people/{p}/events?limit=500").json()["events"]:
                if e["type"] == "VisitUnpooled":
                    reversed_visit = e["data"]["transaction_id"]
                    break
            if reversed_visit:
                break
        year = client.get(f"/v1/people/{person}/pooling").json()["years"][0]
        pages = [
            ("find a person", "/console/people?prefix=yunnan-s1-00001", "/v1/people?prefix=yunnan-s1-00001"),
            ("timeline", f"/console/people/{person}", f"/v1/audit/people/{person}/explain"),
            ("timeline as of", f"/console/people/{person}?as_of={year['year']}-06-30",
             f"/v1/audit/people/{person}/balance?as_of={year['year']}-06-30"),
            ("pooling year", f"/console/people/{person}/pooling",
             f"/v1/audit/people/{person}/pooling?as_of={year['year']}-12-31"),
            ("family", f"/console/people/{person}/family", f"/v1/people/{person}/family-spending"),
            ("settlement", f"/console/settlements/{reversed_visit}",
             f"/v1/settlements/{reversed_visit}"),
            ("integrity", "/console/integrity", "/v1/health"),
            ("fund report", "/console/reports/fund", "/v1/reports/fund-totals?region=yunnan"),
            ("fund report CSV", "/console/reports/fund.csv", "/v1/reports/fund-totals?region=yunnan"),
        ]
        events = ledger.recorder.max_notification_id()
        print(f"{args.database}: {events:,} events; person {person}, settlement {reversed_visit}")
        print(f"{'page':<18} {'median ms':>10} {'worst ms':>9}   {'API baseline':<45} "
              f"{'median ms':>10}")
        for name, page, baseline in pages:
            median, worst = timed(client, page, args.repeat)
            base, _ = timed(client, baseline, args.repeat)
            print(f"{name:<18} {median:>10.1f} {worst:>9.1f}   {baseline[:45]:<45} {base:>10.1f}")
        started = time.perf_counter()
        answer = client.post("/console/integrity/verify")
        verdict = "sound" if 'id="ok"' in answer.text else "differences"
        print(f"verify now (streamed, whole ledger): {time.perf_counter() - started:.1f} s, "
              f"{verdict}")


if __name__ == "__main__":
    main()
