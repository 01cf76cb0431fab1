"""Avro object container files, read and written by hand around fastavro's record codec.

``fastavro.reader`` parses the embedded writer schema again for every file; an
alert stream is one small container per message, so that costs about a quarter
of the decoding time. Here the header and blocks are parsed directly and records
are decoded with ``fastavro.schemaless_reader`` and a parsed schema cached by the
caller. Every malformed input raises :class:`AlertDecodeError`.
"""

from __future__ import annotations

import bz2
import hashlib
import lzma
import zlib
from collections.abc import Callable, Iterator
from typing import NamedTuple

import cramjam

from finkportal_core.alerts.model import AlertDecodeError

MAGIC = b"Obj\x01"
SYNC_SIZE = 16
_MAX_VARINT_SHIFT = 63


class Header(NamedTuple):
    """What a container says about itself before its first block."""

    schema_text: bytes
    codec: str
    sync: bytes
    end: int


def read_long(buf: bytes, pos: int) -> tuple[int, int]:
    """Decode one zig-zag varint at ``pos``; return the value and the next position."""
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise AlertDecodeError("truncated container")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return (result >> 1) ^ -(result & 1), pos
        shift += 7
        if shift > _MAX_VARINT_SHIFT:
            raise AlertDecodeError("corrupt container: varint longer than 64 bits")


def write_long(value: int) -> bytes:
    """Encode one zig-zag varint."""
    zigzag = (value << 1) ^ (value >> 63)
    out = bytearray()
    while zigzag > 0x7F:
        out.append((zigzag & 0x7F) | 0x80)
        zigzag >>= 7
    out.append(zigzag)
    return bytes(out)


def _read_sized(buf: bytes, pos: int) -> tuple[bytes, int]:
    size, pos = read_long(buf, pos)
    if size < 0 or pos + size > len(buf):
        raise AlertDecodeError("truncated container")
    return buf[pos : pos + size], pos + size


def _read_metadata(buf: bytes, pos: int) -> tuple[dict[str, bytes], int]:
    meta: dict[str, bytes] = {}
    while True:
        count, pos = read_long(buf, pos)
        if count == 0:
            return meta, pos
        if count < 0:  # negative count: the block byte size follows, unused here
            count = -count
            _, pos = read_long(buf, pos)
        for _ in range(count):
            key, pos = _read_sized(buf, pos)
            value, pos = _read_sized(buf, pos)
            meta[key.decode("utf-8", "replace")] = value


def read_header(buf: bytes) -> Header:
    """Parse the magic, metadata map and sync marker of a container."""
    if buf[:4] != MAGIC:
        raise AlertDecodeError("not an Avro container")
    meta, pos = _read_metadata(buf, 4)
    if pos + SYNC_SIZE > len(buf):
        raise AlertDecodeError("truncated container")
    if "avro.schema" not in meta:
        raise AlertDecodeError("container header has no avro.schema")
    codec = meta.get("avro.codec", b"null").decode("utf-8", "replace")
    return Header(meta["avro.schema"], codec, buf[pos : pos + SYNC_SIZE], pos + SYNC_SIZE)


def _snappy(data: bytes) -> bytes:
    # Avro's snappy blocks end with the big-endian CRC32 of the uncompressed data.
    if len(data) < 4:
        raise AlertDecodeError("corrupt snappy block")
    raw = bytes(cramjam.snappy.decompress_raw(data[:-4]))
    if zlib.crc32(raw) != int.from_bytes(data[-4:], "big"):
        raise AlertDecodeError("corrupt snappy block: checksum mismatch")
    return raw


_DECOMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    "null": bytes,
    "deflate": lambda data: zlib.decompress(data, -15),
    "snappy": _snappy,
    "bzip2": bz2.decompress,
    "xz": lzma.decompress,
    "zstandard": lambda data: bytes(cramjam.zstd.decompress(data)),
}


def decompressor(codec: str) -> Callable[[bytes], bytes]:
    """The function that inflates one block written with ``codec``."""
    try:
        return _DECOMPRESSORS[codec]
    except KeyError:
        raise AlertDecodeError(f"unsupported container codec {codec!r}") from None


def iter_blocks(buf: bytes, header: Header) -> Iterator[tuple[int, bytes]]:
    """Yield ``(record count, uncompressed bytes)`` for every data block."""
    inflate = decompressor(header.codec)
    pos = header.end
    while pos < len(buf):
        count, pos = read_long(buf, pos)
        data, pos = _read_sized(buf, pos)
        if pos + SYNC_SIZE > len(buf):
            raise AlertDecodeError("truncated container")
        if buf[pos : pos + SYNC_SIZE] != header.sync:
            raise AlertDecodeError("corrupt container: sync marker mismatch")
        pos += SYNC_SIZE
        if count < 0:
            raise AlertDecodeError("corrupt container: negative record count")
        yield count, _inflate(inflate, data, header.codec)


def _inflate(inflate: Callable[[bytes], bytes], data: bytes, codec: str) -> bytes:
    try:
        return inflate(data)
    except AlertDecodeError:
        raise
    except Exception as exc:  # zlib, lzma, bz2 and cramjam each raise their own types
        raise AlertDecodeError(f"corrupt {codec} block: {exc}") from exc


def container_header(schema_text: bytes, codec: str = "null") -> bytes:
    """Magic, metadata and a sync marker for a new container.

    The marker is a digest of the schema rather than random bytes: it is as unlikely
    to occur in the data, and it makes encoding deterministic (same alert, same bytes
    in any process), which replays and simulator seeds rely on.
    """
    entries = (("avro.schema", schema_text), ("avro.codec", codec.encode()))
    body = b"".join(
        write_long(len(key)) + key.encode() + write_long(len(value)) + value
        for key, value in entries
    )
    sync = hashlib.sha256(schema_text).digest()[:SYNC_SIZE]
    return MAGIC + write_long(len(entries)) + body + write_long(0) + sync


def container_block(records: bytes, count: int, sync: bytes) -> bytes:
    """One uncompressed data block holding ``count`` encoded records."""
    return write_long(count) + write_long(len(records)) + records + sync
