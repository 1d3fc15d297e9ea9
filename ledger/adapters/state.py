"""The per-account state row (账户状态行): each account's current state and version, stored
beside its events and written in the *same transaction* as them and their chain links.

A command loads an account with one read of its row instead of a snapshot and the events
after it. The row holds every attribute of the account (:class:`StateCodec`: sealed like
an event, so ``GONGJI_CIPHER_KEY`` encrypts it) and the version it is at. A side table
keyed ``(account, month)`` holds one line per credited month: the database itself refuses
a second credit of a person-month.

The events stay the truth:

- the next event of an account has version ``row version + 1``; a row that is behind its
  events (written around the ledger) makes that insert hit the events' unique key, the
  save is refused as a concurrent write would be, :meth:`LedgerCore.save
  <ledger.core.LedgerCore.save>` repairs the row from the events and the command's retry
  goes through;
- a store from before the state rows is filled in when the ledger opens (a missing row
  is also simply read from the events);
- ``gongji audit verify`` checks every row against the account rebuilt from its events.

The recorders here are the chained recorders (:mod:`ledger.adapters.chain`) that also
write the rows handed to ``insert_events(…, states=…, months=…)``; ``Application.save``
passes its keyword arguments through to that call.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import Mapper, StoredEvent
from eventsourcing.utils import get_topic, resolve_topic
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

from ledger.adapters.chain import ChainedPostgresRecorder, ChainedSQLiteRecorder
from ledger.crypto import Codec
from ledger.ids import hex_of, uuid_of_hex

#: events whose ``month`` is a credited person-month (one per person and month)
MONTH_EVENTS = ("ContributionCredited", "AllotmentCredited")
_KEPT = 4096  # encodings of dates and times kept by a codec
#: how a state row of format 2 begins: a ``class_version`` that no class has, so that a
#: reader of format 1 (a ledger rolled back to an earlier release) takes the row for
#: another class version and reads the account from its events, as it should
_FORMAT_2 = b'{"class_version":"row format 2",'
#: format 3: format 2 without the attributes that still equal their copy in another one
#: (the class's ``row_copies``); a reader of format 2 takes it for another class version
_FORMAT_3 = b'{"class_version":"row format 3",'
#: format 4: format 3 with the dates and times the class names (``row_dates``) written as
#: their ISO text; a reader of format 3 takes it for another class version
_FORMAT_4 = b'{"class_version":"row format 4",'
#: the tag of the transcoder's ``{"_type_", "_data_"}`` objects: a format-4 row whose
#: other attributes hold none has them under ``p`` (nothing to decode), not ``t``
_TAG = b'"_type_"'

#: ``plain_state`` is written with no ``default``: dates, times, subclasses of JSON's types
#: and dataclasses in it raise rather than change type on the way back
_PLAIN = (orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_SUBCLASS
          | orjson.OPT_PASSTHROUGH_DATACLASS)
_BASE = ("_id", "_version", "_pending_events")  # kept in the row's own columns, or not kept
_UTC = dt.timezone.utc


_new = object.__new__


def stored_event(originator_id: UUID | str, originator_version: int, topic: str,
                 state: bytes) -> StoredEvent:
    """``StoredEvent(originator_id, originator_version, topic, state)``, made without its
    frozen dataclass ``__init__`` (four guarded ``__setattr__`` calls: 0.55 against 0.22
    µs): the batch jobs make three a credit (the row read, the event, the new row). The
    same object: equal, hashed and printed alike (``tests/test_state_rows.py``)."""
    event = _new(StoredEvent)
    attributes = event.__dict__  # its own, empty: filled as ``__init__`` fills it
    attributes["originator_id"] = originator_id
    attributes["originator_version"] = originator_version
    attributes["topic"] = topic
    attributes["state"] = state
    return event


class StateCodec:
    """An aggregate's current state <-> its stored row.

    The row holds the aggregate's attributes, encoded with orjson and sealed by the
    mapper's cipher and compressor, so that ``GONGJI_CIPHER_KEY`` encrypts it like an
    event. Its topic is the aggregate's class. A row written for another version of the
    class (``class_version``) is not used: the account is then read from its events, and
    its next save rewrites the row.

    The row's JSON (:meth:`row`, format 2) keeps apart what needs no decoding::

        {"class_version":"row format 2", "c":{the attributes the class names in
         plain_state}, "t":{the others}}

    Format 3 is format 2 for a class that names ``row_copies = (source, names)``: each
    attribute of ``names`` that still equals (same type, same value) its entry in the dict
    attribute ``source`` is left out of ``t``, and reading the row copies it back. An
    account's enrolment facts (``enrolled_as``) were otherwise in its row twice: 218 of a
    fresh account's 791 bytes. A reader of format 2 sees a ``class_version`` that is not
    its class's and reads the account from its events.

    Format 4 is format 3 for a class that also names ``row_dates``: ``{attribute: date or
    datetime}``, or ``{attribute: {key: date or datetime}}`` for a dict attribute. Each
    named value is written as its ISO text instead of the transcoder's ``{"_type_",
    "_data_"}`` object (40 bytes more, and a dict to parse and look into) and read back by
    its type's ``fromisoformat``, the transcoder's own decoding. When the other
    attributes hold no tagged object (most accounts: their dates are all named), they are
    written under ``p`` instead of ``t``, and reading the row does not walk them. (Looking
    for a tag in the whole row when reading it cost 3.6 µs for a row with ten years of
    credited months: the writer looks in what it just wrote, a few hundred bytes.) A named
    attribute holding anything but its type or None (a string, a ``datetime`` where a
    ``date`` is named) makes the row format 3, so no text is ever taken for a date. A
    reader of format 3 reads the account from its events.

    ``c`` holds the attributes the aggregate class lists in ``plain_state``: those that
    hold nothing but JSON's own types (an account's credited months, pooling years and
    closed years), written by orjson without a ``default``, so that a date slipped into
    one fails loudly instead of coming back as a string. ``t`` holds the others in the
    transcoder's ``{"_type_", "_data_"}`` JSON for dates and times, as eventsourcing's
    snapshots hold them. Reading a row walks ``t`` only, so its cost does not grow with
    an account's years of credited months. A row written before format 2 (the
    transcoder's JSON of the whole state) is still read, and rewritten by the account's
    next save; a reader of format 1 sees a ``class_version`` that is not its class's and
    reads the account from its events instead.
    """

    def __init__(self, mapper: Mapper[UUID]) -> None:
        self.codec = Codec.of(mapper)
        self.transcoder = mapper.transcoder
        # the transcoder's encoding of a registered type (date, datetime, Decimal, UUID),
        # dates and times written here without its two calls per value
        self._tagged = _iso_tagged(getattr(mapper.transcoder, "_encode_obj"),
                                   getattr(mapper.transcoder, "types", {}))
        self._decoders = _decoders(getattr(mapper.transcoder, "types", {}))

    def row(self, aggregate: Aggregate, originator_id: UUID | str | None = None) -> StoredEvent:
        """The aggregate's state row (formats 2–4: see the class); its id ``originator_id``
        when given (the aggregate's id as the store keeps it), else the aggregate's."""
        state = dict(vars(aggregate))
        for name in _BASE:
            del state[name]
        version = getattr(type(aggregate), "class_version", 1)
        if version > 1:
            state["class_version"] = version
        plain = {name: state.pop(name) for name in getattr(aggregate, "plain_state", ())
                 if name in state}
        head, copies = _FORMAT_2, getattr(aggregate, "row_copies", None)
        if copies is not None:
            head, (source, names) = _FORMAT_3, copies
            original, absent = state[source], _Absent
            for name in names:  # left out: equal, and of the same type (True is not 1)
                value, copy = state[name], original.get(name, absent)
                if type(value) is type(copy) and value == copy:
                    del state[name]
            dates = getattr(aggregate, "row_dates", None)
            if dates is not None:
                iso = _iso_dates(state, dates)
                if iso is not None:
                    head = _FORMAT_4
                    state.update(iso)
        try:  # no ``default``: a date, time or other non-JSON value in them raises
            plain_json = orjson.dumps(plain, option=_PLAIN)
        except TypeError as error:
            raise TypeError(f"{type(aggregate).__name__}.plain_state names an attribute "
                            f"holding more than JSON's own types: {error}") from error
        other = orjson.dumps(state, default=self._tagged, option=orjson.OPT_PASSTHROUGH_DATETIME)
        data = b"".join((head, b'"c":', plain_json, b',"p":' if head is _FORMAT_4 and
                         _TAG not in other else b',"t":', other, b"}"))
        return stored_event(aggregate.id if originator_id is None else originator_id,
                            aggregate.version, get_topic(type(aggregate)),
                            self.codec.seal(data))

    def decode_row(self, data: bytes, cls: type | None = None) -> dict[str, Any]:
        """A state row's JSON as the attributes of an aggregate of ``cls`` (any format;
        format 3 needs the class's ``row_copies``, format 4 its ``row_dates`` too)."""
        dated = data.startswith(_FORMAT_4)
        copies = dated or data.startswith(_FORMAT_3)
        if not (copies or data.startswith(_FORMAT_2)):
            return self.decode(data)  # a row from before format 2
        row = orjson.loads(data)
        state = row.get("p")  # format 4 with nothing tagged: nothing to decode
        if state is None:
            state = _untagged(row["t"], self._decoders)
        state.update(row["c"])
        if dated:
            _from_iso(state, cls.row_dates)  # type: ignore[union-attr]
        if copies:
            source, names = cls.row_copies  # type: ignore[union-attr]
            original = state[source]
            for name in names:
                if name not in state:
                    state[name] = original[name]
        return state

    def event(self, originator_id: UUID, version: int, topic: str,
              state: dict[str, Any]) -> StoredEvent:
        """A stored row of ``state`` as the mapper would store it: the transcoder's JSON
        (written by orjson), sealed by the mapper's cipher and compressor."""
        data = orjson.dumps(state, default=self._tagged, option=orjson.OPT_PASSTHROUGH_DATETIME)
        return stored_event(originator_id, version, topic, self.codec.seal(data))

    def decode(self, data: bytes) -> Any:
        """JSON bytes as the transcoder decodes them, about twice as fast: parsed by
        orjson, then every ``{"_type_", "_data_"}`` object (innermost first, as the
        transcoder's ``object_hook`` sees them) turned into its value by the registered
        transcoding. Whatever orjson refuses (an integer beyond 64 bits, say) or names an
        unregistered type goes through the transcoder itself."""
        try:
            return _untagged(orjson.loads(data), self._decoders)
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return self.transcoder.decode(data)

    def load(self, row: StoredEvent) -> Aggregate | None:
        """The aggregate a row holds; None for a row of another format or class version."""
        cls = resolve_topic(row.topic)
        if not (isinstance(cls, type) and issubclass(cls, Aggregate)):
            return None  # a row in another format: read the events
        data = self.codec.open(row.state)
        if data.startswith(_FORMAT_3) and getattr(cls, "row_copies", None) is None:
            return None  # a class that no longer names its copies: read the events
        if data.startswith(_FORMAT_4) and (getattr(cls, "row_copies", None) is None
                                           or getattr(cls, "row_dates", None) is None):
            return None  # nor its dates
        state = self.decode_row(data, cls)
        if state.pop("class_version", 1) != getattr(cls, "class_version", 1):
            return None
        state.update(_id=row.originator_id, _version=row.originator_version,
                     _pending_events=[])
        aggregate = object.__new__(cls)
        object.__setattr__(aggregate, "__dict__", state)
        return aggregate


def _iso_tagged(encode: Any, types: dict[type, Any]) -> Any:
    """The transcoder's ``_encode_obj`` (``{"_type_": name, "_data_": encoded}``), with the
    types whose transcoding is ``isoformat()`` (eventsourcing's ``DatetimeAsISO``, the
    ledger's ``DateAsISO``) encoded in one call."""
    iso = {t: transcoding.name for t, transcoding in types.items()
           if type(transcoding) in _iso_transcodings()}
    # the same day recurs (birth dates, a month's days): its encoding is kept; the last two
    # times seen are kept (an event's timestamp is then its account's modified_on in the
    # row, after its created_on), by identity: equal times in two zones encode differently
    days: dict[dt.date, dict[str, str]] = {}
    last: list[tuple[Any, Any, Any, Any]] = [(None, None, None, None)]  # swapped whole:
    # safe across threads

    def tagged(value: Any) -> Any:
        kind = type(value)
        if kind is dt.date:
            data = days.get(value)
            if data is None:
                if len(days) >= _KEPT:
                    days.clear()
                data = days[value] = encode(value)
            return data
        recent = last[0]
        if value is recent[0]:
            return recent[1]
        if value is recent[2]:
            return recent[3]
        name = iso.get(kind)
        if name is None:
            data = encode(value)
        elif kind is dt.datetime and value.tzinfo is _UTC:  # an event's timestamp: orjson
            # writes ``isoformat()``'s text in a third of its time (0.26 against 0.8 µs)
            data = {"_type_": name, "_data_": orjson.dumps(value)[1:-1].decode()}
        else:
            data = {"_type_": name, "_data_": value.isoformat()}
        last[0] = (value, data, recent[0], recent[1])
        return data

    return tagged


def _iso_transcodings() -> dict[type, Any]:
    """The transcodings whose encoding is ``isoformat()`` (eventsourcing's
    ``DatetimeAsISO``, the ledger's ``DateAsISO``), each with the ``fromisoformat`` its
    ``decode`` calls."""
    from eventsourcing.persistence import DatetimeAsISO

    from ledger.core import DateAsISO  # the ledger's own transcoding of dates

    return {DatetimeAsISO: dt.datetime.fromisoformat, DateAsISO: dt.date.fromisoformat}


def _decoders(types: dict[type, Any]) -> dict[str, Any]:
    """Each registered transcoding's name -> its ``decode``; for the ISO ones the
    ``fromisoformat`` their ``decode`` calls, itself: one call less a value."""
    iso = _iso_transcodings()
    return {t.name: iso.get(type(t), t.decode) for t in types.values()}


class _Absent:
    """No copy of an attribute: of no attribute's type, so never left out for it."""


def _iso_dates(state: dict[str, Any], dates: dict[str, Any]) -> dict[str, Any] | None:
    """What format 4 writes in place of the values of ``state`` that ``dates`` names:
    their ISO text (a dict attribute: a copy with its named values so, the aggregate's own
    dict untouched); None when a named value is neither its type nor None (the row is then
    written in format 3).

    The texts are orjson's, made in one call for all of them (0.5 µs for an account's
    three, against 1.9 for three ``isoformat()`` calls): the same text ``isoformat()``
    gives, so the same value comes back (``tests/test_state_rows.py``)."""
    names: list[str] = []
    values: list[Any] = []
    inner: list[tuple[str, list[str]]] = []
    for name, kind in dates.items():
        value = state.get(name)
        if value is None:
            continue
        if type(kind) is dict:
            if type(value) is not dict:
                return None
            keys = []
            for key, key_kind in kind.items():
                item = value.get(key)
                if item is None:
                    continue
                if type(item) is not key_kind:
                    return None
                keys.append(key)
                values.append(item)
            if keys:
                inner.append((name, keys))
        elif type(value) is kind:
            names.append(name)
            values.append(value)
        else:
            return None
    if not values:
        return {}
    texts = orjson.loads(orjson.dumps(values))
    changed = dict(zip(names, texts))
    at = len(names)
    for name, keys in inner:
        copy = changed[name] = dict(state[name])
        for key in keys:
            copy[key] = texts[at]
            at += 1
    return changed


def _from_iso(state: dict[str, Any], dates: dict[str, Any]) -> None:
    """Undo :func:`_iso_dates` in place: each named text back to its date or time."""
    for name, kind in dates.items():
        value = state.get(name)
        if value is None:
            continue
        if type(value) is str:
            state[name] = kind.fromisoformat(value)
        elif type(kind) is dict and type(value) is dict:
            for key, key_kind in kind.items():
                item = value.get(key)
                if type(item) is str:
                    value[key] = key_kind.fromisoformat(item)


def _untagged(value: Any, decoders: dict[str, Any]) -> Any:
    """``value`` (parsed JSON) with its tagged objects decoded, in place, innermost first.

    A tagged object whose data is a string (a date, a time: nearly all of them) is decoded
    where it is met, without a call of this function for it."""
    if type(value) is dict:
        for key, item in value.items():
            kind = type(item)
            if kind is dict:
                if (len(item) == 2 and "_type_" in item
                        and type(data := item.get("_data_")) is str):
                    value[key] = decoders[item["_type_"]](data)
                else:
                    value[key] = _untagged(item, decoders)
            elif kind is list:
                value[key] = _untagged(item, decoders)
        if len(value) == 2 and "_type_" in value and "_data_" in value:
            return decoders[value["_type_"]](value["_data_"])
    elif type(value) is list:
        for index, item in enumerate(value):
            if type(item) is dict or type(item) is list:
                value[index] = _untagged(item, decoders)
    return value


def state_rows(mapper: Mapper[UUID], aggregates: Iterable[Aggregate],
               events: Iterable[Any]) -> dict[str, list[Any]]:
    """``insert_events`` keyword arguments for the aggregates' new state and months.

    ``aggregates``: every aggregate with a state row (accounts) whose ``events`` are being
    stored now; their current state is their state after those events.
    """
    codec = StateCodec(mapper)
    states = [codec.row(a) for a in aggregates]
    kept = {s.originator_id for s in states}
    months = [(e.originator_id, e.month) for e in events
              if e.originator_id in kept and type(e).__name__ in MONTH_EVENTS]
    return {"states": states, "months": months}


def months_of(aggregate: Any) -> list[str]:
    """The credited months an account's state holds (what its side-table lines must be)."""
    return sorted(getattr(aggregate, "credited", {}) or {})


class StateSQLiteRecorder(ChainedSQLiteRecorder):
    """The chained SQLite recorder, also writing state rows and credited months."""

    def __init__(self, datastore: Any, events_table_name: str = "stored_events") -> None:
        self.states_table_name = f"{events_table_name}_accounts"
        self.months_table_name = f"{events_table_name}_months"
        super().__init__(datastore, events_table_name)

    def construct_create_table_statements(self) -> list[str]:
        return [
            *super().construct_create_table_statements(),
            f"CREATE TABLE IF NOT EXISTS {self.states_table_name} (id TEXT PRIMARY KEY, "
            "version INTEGER NOT NULL, topic TEXT NOT NULL, state BLOB NOT NULL) "
            "WITHOUT ROWID",
            f"CREATE TABLE IF NOT EXISTS {self.months_table_name} (id TEXT NOT NULL, "
            "month TEXT NOT NULL, PRIMARY KEY (id, month)) WITHOUT ROWID",
        ]

    def _insert_events(self, c: Any, stored_events: Sequence[StoredEvent],
                       **kwargs: Any) -> Sequence[int] | None:
        ids = super()._insert_events(c, stored_events, **kwargs)
        self._put(c, kwargs.get("states", ()), kwargs.get("months", ()), repair=False)
        return ids

    def _put(self, c: Any, states: Sequence[StoredEvent], months: Sequence[tuple[UUID, str]],
             repair: bool) -> None:
        if states:
            c.executemany(
                f"INSERT INTO {self.states_table_name} VALUES (?,?,?,?) ON CONFLICT(id) DO "
                "UPDATE SET version = excluded.version, topic = excluded.topic, "
                "state = excluded.state" + (
                    "" if repair else f" WHERE {self.states_table_name}.version "
                    "< excluded.version"),
                sorted((hex_of(s.originator_id), s.originator_version, s.topic, s.state)
                       for s in states))
        if months:  # a plain insert: a person-month credited twice refuses the transaction
            c.executemany(f"INSERT {'OR IGNORE ' if repair else ''}INTO "
                          f"{self.months_table_name} VALUES (?,?)",
                          sorted((hex_of(i), m) for i, m in months))

    def put_states(self, states: Sequence[StoredEvent], months: Sequence[tuple[UUID, str]],
                   stale: Sequence[UUID] = ()) -> None:
        """Write rows outside an events insert (fill-in or repair): ``stale`` accounts'
        month lines are replaced by ``months``; rows are overwritten whatever their version."""
        with self.datastore.transaction(commit=True) as c:
            c.executemany(f"DELETE FROM {self.months_table_name} WHERE id = ?",
                          [(i.hex,) for i in stale])
            self._put(c, states, months, repair=True)

    def select_states(self, ids: Sequence[UUID]) -> list[StoredEvent]:
        """The state rows of ``ids`` that exist, in key order."""
        if not ids:
            return []
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT * FROM {self.states_table_name} WHERE id IN "
                      f"({','.join('?' * len(ids))}) ORDER BY id", [i.hex for i in ids])
            return [stored_event(uuid_of_hex(r[0]), r[1], r[2], bytes(r[3]))
                    for r in c.fetchall()]

    def select_state(self, aggregate_id: UUID) -> StoredEvent | None:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT version, topic, state FROM {self.states_table_name} "
                      "WHERE id = ?", (aggregate_id.hex,))
            row = c.fetchone()
        return None if row is None else StoredEvent(aggregate_id, row[0], row[1], bytes(row[2]))

    def event_versions(self, ids: Sequence[UUID]) -> dict[UUID, int]:
        """The version of each id's last stored event."""
        if not ids:
            return {}
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT originator_id, MAX(originator_version) FROM "
                      f"{self.events_table_name} WHERE originator_id IN "
                      f"({','.join('?' * len(ids))}) GROUP BY originator_id",
                      [i.hex for i in ids])
            return {UUID(r[0]): r[1] for r in c.fetchall()}

    def scan_states(self, batch: int = 5000) -> Iterator[list[tuple[StoredEvent, list[str]]]]:
        """Every state row with its month lines, in key order, ``batch`` at a time."""
        after = ""
        while True:
            with self.datastore.transaction(commit=False) as c:
                c.execute(f"SELECT * FROM {self.states_table_name} WHERE id > ? ORDER BY id "
                          "LIMIT ?", (after, batch))
                rows = c.fetchall()
                months: dict[str, list[str]] = {}
                if rows:
                    c.execute(f"SELECT id, month FROM {self.months_table_name} WHERE id > ? "
                              "AND id <= ? ORDER BY id, month", (after, rows[-1][0]))
                    for i, m in c.fetchall():
                        months.setdefault(i, []).append(m)
            if rows:
                yield [(StoredEvent(UUID(r[0]), r[1], r[2], bytes(r[3])), months.get(r[0], []))
                       for r in rows]
            if len(rows) < batch:
                return
            after = rows[-1][0]

    def stray_months(self) -> list[UUID]:
        """Accounts with month lines but no state row."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT DISTINCT id FROM {self.months_table_name} WHERE id NOT IN "
                      f"(SELECT id FROM {self.states_table_name})")
            return [UUID(r[0]) for r in c.fetchall()]

    def count_states(self) -> int:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT COUNT(*) FROM {self.states_table_name}")
            return c.fetchone()[0]

    def has_states(self) -> bool:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT 1 FROM {self.states_table_name} LIMIT 1")
            return c.fetchone() is not None


class StatePostgresRecorder(ChainedPostgresRecorder):
    """The chained PostgreSQL recorder, also writing state rows and credited months."""

    def __init__(self, datastore: Any, *, events_table_name: str = "stored_events") -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        schema = Identifier(self.datastore.schema)
        self._states = schema, Identifier(f"{events_table_name}_accounts")
        self._months = schema, Identifier(f"{events_table_name}_months")
        self._events = schema, Identifier(events_table_name)
        self._states_and_events = (*self._states, *self._events)
        self.sql_create_statements += [
            SQL("CREATE TABLE IF NOT EXISTS {0}.{1} (id uuid PRIMARY KEY, version bigint "
                "NOT NULL, topic text NOT NULL, state bytea NOT NULL)").format(*self._states),
            SQL("CREATE TABLE IF NOT EXISTS {0}.{1} (id uuid NOT NULL, month text NOT NULL, "
                "PRIMARY KEY (id, month))").format(*self._months),
        ]

    def _side_rows(self, **kwargs: Any) -> list[tuple[bytes, list[Any]]]:
        """The state rows and month lines handed to ``insert_events``, written in the
        same statement as the events' links."""
        return self._put_statements(kwargs.get("states", ()), kwargs.get("months", ()),
                                    repair=False)

    def _put(self, curs: Any, states: Sequence[StoredEvent],
             months: Sequence[tuple[UUID, str]], repair: bool) -> None:
        self._execute_together(curs, self._put_statements(states, months, repair))

    def _put_statements(self, states: Sequence[StoredEvent],
                        months: Sequence[tuple[UUID, str]],
                        repair: bool) -> list[tuple[bytes, list[Any]]]:
        # one statement each, passed in binary (not a statement per row, nor text arrays
        # that psycopg escapes byte by byte), rows in id order
        statements = []
        if states:
            rows = sorted(((s.originator_id, s.originator_version, s.topic, s.state)
                           for s in states), key=lambda row: row[0])
            statements.append(self._rows_statement(
                "INSERT INTO {0}.{1} AS s", "_states", ("uuid", "bigint", "text", "bytea"),
                rows, " ON CONFLICT (id) DO UPDATE SET version = excluded.version, "
                "topic = excluded.topic, state = excluded.state"
                + ("" if repair else " WHERE s.version < excluded.version")))
        if months:
            statements.append(self._rows_statement(
                "INSERT INTO {0}.{1}", "_months", ("uuid", "text"), sorted(months),
                " ON CONFLICT DO NOTHING" if repair else ""))
        return statements

    def put_states(self, states: Sequence[StoredEvent], months: Sequence[tuple[UUID, str]],
                   stale: Sequence[UUID] = ()) -> None:
        with self.datastore.transaction(commit=True) as curs:
            # the events table's lock first, as every events insert takes it: a repair and
            # a writer then lock the same rows in the same order, never in a deadlock
            self._lock_table(curs)
            if stale:
                curs.execute(SQL("DELETE FROM {0}.{1} WHERE id = ANY(%s)").format(*self._months),
                             (list(stale),))
            self._put(curs, states, months, repair=True)

    def select_states(self, ids: Sequence[UUID]) -> list[StoredEvent]:
        if not ids:
            return []
        with self._read() as curs:
            # ids and results in binary: no text array to write, no hex to undo per state
            curs.execute(self._q("SELECT * FROM {0}.{1} WHERE id = ANY(%b::uuid[]) ORDER BY id",
                                 "_states"), (list(ids),), binary=True)
            return [stored_event(r["id"], r["version"], r["topic"], bytes(r["state"]))
                    for r in curs.fetchall()]

    def select_states_and_events(self, state_ids: Sequence[UUID], event_ids: Sequence[UUID],
                                 ) -> tuple[list[StoredEvent], list[StoredEvent]]:
        """The state rows of ``state_ids`` and every event of ``event_ids`` (in order), in
        one statement: a command's accounts and transactions in one round trip (a
        settlement read its account and its visit's transaction in two)."""
        parts = []
        if state_ids:
            parts.append("SELECT 1 AS k, id, version, topic, state FROM {0}.{1} WHERE id IN ("
                         + ", ".join(["%b::uuid"] * len(state_ids)) + ")")
        if event_ids:
            parts.append("SELECT 2 AS k, originator_id AS id, originator_version AS version, "
                         "topic, state FROM {2}.{3} WHERE originator_id IN ("
                         + ", ".join(["%b::uuid"] * len(event_ids)) + ")")
        if not parts:
            return [], []
        states: list[StoredEvent] = []
        events: list[StoredEvent] = []
        with self._read() as curs:
            curs.execute(self._q(" UNION ALL ".join(parts) + " ORDER BY 1, 2, 3",
                                 "_states_and_events"), [*state_ids, *event_ids], binary=True)
            for r in curs.fetchall():
                (states if r["k"] == 1 else events).append(
                    StoredEvent(r["id"], r["version"], r["topic"], bytes(r["state"])))
        return states, events

    def select_state(self, aggregate_id: UUID) -> StoredEvent | None:
        with self._read() as curs:
            curs.execute(self._q("SELECT version, topic, state FROM {0}.{1} WHERE id = %s",
                                 "_states"), (aggregate_id,), prepare=True)
            r = curs.fetchone()
        return None if r is None else StoredEvent(aggregate_id, r["version"], r["topic"],
                                                  bytes(r["state"]))

    def event_versions(self, ids: Sequence[UUID]) -> dict[UUID, int]:
        if not ids:
            return {}
        with self._read() as curs:
            curs.execute(SQL("SELECT originator_id, MAX(originator_version) AS v FROM {0}.{1} "
                             "WHERE originator_id = ANY(%s) GROUP BY originator_id")
                         .format(*self._events), (list(ids),))
            return {r["originator_id"]: r["v"] for r in curs.fetchall()}

    def scan_states(self, batch: int = 5000) -> Iterator[list[tuple[StoredEvent, list[str]]]]:
        after = UUID(int=0)
        first = True
        while True:
            with self.datastore.transaction(commit=False) as curs:
                curs.execute(SQL("SELECT * FROM {0}.{1} WHERE id > %s OR %s ORDER BY id "
                                 "LIMIT %s").format(*self._states), (after, first, batch))
                rows = curs.fetchall()
                months: dict[UUID, list[str]] = {}
                if rows:
                    curs.execute(SQL("SELECT id, month FROM {0}.{1} WHERE (id > %s OR %s) "
                                     "AND id <= %s ORDER BY id, month").format(*self._months),
                                 (after, first, rows[-1]["id"]))
                    for r in curs.fetchall():
                        months.setdefault(r["id"], []).append(r["month"])
            if rows:
                yield [(StoredEvent(r["id"], r["version"], r["topic"], bytes(r["state"])),
                        months.get(r["id"], [])) for r in rows]
            if len(rows) < batch:
                return
            after, first = rows[-1]["id"], False

    def stray_months(self) -> list[UUID]:
        with self._read() as curs:
            curs.execute(SQL("SELECT DISTINCT id FROM {0}.{1} m WHERE NOT EXISTS "
                             "(SELECT 1 FROM {2}.{3} s WHERE s.id = m.id)")
                         .format(*self._months, *self._states))
            return [r["id"] for r in curs.fetchall()]

    def count_states(self) -> int:
        with self._read() as curs:
            curs.execute(SQL("SELECT COUNT(*) AS n FROM {0}.{1}").format(*self._states))
            return curs.fetchone()["n"]

    def has_states(self) -> bool:
        with self._read() as curs:
            curs.execute(SQL("SELECT 1 AS one FROM {0}.{1} LIMIT 1").format(*self._states))
            return curs.fetchone() is not None
