"""Reading alerts from files: ZTF packets, Spark Avro, Parquet, nightly tarballs.

- ``.avro``: any Avro container whose schema describes alerts: one ZTF packet, or
  many records written by Spark (``topLevelRecord``, often snappy-compressed).
- ``.parquet``: Fink/Spark tables with the nested ``candidate`` struct.
- ``.tar.gz``/``.tgz``/``.tar``: the ZTF public archive's nightly files, one
  ``.avro`` packet per alert.
- a directory: every file above, recursively, in sorted path order.

Records are normalized into plain alerts (:mod:`finkportal_core.alerts.normalize`).
A file that is not one of these, or not alerts, raises
:class:`UnsupportedAlertFileError` naming it. Duplicates are not removed.
"""

from __future__ import annotations

import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from finkportal_core.alerts.decode import iter_container
from finkportal_core.alerts.model import Alert, AlertDecodeError
from finkportal_core.alerts.normalize import normalize_record

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar")
ALERT_FILE_SUFFIXES = (".avro", ".parquet", *ARCHIVE_SUFFIXES)
_PARQUET_BATCH_ROWS = 64


class UnsupportedAlertFileError(ValueError):
    """A file that holds no readable alerts; the message names the file and the reason."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


def alert_files(root: Path) -> list[Path]:
    """Alert files under ``root`` (recursively, sorted), chosen by their extension."""
    root = Path(root)
    if root.is_file():
        return [root] if _has_alert_suffix(root) else []
    return sorted(p for p in root.rglob("*") if p.is_file() and _has_alert_suffix(p))


def iter_alert_files(path: Path) -> Iterator[Alert]:
    """Every alert in a file or, for a directory, in each of its alert files."""
    path = Path(path)
    if path.is_dir():
        for file in alert_files(path):
            yield from _iter_file(file)
    else:
        yield from _iter_file(path)


def _has_alert_suffix(path: Path) -> bool:
    return path.name.lower().endswith(ALERT_FILE_SUFFIXES)


def _iter_file(path: Path) -> Iterator[Alert]:
    name = path.name.lower()
    if not path.is_file():
        raise UnsupportedAlertFileError(path, "no such file")
    if name.endswith(".avro"):
        yield from _iter_avro(path.read_bytes(), path)
    elif name.endswith(".parquet"):
        yield from _iter_parquet(path)
    elif name.endswith(ARCHIVE_SUFFIXES):
        yield from _iter_archive(path)
    else:
        raise UnsupportedAlertFileError(path, f"not an alert file type ({_describe_kind(name)})")


def _describe_kind(name: str) -> str:
    if name.endswith(".json"):
        return "JSON alerts, e.g. Lasair's, are not read"
    return "expected .avro, .parquet, .tar.gz, .tgz or .tar"


def _iter_avro(data: bytes, label: Path | str) -> Iterator[Alert]:
    try:
        yield from iter_container(data)
    except AlertDecodeError as exc:
        raise UnsupportedAlertFileError(label, exc.reason) from exc


def _iter_archive(path: Path) -> Iterator[Alert]:
    try:
        with tarfile.open(path, "r:*") as archive:
            for member in archive:
                if member.isfile() and member.name.lower().endswith(".avro"):
                    handle = archive.extractfile(member)
                    data = handle.read() if handle is not None else b""
                    yield from _iter_avro(data, f"{path}!{member.name}")
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise UnsupportedAlertFileError(path, f"unreadable archive: {exc}") from exc


def _iter_parquet(path: Path) -> Iterator[Alert]:
    try:  # lazy: only the Parquet reader needs pyarrow (the core's "parquet" extra)
        import pyarrow.parquet as pq
    except ImportError:
        raise UnsupportedAlertFileError(
            path, "reading Parquet needs pyarrow: install finkportal-core[parquet]"
        ) from None

    try:
        parquet = pq.ParquetFile(path)
        _check_alert_columns(parquet.schema_arrow, path)
        for batch in parquet.iter_batches(batch_size=_PARQUET_BATCH_ROWS):
            for record in batch.to_pylist(maps_as_pydicts="strict"):
                yield normalize_record(record)
    except UnsupportedAlertFileError:
        raise
    except Exception as exc:  # ArrowInvalid, OSError, KeyError (a map with a key twice)...
        raise UnsupportedAlertFileError(path, f"unreadable Parquet: {exc}") from exc


def _check_alert_columns(schema: Any, path: Path) -> None:
    import pyarrow as pa

    names = set(schema.names)
    candidate = schema.field("candidate").type if "candidate" in names else None
    has_jd = isinstance(candidate, pa.StructType) and candidate.get_field_index("jd") >= 0
    if "objectId" not in names or not has_jd:
        reason = "not an alert table (needs objectId and candidate.jd)"
        raise UnsupportedAlertFileError(path, reason)
