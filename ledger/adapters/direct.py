"""Events stored straight from their attributes: the batch jobs' direct path (issue 9).

eventsourcing turns a decision into stored bytes through several objects per event: the
``@event`` method binds its arguments, ``trigger_event`` builds a frozen event object,
``mutate`` applies it, ``collect_events`` hands it over and ``mapper.to_stored_event``
copies its ``__dict__`` into the transcoder's JSON. At a few thousand credits a batch
that costs more than the insert. :class:`DirectEvents` does the same with plain values:

- the event's state is ``{"timestamp": …, <the @event method's parameters in order>}``
  (its defaults filled in, ``class_version`` added when above 1), the dict the mapper
  would encode, encoded by :class:`~ledger.adapters.state.StateCodec` (orjson, byte for
  byte the transcoder's JSON; sealed by the mapper's cipher and compressor, so
  ``GONGJI_CIPHER_KEY`` encrypts these events as it does all others);
- it is applied by calling the ``@event`` method's own body (eventsourcing's
  ``decorated_funcs``: the one copy of the mutation), then the aggregate's version and
  ``modified_on`` are set as ``mutate`` sets them;
- a *created* event (``Enrolled``, the people import) also carries ``originator_topic``
  and makes the account as eventsourcing's ``_create`` and ``CanInitAggregate.mutate``
  do: a shell of the class, ``__base_init__`` (id from ``create_id``, version 1, both
  timestamps), then the class's ``__init__`` body;
- the account's state row and credited months follow from the account afterwards.

The chain links are written by the recorder in the same ``insert_events`` call as for any
other batch (:mod:`ledger.adapters.chain`). ``tests/test_bulk_equivalence.py`` checks that
the bytes are those of the one-command path. ``GONGJI_DIRECT_EVENTS=0`` turns the path off
(the jobs then decide through eventsourcing's objects, as before).
"""

from __future__ import annotations

import inspect
import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.domain import CanInitAggregate, decorated_funcs
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic, resolve_topic

from ledger.account import Account
from ledger.adapters.state import MONTH_EVENTS, StateCodec

_NO_DEFAULT = inspect.Parameter.empty


@dataclass
class DirectRows:
    """What a batch stores: events (key order), state rows, credited months, counts."""

    events: list[StoredEvent] = field(default_factory=list)
    states: list[StoredEvent] = field(default_factory=list)
    months: list[tuple[UUID | str, str]] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    hex_ids: bool = False  # the ids are the store's 32-digit hex, not ``UUID``s


class DirectEvents:
    """Collects the new events of a batch's accounts as stored rows, applying each one."""

    def __init__(self, app: Any) -> None:
        self.codec = StateCodec(app.mapper)
        #: the store keeps ids as 32-digit hex (SQLite): the rows carry them so, made once
        #: an event here, and the batch's dicts are keyed by them (a ``str`` keeps its hash;
        #: a ``UUID`` works its out in Python at every lookup)
        self.hex_ids = bool(getattr(app.recorder, "hex_ids", False))
        self.interval = (app.snapshotting_intervals.get(Account)
                         if app.snapshots is not None else None)
        self.snapshot_due = False
        self._events: dict[UUID | str, list[StoredEvent]] = {}
        self._accounts: dict[UUID | str, Account] = {}
        self._counts: Counter[str] = Counter()
        self._months: list[tuple[UUID | str, str]] = []

    @staticmethod
    def enabled(app: Any) -> bool:
        """The direct path is on (``GONGJI_DIRECT_EVENTS``, default on) and the store
        keeps state rows (the chained recorders of :mod:`ledger.adapters.state`)."""
        setting = os.environ.get("GONGJI_DIRECT_EVENTS", "1").strip().lower()
        return setting not in ("0", "no", "off", "false", "n", "f") and hasattr(
            app.recorder, "put_states")

    def append(self, account: Account | None, event_class: type,
               attributes: dict[str, Any]) -> Account:
        """Record ``event_class`` with ``attributes`` as ``account``'s next event and apply
        it; with ``account`` None, ``event_class`` is a created event (``Enrolled``): the
        new account, made as ``Account(**attributes)`` would make it, is returned."""
        func, parameters, topic, class_version, created = _shape(event_class)
        timestamp = event_class.create_timestamp()  # type: ignore[attr-defined]
        state: dict[str, Any] = {"timestamp": timestamp}
        if created is not None:
            state["originator_topic"] = created[1]
        for name, default in parameters:
            value = attributes.get(name, default)
            if value is _NO_DEFAULT:
                raise TypeError(f"{event_class.__name__} needs {name!r}")
            state[name] = value
        if class_version > 1:
            state["class_version"] = class_version
        arguments = {name: state[name] for name, _ in parameters}
        if account is None:
            if created is None:
                raise TypeError(f"{event_class.__name__} does not create an aggregate")
            # what the created event's ``mutate`` does: a shell, the base attributes, the
            # ``__init__`` body (eventsourcing's ``_create`` then ``CanInitAggregate.mutate``)
            cls = created[0]
            account = cls.__new__(cls)
            account.__base_init__(cls.create_id(**arguments), cls.INITIAL_VERSION, timestamp)
            func(account, **arguments)
            version = account.version
        else:
            if created is not None:
                raise TypeError(f"{event_class.__name__} creates an aggregate: no account")
            func(account, **arguments)
            version = account.version + 1
            account.version = version
            account.modified_on = timestamp
        key = account.id.hex if self.hex_ids else account.id
        self._events.setdefault(key, []).append(self.codec.event(key, version, topic, state))
        self._accounts[key] = account
        self._counts[event_class.__name__] += 1
        if event_class.__name__ in MONTH_EVENTS:
            self._months.append((key, state["month"]))
        if self.interval and version % self.interval == 0:
            self.snapshot_due = True
        return account

    def prepared(self) -> DirectRows:
        """The batch's rows in key order, each changed account's state row once (ids as
        the store keeps them: see ``hex_ids``)."""
        order = sorted(self._events) if self.hex_ids else sorted(
            self._events, key=lambda i: i.hex)
        return DirectRows(
            events=[e for i in order for e in self._events[i]],
            states=[self.codec.row(self._accounts[i], i) for i in order],
            months=self._months, counts=self._counts, hex_ids=self.hex_ids)


#: per event class: the ``@event`` body (``__init__`` for a created event), its parameters
#: (name, default) in order, its topic, its class version, and for a created event the
#: aggregate class and its topic
_Shape = tuple[Any, list[tuple[str, Any]], str, int, "tuple[type, str] | None"]
_SHAPES: dict[type, _Shape] = {}


def _shape(event_class: type) -> _Shape:
    """What :meth:`DirectEvents.append` needs to know of ``event_class``, found once."""
    shape = _SHAPES.get(event_class)
    if shape is None:
        topic = get_topic(event_class)
        created = None
        if issubclass(event_class, CanInitAggregate):
            aggregate = aggregate_of(event_class)
            func = aggregate.__init__
            created = (aggregate, get_topic(aggregate))
        else:
            func = decorated_funcs[event_class]
        parameters = [(p.name, p.default)
                      for p in list(inspect.signature(func).parameters.values())[1:]]
        shape = (func, parameters, topic, getattr(event_class, "class_version", 1), created)
        _SHAPES[event_class] = shape
    return shape


def aggregate_of(event_class: type) -> Any:
    """The aggregate class an event class is nested in (``Account.Enrolled`` → ``Account``)."""
    return resolve_topic(get_topic(event_class).rpartition(".")[0])
