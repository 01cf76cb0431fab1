"""``generate``: write a synthetic night as ZTF packets (a directory or a nightly tarball).

Each alert is one ``<candid>.avro`` file in ZTF's wire form, like the files of
the ZTF public archive; a path ending in ``.tar.gz`` gets one streamed archive.
``--truth`` writes the ground truth of every object as JSON lines.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tarfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import date
from pathlib import Path
from typing import IO, Any

from finkportal_tools.sim.night import NightConfig
from finkportal_tools.sim.parallel import encoded_night
from finkportal_tools.sim.population import KINDS


def parse_mix(text: str) -> dict[str, float]:
    """``"sn_ia=0.3,bogus=0.1"`` -> weights; kinds not named get no objects."""
    mix: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        kind, sep, weight = item.partition("=")
        if not sep or kind not in KINDS:
            raise argparse.ArgumentTypeError(
                f"bad mix item {item!r}: expected kind=weight with kind in {', '.join(KINDS)}")
        try:
            mix[kind] = float(weight)
        except ValueError:
            raise argparse.ArgumentTypeError(f"bad weight in {item!r}") from None
    return mix


class _Sink:
    """Where packets go: files in a directory or members of a gzipped tar stream."""

    def __init__(self, output: Path, stack: ExitStack):
        self.archive: tarfile.TarFile | None = None
        self.directory: Path | None = None
        if output.name.endswith((".tar.gz", ".tgz")):
            output.parent.mkdir(parents=True, exist_ok=True)
            self.archive = stack.enter_context(tarfile.open(output, "w:gz"))  # noqa: SIM115
        else:
            output.mkdir(parents=True, exist_ok=True)
            self.directory = output

    def write(self, name: str, data: bytes) -> None:
        if self.archive is not None:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            self.archive.addfile(info, io.BytesIO(data))
        elif self.directory is not None:
            (self.directory / name).write_bytes(data)


@contextmanager
def _truth_writer(path: Path | None) -> Iterator[IO[str] | None]:
    if path is None:
        yield None
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        yield handle


def write_night(
    output: Path, n_alerts: int, seed: int, night: date, truth_path: Path | None = None,
    workers: int = 1, **options: Any,
) -> dict[str, float]:
    """Write ``n_alerts`` packets to ``output``; returns count, bytes and seconds.

    ``options`` are those of :func:`generate_night` (``cutouts``, ``fink_values``...);
    ``workers`` > 1 builds the alerts in that many processes (same bytes).
    """
    start, written, size = time.monotonic(), 0, 0
    seen: set[str] = set()
    config = NightConfig(n_alerts=n_alerts, seed=seed, night=night, **options)
    with ExitStack() as stack:
        sink = _Sink(output, stack)
        truth_out = stack.enter_context(_truth_writer(truth_path))
        for candid, data, truth in encoded_night(config, config.fink_values, workers):
            sink.write(f"{candid}.avro", data)
            written, size = written + 1, size + len(data)
            if truth_out is not None and truth["object_id"] not in seen:
                seen.add(truth["object_id"])
                truth_out.write(json.dumps(truth, sort_keys=True) + "\n")
    return {"alerts": written, "bytes": size, "seconds": time.monotonic() - start}


def add_generate_parser(subparsers: Any) -> argparse.ArgumentParser:
    """``generate``: write a synthetic ZTF night to files."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "generate", help="write a synthetic ZTF night (alert packets and ground truth)",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("output", type=Path, help="directory, or a file ending in .tar.gz")
    parser.add_argument("--alerts", type=int, default=1000, help="number of alerts")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--night", type=date.fromisoformat, default=date(2023, 10, 15),
                        help="YYYY-MM-DD (default 2023-10-15)")
    parser.add_argument("--truth", type=Path, help="write the objects' ground truth (JSONL)")
    parser.add_argument("--mix", type=parse_mix, help="e.g. sn_ia=0.3,periodic=0.3,bogus=0.4")
    parser.add_argument("--history-days", type=int, default=30)
    parser.add_argument("--no-cutouts", dest="cutouts", action="store_false")
    parser.add_argument("--no-fink-values", dest="fink_values", action="store_false",
                        help="pure ZTF packets, without Fink added values")
    parser.add_argument("--compresslevel", type=int, default=1, help="gzip level of cutouts")
    parser.add_argument("--workers", type=int, default=1, help="processes building alerts")
    parser.set_defaults(func=run_generate_command)
    return parser


def run_generate_command(args: argparse.Namespace) -> int:
    """Handler of ``generate``: 0 on success, 2 on bad arguments or unwritable output."""
    try:
        stats = write_night(
            args.output, args.alerts, args.seed, args.night, args.truth,
            fink_values=args.fink_values, cutouts=args.cutouts, mix=args.mix,
            history_days=args.history_days, compresslevel=args.compresslevel,
            workers=args.workers)
    except (ValueError, OSError) as exc:
        print(f"generate: {exc}", file=sys.stderr)
        return 2
    rate = stats["alerts"] / max(stats["seconds"], 1e-9)
    print(f"generate: {stats['alerts']:.0f} alerts, {stats['bytes'] / 1e6:.1f} MB in "
          f"{stats['seconds']:.1f} s ({rate:.0f} alerts/s) -> {args.output}", file=sys.stderr)
    return 0
