"""Entry point: ``finkportal-indexer`` runs the service; ``finkportal-indexer reindex`` rebuilds.

Settings come from ``FINK_INDEXER_*``.
"""

from __future__ import annotations

import argparse
import sys
import threading

from pydantic import ValidationError

from finkportal_core.indexing.layout import ensure_index_tables
from finkportal_core.logging import configure_logging
from finkportal_core.runner import on_stop_signals, run_service
from finkportal_core.storage import open_store
from finkportal_core.storage.base import Store
from finkportal_core.tables import ensure_alert_tables
from finkportal_indexer.errors import ReindexError
from finkportal_indexer.metrics import IndexerMetrics
from finkportal_indexer.reindex import reindex
from finkportal_indexer.service import IndexerService
from finkportal_indexer.settings import IndexerSettings
from finkportal_indexer.statistics import ensure_statistics_tables


def run(settings: IndexerSettings) -> int:
    """Construct every client explicitly, run until SIGTERM/SIGINT, close everything."""
    metrics = IndexerMetrics()

    def build(store: Store) -> IndexerService:
        ensure_alert_tables(store)  # streams read alerts back; ingest may not have started yet
        ensure_index_tables(store)
        ensure_statistics_tables(store)
        return IndexerService(settings, store, metrics)

    return run_service(settings, metrics.registry, build)


def run_reindex(settings: IndexerSettings, args: argparse.Namespace) -> int:
    configure_logging(settings.log_level, settings.log_json)
    stop = threading.Event()
    on_stop_signals(stop.set)
    store = open_store(settings.store_url)
    try:
        report = reindex(store, settings.reindex_batch_size, drop=args.drop,
                         restart=args.restart, stop=stop,
                         progress=lambda text: print(text, flush=True))
    except ReindexError as exc:
        print(f"finkportal-indexer reindex: {exc}", file=sys.stderr)
        return 2
    finally:
        store.close()
    for key, reason in report.skipped[:20]:
        print(f"skipped {key.decode()}: {reason}", flush=True)
    return 0 if report.complete else 3


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="finkportal-indexer", description=__doc__)
    sub = parser.add_subparsers(dest="command")
    rebuild = sub.add_parser("reindex", help="rebuild every index table from the main table "
                             "(resumes an interrupted run)")
    rebuild.add_argument("--drop", action="store_true",
                         help="drop the index tables first (after a layout change)")
    rebuild.add_argument("--restart", action="store_true",
                         help="ignore the checkpoint of an interrupted run")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        settings = IndexerSettings()
    except ValidationError as exc:
        print(f"finkportal-indexer: invalid settings:\n{exc}", file=sys.stderr)
        return 2
    if args.command == "reindex":
        return run_reindex(settings, args)
    return run(settings)


if __name__ == "__main__":
    sys.exit(main())
