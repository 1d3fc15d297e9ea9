"""The event-sourced ledger: aggregates, events, commands and the application service."""

from ledger.service import Ledger, open_ledger

__all__ = ["Ledger", "open_ledger"]
