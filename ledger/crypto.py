"""Personal data at rest (个人信息加密存储): one codec for every stored body.

With ``GONGJI_CIPHER_KEY`` set (16, 24 or 32 random bytes in base64, as eventsourcing's
``AESCipher`` takes them; ``gongji cipher new-key`` makes one), every event and snapshot
is stored AES-GCM encrypted by eventsourcing's own mapper (``CIPHER_TOPIC``), and the
idempotency store encrypts the responses it keeps. Without the key nothing is encrypted.

Every path that reads or writes stored bodies goes through the application's mapper or
through :class:`Codec`, which wraps that mapper's cipher and compressor:

- ``Application.save`` and the batch jobs (:mod:`ledger.adapters.batch`, :mod:`ledger.adapters.bulk`) use
  ``app.mapper`` itself;
- the projection worker and ``audit verify`` decode raw rows with :func:`state_decoder`;
- ``audit explain`` decodes with ``app.mapper``;
- the hash chain (:mod:`ledger.adapters.chain`) hashes the stored bytes *as stored* (ciphertext),
  so it needs no key, and a re-encryption is a new chain;
- :func:`check_store` reads the first stored event when a ledger opens, so a missing or
  wrong key stops the process with one clear :class:`CipherKeyError` (a
  :class:`~ledger.settings.SettingsError`: exit 2 in the CLI) instead of a traceback later.

Rotation: eventsourcing's cipher holds a single key, and the store is append-only, so a
key is rotated by copying the store into a new one under the new key
(``gongji cipher rekey``, :func:`rekey`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from eventsourcing.persistence import Cipher, Compressor, Mapper, StoredEvent
from eventsourcing.utils import resolve_topic

from ledger.settings import SettingsError

KEY_VARIABLE = "GONGJI_CIPHER_KEY"
NEW_KEY_VARIABLE = "GONGJI_NEW_CIPHER_KEY"
#: eventsourcing's two AES-GCM ciphers write the same bytes (nonce, tag, ciphertext), so a
#: store written by one is read by the other. The ``cryptography`` one is ~60 times faster
#: per event (pycryptodome builds its GCM tables on every call); pycryptodome is the
#: fallback, as the issue asked (both come with the ``crypto`` extra).
FAST_TOPIC = "eventsourcing.cryptography:AESCipher"
PYCRYPTODOME_TOPIC = "eventsourcing.cipher:AESCipher"
KEY_SIZES = (16, 24, 32)


class CipherKeyError(SettingsError):
    """The key is missing, malformed or not the one the store was written with."""


def _has(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


def cipher_topic(variable: str = KEY_VARIABLE) -> str:
    """The AES-GCM cipher to use: ``cryptography``'s if installed, else pycryptodome's."""
    if _has("cryptography.hazmat.primitives.ciphers.aead"):
        return FAST_TOPIC
    if _has("Crypto.Cipher.AES"):
        return PYCRYPTODOME_TOPIC
    raise CipherKeyError(
        f"{variable} is set but no AES library is installed: install the crypto extra "
        "(pip install 'gongji[crypto]') or unset the variable"
    )


def check_key(text: str, variable: str = KEY_VARIABLE) -> str:
    """``text`` if it is a usable AES key (base64 of 16, 24 or 32 bytes); the message
    names the variable and never echoes the key."""
    try:
        raw = base64.b64decode(text.strip().encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise CipherKeyError(
            f"{variable} is not base64: it must be 16, 24 or 32 random bytes in base64; "
            "make one with `gongji cipher new-key`"
        ) from None
    if len(raw) not in KEY_SIZES:
        raise CipherKeyError(
            f"{variable} decodes to {len(raw)} bytes; an AES key has 16, 24 or 32 "
            "(make one with `gongji cipher new-key`)"
        )
    cipher_topic(variable)
    return text.strip()


def configured_key() -> str | None:
    """The deployment's key from the environment (None when unset or empty)."""
    return os.environ.get(KEY_VARIABLE, "").strip() or None


