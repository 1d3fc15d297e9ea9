"""The Redis views' account read on each thread's own connection
(:meth:`projections.stores.redis.RedisViews.account_rows`) answers what the ordinary
script call answers, and keeps answering when Redis forgets the script or drops the
connection (it falls back to the ordinary call, which loads the script and reconnects).
"""

from __future__ import annotations

import redis
from conftest import PARAMETERS

from ledger import open_ledger
from ledger.commands import EnrollPerson, RecordContribution
from projections import ViewWorker
from projections.stores.redis import RedisViews


def test_the_account_read_survives_a_script_flush_and_a_dropped_connection(
        redis_url: str, tmp_path) -> None:
    ledger = open_ledger(str(tmp_path / "g.db"), PARAMETERS)
    views = RedisViews(redis_url)
    try:
        ledger.enroll(EnrollPerson(person="A", region="suizhou", birth_date="1970-01-01"))
        ledger.credit_contribution(RecordContribution(person="A", month="2024-01",
                                                      base="5000.00"))
        ViewWorker(ledger.recorder, ledger.mapper, views, batch_size=10).catch_up()
        ordinary = views._account(keys=[views.meta], args=[
            views.prefix, '["A"]', '"A"'])
        script, fallbacks = views._account, []

        def counted(**kwargs):
            fallbacks.append(kwargs)
            return script(**kwargs)

        views._account = counted
        first = views.account_rows("A")
        assert first[0] == ledger.recorder.max_notification_id()
        assert first[1]["balance"] == 10000 and first[1]["person"] == "A"
        assert int(ordinary[0]) == first[0]
        assert views.account_rows("nobody") == (first[0], None, [])
        assert fallbacks == []  # both read on the thread's own connection

        admin = redis.Redis.from_url(redis_url)
        admin.script_flush()  # Redis forgets the script: NOSCRIPT on the own connection
        assert views.account_rows("A") == first
        assert len(fallbacks) == 1  # answered by the ordinary call, which loaded it again
        admin.client_kill_filter(_type="normal", skipme=True)  # every other connection
        assert views.account_rows("A") == first  # reconnected, or by the ordinary call
        dropped = len(fallbacks)
        assert dropped in (1, 2)
        assert views.account_rows("A") == first  # on its own connection again
        assert len(fallbacks) == dropped
        admin.close()
    finally:
        views.close()
        ledger.close()
