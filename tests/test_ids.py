"""The account and transaction ids are RFC 4122 name-based (uuid5) ids of the client's ids:
the fast derivation in ``ledger.ids`` gives exactly ``uuid.uuid5``'s value."""

from __future__ import annotations

import pickle
from uuid import uuid5

from hypothesis import given, strategies as st

from ledger.ids import NAMESPACE, account_id, transaction_id


@given(st.text(max_size=80))
def test_ids_are_uuid5_of_the_names(name: str) -> None:
    for derived, expected in ((account_id(name), uuid5(NAMESPACE, f"account/{name}")),
                              (transaction_id(name), uuid5(NAMESPACE, f"transaction/{name}"))):
        assert derived == expected
        assert (derived.hex, hash(derived), derived.version, derived.variant,
                derived.is_safe) == (expected.hex, hash(expected), 5, expected.variant,
                                     expected.is_safe)
        assert pickle.loads(pickle.dumps(derived)) == expected


def test_a_known_id() -> None:
    assert str(account_id("P00000001")) == str(uuid5(NAMESPACE, "account/P00000001"))


@given(st.uuids())
def test_ids_read_back_from_hex_are_the_same_uuids(uuid) -> None:
    from ledger.ids import uuid_of, uuid_of_hex

    for made in (uuid_of_hex(uuid.hex), uuid_of(uuid.int)):
        assert made == uuid and hash(made) == hash(uuid) and str(made) == str(uuid)
        assert made.version == uuid.version
