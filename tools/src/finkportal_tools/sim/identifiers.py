"""ZTF-format identifiers: objectId, pid and candid.

- ``objectId``: ``ZTF`` + two-digit year of first detection + 7 lowercase letters.
  Letters come from a bijective scramble of (field slot, draw index, visit), so
  ids never repeat within a simulated night and look unordered like real ones.
- ``pid`` (processing id) = ``nid``, the exposure time as a 5-digit fraction of
  the day, then ``fid`` and the readout quadrant ``rcid`` (13 digits in 2026).
- ``candid`` = ``pid * 10**6 + tblid``: unique 64-bit while ``tblid < 10**6``.
"""

from __future__ import annotations

import string

_LETTERS = string.ascii_lowercase
_ID_SPACE = 26**7
# Odd and not a multiple of 13, hence coprime with 26**7: the scramble is a bijection.
_MULTIPLIER = 1_000_003
MAX_TBLID = 10**6


# Draw indices per field stay far below this; slots (fields a night) below 26**7 / 2**22.
_MAX_INDEX = 2**21


def object_id(seed: int, year: int, slot: int, index: int, visit: int = 0) -> str:
    """The objectId of object ``index`` of field ``slot`` (``visit`` 1 for a moving
    source's second detection): a pure function, so ids do not depend on the order
    objects are generated in, and distinct arguments never give the same id."""
    if not 0 <= index < _MAX_INDEX or visit not in (0, 1):
        raise ValueError(f"object index {index} / visit {visit} out of range")
    serial = (slot * _MAX_INDEX + index) * 2 + visit
    if serial >= _ID_SPACE:
        raise OverflowError("object id space of one night exhausted")
    code = (serial * _MULTIPLIER + seed * 2_654_435_761) % _ID_SPACE
    return f"ZTF{year % 100:02d}{_letters(code)}"


def _letters(code: int) -> str:
    chars = []
    for _ in range(7):
        code, rest = divmod(code, 26)
        chars.append(_LETTERS[rest])
    return "".join(reversed(chars))


def processing_id(nid: int, jd: float, fid: int, rcid: int) -> int:
    fraction = round((jd % 1.0) * 100_000) % 100_000
    return ((nid * 100_000 + fraction) * 10 + fid) * 1000 + rcid


def candidate_id(pid: int, tblid: int) -> int:
    if not 0 <= tblid < MAX_TBLID:
        raise ValueError(f"tblid {tblid} out of range")
    return pid * MAX_TBLID + tblid
