"""Validation and column handling shared by every adapter.

Both adapters check their arguments here, before anything reaches a file or the
network, so that a bad call fails the same way everywhere and writes nothing.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from finkportal_core.storage.base import InvalidRequestError

# HBase accepts [A-Za-z0-9_.-] in table qualifiers; the same rule keeps SQLite file
# names safe (no path separator, no leading dot).
_TABLE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,199}")
# Family names end up in SQLite identifiers and HBase descriptors: keep them plain.
_FAMILY_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
_BYTES_ONLY = frozenset({bytes})


def check_table_name(name: str) -> str:
    """Return ``name`` if it is a valid table name, else raise ``InvalidRequestError``."""
    if not isinstance(name, str) or not _TABLE_NAME.fullmatch(name):
        raise InvalidRequestError(
            f"invalid table name {name!r}: use 1-200 characters among A-Z a-z 0-9 _ . - "
            "(not starting with '.' or '-')"
        )
    return name


def check_families(families: Sequence[str]) -> tuple[str, ...]:
    """Return the families as a tuple after checking names and uniqueness."""
    if isinstance(families, str) or not families:
        raise InvalidRequestError("a table needs a non-empty list of column family names")
    for family in families:
        if not isinstance(family, str) or not _FAMILY_NAME.fullmatch(family):
            raise InvalidRequestError(
                f"invalid column family {family!r}: use 1-64 characters among A-Z a-z 0-9 _ -"
            )
    if len(set(families)) != len(families):
        raise InvalidRequestError(f"duplicate column families in {list(families)!r}")
    return tuple(families)


def check_row_key(row: bytes) -> bytes:
    """Row keys are non-empty ``bytes`` (HBase refuses an empty key)."""
    if type(row) is not bytes:
        raise InvalidRequestError(f"row keys must be bytes, got {type(row).__name__}")
    if not row:
        raise InvalidRequestError("row keys must not be empty")
    return row


_PLAN_LIMIT = 1024


@dataclass(frozen=True)
class _SplitPlan:
    """For one column-name tuple: each family's columns and their positions in the row."""

    families: tuple[tuple[str, tuple[bytes, ...], tuple[int, ...]], ...]

    def split(self, values: list[bytes]) -> list[tuple[str, Mapping[bytes, bytes]]]:
        return [(family, dict(zip(columns, [values[n] for n in positions], strict=True)))
                for family, columns, positions in self.families]


@dataclass(frozen=True)
class FamilyLayout:
    """The families of one table, precomputed for fast cell grouping.

    ``bounds`` holds, per family in byte order, the half-open key range
    ``[b"fam:", b"fam;")``: a column name belongs to the family exactly when it
    falls in that range, because ``;`` is the byte right after ``:``.
    """

    families: tuple[str, ...]
    bounds: tuple[tuple[bytes, bytes, str], ...]
    # Split plans by column-name tuple: rows of one table come in a few shapes.
    _plans: dict[tuple[bytes, ...], _SplitPlan] = field(
        default_factory=dict, compare=False, repr=False
    )

    @classmethod
    def of(cls, families: Sequence[str]) -> FamilyLayout:
        names = check_families(families)
        ordered = sorted(names, key=lambda name: name.encode())
        bounds = tuple((f"{f}:".encode(), f"{f};".encode(), f) for f in ordered)
        return cls(names, bounds)

    def group(self, row: bytes, cells: Mapping[bytes, bytes]
              ) -> list[tuple[str, Mapping[bytes, bytes]]]:
        """Split one row's cells by family; raise ``InvalidRequestError`` on any bad cell.

        This is the hot path of ingest (~1,300 cells per alert): sorting the column
        names once and bisecting per family costs C-level work instead of a Python
        step per cell. A one-family table keeps the caller's mapping as it is.
        """
        if (type(cells) is not dict and not isinstance(cells, Mapping)) or not cells:
            raise InvalidRequestError(f"row {row!r}: cells must be a non-empty mapping")
        if not set(map(type, cells.values())) <= _BYTES_ONLY:
            raise InvalidRequestError(f"row {row!r}: cell values must be bytes")
        shape = tuple(cells)
        plan = self._plans.get(shape)
        if plan is not None:  # a shape already checked: split by position, no sorting
            return plan.split(list(cells.values()))
        try:
            groups = self._split(sorted(cells), cells)
        except TypeError:
            raise InvalidRequestError(f"row {row!r}: column names must be bytes") from None
        self._remember_plan(shape, groups)
        return groups

    def _remember_plan(self, shape: tuple[bytes, ...],
                       groups: list[tuple[str, Mapping[bytes, bytes]]]) -> None:
        if len(self._plans) >= _PLAN_LIMIT:
            self._plans.clear()
        position = {column: n for n, column in enumerate(shape)}
        self._plans[shape] = _SplitPlan(tuple(
            (family, tuple(columns), tuple(position[c] for c in columns))
            for family, columns in groups
        ))

    def _split(
        self, columns: list[bytes], cells: Mapping[bytes, bytes]
    ) -> list[tuple[str, Mapping[bytes, bytes]]]:
        if len(self.bounds) == 1:
            low, high, family = self.bounds[0]
            if low <= columns[0] and columns[-1] < high:
                return [(family, cells if type(cells) is dict else dict(cells))]
        groups: list[tuple[str, Mapping[bytes, bytes]]] = []
        position = 0
        for low, high, family in self.bounds:
            start = bisect_left(columns, low, position)
            if start != position:
                break  # columns[position] sorts before this family: it is in none
            end = bisect_left(columns, high, start)
            if end > start:
                chosen = columns[start:end]
                values = map(cells.__getitem__, chosen)
                groups.append((family, dict(zip(chosen, values, strict=True))))
            position = end
        if position != len(columns):
            raise InvalidRequestError(
                f"column {columns[position]!r} is not 'family:qualifier' with a family "
                f"of this table ({', '.join(self.families)})"
            )
        return groups