def cipher_env(key: str | None = None) -> dict[str, str]:
    """eventsourcing's settings for ``key`` (default: ``GONGJI_CIPHER_KEY``); {} without one."""
    key = configured_key() if key is None else key.strip()
    if not key:
        return {}
    return {"CIPHER_TOPIC": cipher_topic(), "CIPHER_KEY": check_key(key)}


def new_key(size: int = 32) -> str:
    """A fresh random AES key in base64 (AES-256 by default)."""
    if size not in KEY_SIZES:
        raise ValueError(f"an AES key has 16, 24 or 32 bytes, not {size}")
    return base64.b64encode(os.urandom(size)).decode()


def field_cipher(key: str | None = None) -> Cipher | None:
    """An AES-GCM cipher for bodies outside the event store (None without a key)."""
    env = cipher_env(key)
    if not env:
        return None
    return resolve_topic(env["CIPHER_TOPIC"])(env)  # only .get() is used of the env


# -- the codec ----------------------------------------------------------------------------

NO_KEY = (f"the event store's events are encrypted but {KEY_VARIABLE} is not set: set it to "
          "the key the store was written with (base64) and run the command again")
WRONG_KEY = (f"{KEY_VARIABLE} does not decrypt the event store's events: it is not the key "
             "the store was written with (or the store was re-keyed since); set the right "
             "key and run the command again")
NOT_ENCRYPTED = (f"{KEY_VARIABLE} is set but the event store's events are not encrypted; "
                 "unset it, or copy the store into an encrypted one with "
                 "`gongji cipher rekey` and use that")


@dataclass(frozen=True, slots=True)
class Codec:
    """Stored bytes <-> JSON bytes of an event's state, as the mapper's settings say."""

    cipher: Cipher | None = None
    compressor: Compressor | None = None

    @classmethod
    def of(cls, mapper: Mapper[Any]) -> Codec:
        return cls(mapper.cipher, mapper.compressor)

    @property
    def plain(self) -> bool:
        return self.cipher is None and self.compressor is None

    def open(self, state: bytes) -> bytes:
        """The JSON bytes of a stored state; :class:`CipherKeyError` if the key is wrong."""
        if self.cipher is not None:
            try:
                state = self.cipher.decrypt(state)
            except ValueError:
                raise CipherKeyError(NOT_ENCRYPTED if _is_json(state) else WRONG_KEY) from None
        if self.compressor is not None:
            state = self.compressor.decompress(state)
        return state

    def seal(self, data: bytes) -> bytes:
        """Stored bytes for JSON bytes ``data``."""
        if self.compressor is not None:
            data = self.compressor.compress(data)
        if self.cipher is not None:
            data = self.cipher.encrypt(data)
        return data

    def decode(self, state: bytes) -> dict[str, Any]:
        """A stored state as a dict; a state that is not JSON means a missing key."""
        try:
            return orjson.loads(self.open(state))
        except orjson.JSONDecodeError:
            raise CipherKeyError(NO_KEY if self.plain else WRONG_KEY) from None


def _is_json(state: bytes) -> bool:
    try:
        orjson.loads(state)
    except orjson.JSONDecodeError:
        return False
    return True


def state_decoder(mapper: Mapper[Any]) -> Callable[[bytes], dict[str, Any]]:
    """The cheapest decoding of stored state the store's settings allow: plain JSON goes
    straight to ``orjson.loads`` (the projection's hot path); a ledger checked its key
    against the store when it opened (:func:`check_store`)."""
    codec = Codec.of(mapper)
    return orjson.loads if codec.plain else codec.decode


def check_store(app: Any) -> None:
    """Refuse a key that does not open the store's first event (or no key when it must)."""
    first = app.recorder.select_notifications(0, 1, inclusive_of_start=False)
    if first:
        Codec.of(app.mapper).decode(first[0].state)


