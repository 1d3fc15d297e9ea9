"""Region policies as effective-dated data, and the pure rules that read them.

Nothing here does I/O beyond reading the bundled data files, and nothing here imports
the rest of gongji: a visit can be priced in a REPL with ``PolicyBook.load()`` and
:func:`policies.pricing.price_visit`.
"""

from policies.book import PolicyBook, PolicyFileError
from policies.errors import ErrorCode, LedgerError
from policies.money import format_fen, parse_fen

__all__ = ["ErrorCode", "LedgerError", "PolicyBook", "PolicyFileError", "format_fen", "parse_fen"]
