"""The cell codec gives back every alert value exactly, types included."""

from __future__ import annotations

import datetime as dt
import math
import struct
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from finkportal_core.codec import CellDecodeError, decode_value, encode_value, value_encoder
from tests.support.compare import differences

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats()
    | st.floats(width=32)
    | st.text()
    | st.binary()
)
VALUES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=25,
)


@settings(max_examples=500, deadline=None)
@given(VALUES)
def test_every_alert_value_round_trips_with_its_type(value: Any) -> None:
    assert not differences(decode_value(encode_value(value)), value)


@settings(max_examples=300, deadline=None)
@given(st.floats(width=32))
def test_float32_origin_values_keep_every_bit(value: float) -> None:
    decoded = decode_value(encode_value(value))
    assert struct.pack("<d", decoded) == struct.pack("<d", value)


def test_nan_payloads_infinities_and_signed_zero_survive() -> None:
    nan32 = struct.unpack("<f", b"\x01\x00\xc0\x7f")[0]
    for value in (nan32, math.nan, math.inf, -math.inf, -0.0, 5e-324):
        assert struct.pack("<d", decode_value(encode_value(value))) == struct.pack("<d", value)


def test_types_stay_apart() -> None:
    assert decode_value(encode_value(True)) is True
    assert type(decode_value(encode_value(1))) is int
    assert type(decode_value(encode_value(1.0))) is float
    assert decode_value(encode_value("abc")) == "abc"
    assert decode_value(encode_value(b"abc")) == b"abc"
    assert decode_value(encode_value(-(2**63))) == -(2**63)
    assert decode_value(encode_value(2**64 - 1)) == 2**64 - 1
    assert decode_value(encode_value((1, "a"))) == [1, "a"]


def test_the_bare_encoder_is_the_same_encoding() -> None:
    pack = value_encoder()
    values = [None, 1.5, "x", b"y", [1, {"a": None}]]
    assert list(map(pack, values)) == [encode_value(v) for v in values]


@pytest.mark.parametrize("value", [dt.datetime(2024, 1, 1), {1, 2}, object()])
def test_values_outside_the_model_raise_type_error(value: Any) -> None:
    with pytest.raises(TypeError):
        encode_value(value)


def test_integers_beyond_64_bits_raise_overflow_error() -> None:
    with pytest.raises(OverflowError):
        encode_value(2**64)
    with pytest.raises(OverflowError):
        encode_value(-(2**63) - 1)
    assert decode_value(encode_value("after an error")) == "after an error"


@pytest.mark.parametrize("data", [b"", b"\xc1", b"\x01\x02", b"\xd9\x10abc", b"\x92\x01"])
def test_bytes_that_are_not_one_value_raise_cell_decode_error(data: bytes) -> None:
    with pytest.raises(CellDecodeError):
        decode_value(data)