def recode(events: list[StoredEvent], source: Codec, target: Codec) -> list[StoredEvent]:
    """The same stored events, decrypted with ``source`` and sealed with ``target``."""
    return [StoredEvent(e.originator_id, e.originator_version, e.topic,
                        target.seal(source.open(e.state))) for e in events]


# -- columns of the read models -------------------------------------------------------------

class ViewFields:
    """Sensitive columns of the read models (birth, retirement and death dates), sealed
    with deterministic AES-SIV under a key derived from ``GONGJI_CIPHER_KEY``.

    Deterministic, so the same date seals to the same text: a recomputed view equals the
    stored one (``audit verify``) and a replayed batch writes the same bytes; what that
    shows is only whether two people share a date. Without a key the columns hold the
    plain ISO date; :meth:`open` reads either, so views built before the key still read.
    """

    PREFIX = "siv:"

    def __init__(self, key: str | None) -> None:
        self._key: bytes | None = None
        self._aead: Any = None
        if key:
            raw = base64.b64decode(check_key(key))
            self._key = hashlib.sha512(b"gongji views\0" + raw).digest()  # AES-256-SIV

    @classmethod
    def from_env(cls) -> ViewFields:
        return cls(configured_key())

    def seal(self, text: str) -> str:
        if self._key is None or not text:
            return text
        return self.PREFIX + base64.b64encode(self._siv().encrypt(text.encode())).decode()

    def _siv(self) -> Any:
        """AES-SIV (RFC 5297): ``cryptography``'s, or pycryptodome's (same bytes)."""
        if self._aead is None:
            self._aead = _Siv(self._key)
        return self._aead

    def open(self, text: str) -> str:
        if not text.startswith(self.PREFIX):
            return text
        if self._key is None:
            raise CipherKeyError(f"the read models are encrypted but {KEY_VARIABLE} is not "
                                 "set: set it, or rebuild the views (`gongji projections "
                                 "rebuild`)")
        try:
            return self._siv().decrypt(base64.b64decode(text[len(self.PREFIX):])).decode()
        except ValueError:
            raise CipherKeyError(f"{KEY_VARIABLE} does not open the read models: they were "
                                 "built under another key; rebuild them (`gongji projections "
                                 "rebuild`)") from None


class _Siv:
    """Deterministic AES-SIV over ``tag || ciphertext``, from either library."""

    def __init__(self, key: bytes) -> None:
        self.key = key
        self.fast = _has("cryptography.hazmat.primitives.ciphers.aead")
        if self.fast:
            from cryptography.hazmat.primitives.ciphers.aead import AESSIV

            self.siv = AESSIV(key)

    def encrypt(self, data: bytes) -> bytes:
        if self.fast:
            return self.siv.encrypt(data, None)
        from Crypto.Cipher import AES

        sealed, tag = AES.new(self.key, AES.MODE_SIV).encrypt_and_digest(data)
        return tag + sealed

    def decrypt(self, data: bytes) -> bytes:
        if self.fast:
            from cryptography.exceptions import InvalidTag

            try:
                return self.siv.decrypt(data, None)
            except InvalidTag:
                raise ValueError("not sealed under this key") from None
        from Crypto.Cipher import AES

        return AES.new(self.key, AES.MODE_SIV).decrypt_and_verify(data[16:], data[:16])


def check_database_key(database_url: str, book: Any) -> None:
    """Check the deployment's key against an existing store, creating nothing: for a
    command (``gongji serve``) to refuse a wrong or missing key before it starts workers.
    A store that is absent or unreachable is left to the commands that open it."""
    from ledger.core import LedgerCore  # ledger.core imports this module
    from ledger.adapters.store import store_env

    env = store_env(database_url)
    path = env.get("SQLITE_DBNAME")
    if path is not None and (path == ":memory:" or not os.path.exists(path)):
        return
    try:
        LedgerCore(book, database_url,
                   env={"CREATE_TABLE": "n", "POSTGRES_CONNECT_TIMEOUT": "5"}).close()
    except CipherKeyError:
        raise
    except Exception:  # noqa: BLE001 — not this check's business (see the docstring)
        return