@dataclass(frozen=True)
class Selection:
    """Which cells a read returns: per family, ``None`` for all or a set of columns."""

    by_family: dict[str, frozenset[bytes] | None]

    @property
    def families(self) -> list[str]:
        return list(self.by_family)

    def pick(self, family: str, cells: dict[bytes, bytes]) -> dict[bytes, bytes]:
        """Keep the selected cells of one family's cells."""
        wanted = self.by_family[family]
        if wanted is None:
            return cells
        return {column: cells[column] for column in wanted if column in cells}

    def wire_columns(self) -> list[bytes]:
        """The selection as HBase Thrift column names (``b"i"`` = whole family)."""
        names: list[bytes] = []
        for family, wanted in self.by_family.items():
            names.extend([family.encode()] if wanted is None else sorted(wanted))
        return names


def select(columns: Sequence[bytes] | None, layout: FamilyLayout) -> Selection:
    """Parse a ``columns`` argument against a table's families."""
    if columns is None:
        return Selection(dict.fromkeys(layout.families))
    if isinstance(columns, bytes | str) or not columns:
        raise InvalidRequestError("columns must be None or a non-empty list of bytes")
    whole: set[str] = set()
    picked: dict[str, set[bytes]] = {}
    for column in columns:
        family, qualifier = _parse_column(column, layout)
        if qualifier is None:
            whole.add(family)
        picked.setdefault(family, set()).add(column)
    return Selection({f: None if f in whole else frozenset(c) for f, c in picked.items()})


def _parse_column(column: bytes, layout: FamilyLayout) -> tuple[str, bytes | None]:
    if type(column) is not bytes:
        raise InvalidRequestError(f"column names must be bytes, got {column!r}")
    family_bytes, colon, qualifier = column.partition(b":")
    family = family_bytes.decode("utf-8", "replace")
    if family not in layout.families:
        raise InvalidRequestError(
            f"column {column!r}: no family {family!r} in this table ({', '.join(layout.families)})"
        )
    # b"i" and b"i:" both mean the whole family (happybase documents it so, though
    # the HBase Thrift server reads b"i:" as the empty qualifier: adapters normalize).
    return family, (qualifier if colon and qualifier else None)


def prefix_upper_bound(prefix: bytes) -> bytes | None:
    """The smallest key greater than every key starting with ``prefix`` (``None``: no bound)."""
    stripped = prefix.rstrip(b"\xff")
    if not stripped:
        return None
    return stripped[:-1] + bytes([stripped[-1] + 1])


def scan_bounds(
    row_start: bytes | None, row_stop: bytes | None, row_prefix: bytes | None
) -> tuple[bytes | None, bytes | None]:
    """Check scan arguments and return ``(lower inclusive, upper exclusive)``."""
    if row_prefix is not None:
        if row_start is not None or row_stop is not None:
            raise InvalidRequestError("row_prefix cannot be combined with row_start/row_stop")
        _check_bound("row_prefix", row_prefix)
        return (row_prefix or None), prefix_upper_bound(row_prefix)
    for name, value in (("row_start", row_start), ("row_stop", row_stop)):
        if value is not None:
            _check_bound(name, value)
    # b"" is "no bound" on both sides, as in HBase (every key is >= b"").
    return (row_start or None), (row_stop or None)


def _check_bound(name: str, value: bytes) -> None:
    if type(value) is not bytes:
        raise InvalidRequestError(f"{name} must be bytes, got {type(value).__name__}")


def check_scan_sizes(limit: int | None, batch_size: int) -> None:
    """``limit`` is ``None`` or >= 1 and ``batch_size`` >= 1 (as in happybase)."""
    if limit is not None and (not isinstance(limit, int) or limit < 1):
        raise InvalidRequestError(f"limit must be None or an integer >= 1, got {limit!r}")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise InvalidRequestError(f"batch_size must be an integer >= 1, got {batch_size!r}")


def check_row_keys(rows: Iterable[bytes]) -> list[bytes]:
    """Materialize and check a list of row keys."""
    return [check_row_key(row) for row in rows]
