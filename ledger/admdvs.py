"""Region codes (医保区划 admdvs) and the ledger's pooling regions (统筹地区).

The national platform and the institution directory name a region by its six-digit
administrative code; the ledger by the name of its policy files. The five built-in codes
are the regions' own; a deployment adds more with ``GONGJI_ADMDVS`` (a city's districts,
a province's cities), for example ``GONGJI_ADMDVS="360102=nanchang,360111=nanchang"``.
A code maps to one region; a region's own code (the first below) is the one an answer
gives back.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

BUILT_IN: dict[str, str] = {
    "421300": "suizhou",    # 湖北省随州市
    "360100": "nanchang",   # 江西省南昌市
    "220000": "jilin",      # 吉林省
    "530000": "yunnan",     # 云南省
    "500000": "chongqing",  # 重庆市
}
CODE = re.compile(r"^[0-9]{6}$")
SETTING = "GONGJI_ADMDVS"


def parse(text: str, regions: Iterable[str]) -> dict[str, str]:
    """``CODE=region,…`` as ``{code: region}``, added to :data:`BUILT_IN`; ``ValueError``
    naming the setting and the entry that cannot be used."""
    known = sorted(set(regions))
    table = dict(BUILT_IN)
    for entry in (part.strip() for part in text.split(",")):
        if not entry:
            continue
        code, equals, region = (s.strip() for s in entry.partition("="))
        if not equals or not CODE.match(code):
            raise ValueError(f"{SETTING}: {entry!r} is not CODE=region with a six-digit "
                             "code (医保区划), e.g. 360102=nanchang")
        if region not in known:
            raise ValueError(f"{SETTING}: {entry!r} names no region of the policy files; "
                             f"the regions are {', '.join(known)}")
        if table.get(code, region) != region:
            raise ValueError(f"{SETTING}: {entry!r}: code {code} is already {table[code]}; "
                             "a code maps to one region")
        table[code] = region
    return table


def region_of(value: str, table: dict[str, str], regions: Iterable[str]) -> str | None:
    """The region a directory or platform field names, by code or by name; None if none."""
    if CODE.match(value):
        return table.get(value)
    return value if value in set(regions) else None
