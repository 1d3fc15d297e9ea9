"""Storage adapters: everything that knows how the ledger's data sits in a database.

- :mod:`ledger.adapters.store`: the store a database URL selects (eventsourcing's settings),
  probes of a deployment's store and Redis, and the lock under which a store is initialised;
- :mod:`ledger.adapters.chain`: the tamper-evident hash chain, appended by the recorders in
  the events' insert transaction;
- :mod:`ledger.adapters.bulk`: reading many aggregates and ids in key order at once;
- :mod:`ledger.adapters.batch`: writing a batch job's decisions in one transaction.

The domain (:mod:`ledger.account`, the commands and their rules) imports none of them.
"""
