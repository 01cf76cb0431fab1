"""Minimal FITS writer for 2-D float32 images (what ZTF cutouts are).

A FITS file is a sequence of 2880-byte blocks: an ASCII header of 80-character
cards ending with ``END`` and padded with spaces, then the big-endian data padded
with zeros. Values of mandatory keywords are right-justified to column 30.
"""

from __future__ import annotations

import gzip

import numpy as np
from numpy.typing import NDArray

BLOCK = 2880
CARD = 80


def _card(keyword: str, value: str, comment: str = "") -> str:
    text = f"{keyword:<8}= {value:>20}"
    if comment:
        text += f" / {comment}"
    return f"{text:<{CARD}}"[:CARD]


def _string_value(value: str) -> str:
    # Quoted strings are left-justified and at least 8 characters inside the quotes.
    return f"'{value:<8}'".ljust(20)


def image_header(height: int, width: int, unit: str = "DN") -> bytes:
    """Primary header of a float32 image ``height`` rows by ``width`` columns."""
    cards = [
        _card("SIMPLE", "T", "conforms to FITS standard"),
        _card("BITPIX", "-32", "IEEE single precision floating point"),
        _card("NAXIS", "2"),
        _card("NAXIS1", str(width)),
        _card("NAXIS2", str(height)),
        _card("BUNIT", _string_value(unit)),
        f"{'END':<{CARD}}",
    ]
    text = "".join(cards)
    return text.ljust(-(-len(text) // BLOCK) * BLOCK).encode("ascii")


def fits_bytes(image: NDArray[np.float32], header: bytes | None = None) -> bytes:
    """A complete FITS file holding ``image`` (row 0 is the first row written)."""
    if image.ndim != 2:
        raise ValueError(f"FITS cutouts are 2-D, got shape {image.shape}")
    head = header if header is not None else image_header(*image.shape)
    data = np.ascontiguousarray(image, dtype=">f4").tobytes()
    padding = b"\0" * (-len(data) % BLOCK)
    return head + data + padding


def gzipped_fits(
    image: NDArray[np.float32], level: int = 1, header: bytes | None = None,
) -> bytes:
    """``fits_bytes`` compressed as a reproducible gzip member (mtime 0)."""
    return gzip.compress(fits_bytes(image, header), compresslevel=level, mtime=0)
