"""City-scale batch jobs: bulk enrollment, monthly crediting, allotments, the year end.

Each job streams its input (a CSV file, or every account in key order), decides a batch
of accounts at a time with the ledger's own commands' rules, commits the batch in one
transaction (:mod:`ledger.adapters.batch`), and returns a :class:`JobSummary` that ties out.
All of them take a :class:`Shard` so that N processes split the population.
"""

from ledger.jobs.allot_month import allot_month
from ledger.jobs.close_year import close_year
from ledger.jobs.credit_month import credit_month
from ledger.jobs.people import import_people
from ledger.jobs.shard import Shard, ShardError
from ledger.jobs.summary import JobSummary

__all__ = ["JobSummary", "Shard", "ShardError", "allot_month", "close_year", "credit_month",
           "import_people"]
