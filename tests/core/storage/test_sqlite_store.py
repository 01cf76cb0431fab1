"""Embedded store specifics: several processes, crashes, locks, threads, bad directories."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from finkportal_core.storage import (
    StorageError,
    StoreUnavailableError,
    TableNotFoundError,
    open_store,
)
from finkportal_core.storage.sqlite import SqliteOptions, SqliteStore
from tests.support import storage_workers
from tests.support.storage_workers import TABLE, batch_rows, write_batches


@pytest.fixture
def shared_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "store"
    SqliteStore(directory).create_table(TABLE, ["i", "b"])
    return directory


def test_two_processes_write_while_a_third_reads_and_no_write_is_lost(shared_dir: Path) -> None:
    batches, size = 40, 25
    context = multiprocessing.get_context("spawn")
    with context.Pool(2) as pool:
        pending = [pool.apply_async(write_batches, (str(shared_dir), w, batches, size))
                   for w in (1, 2)]
        table = SqliteStore(shared_dir).table(TABLE)
        seen = []
        while not all(p.ready() for p in pending):
            keys = [key for key, _ in table.scan(columns=[b"i"], batch_size=97)]
            assert keys == sorted(keys)
            seen.append(len(keys))
        assert [p.get(timeout=120) for p in pending] == [batches, batches]
    assert seen == sorted(seen), "a reader saw rows disappear"
    keys = [key for key, _ in table.scan(columns=[b"i"])]
    assert len(keys) == 2 * batches * size + 1
    merged = table.get(b"shared")
    assert len(merged) == 2 * batches, "concurrent merges into one row lost cells"


def test_put_many_is_durable_on_return_even_if_the_writer_is_sigkilled(shared_dir: Path) -> None:
    size = 30
    writer = subprocess.Popen(
        [sys.executable, storage_workers.__file__, str(shared_dir), str(size)],
        stdout=subprocess.PIPE, text=True,
    )
    assert writer.stdout is not None
    acknowledged = [int(writer.stdout.readline()) for _ in range(15)]
    writer.send_signal(signal.SIGKILL)  # right after put_many returned, mid-next-batch
    writer.wait(timeout=30)
    assert writer.returncode == -signal.SIGKILL
    table = SqliteStore(shared_dir).table(TABLE)
    for batch in acknowledged:
        rows = batch_rows(0, batch, size)
        assert table.get_many([key for key, _ in rows[:-1]], [b"i"]) == [
            (key, {b"i:n": cells[b"i:n"]}) for key, cells in rows[:-1]
        ]
    # The batch being written when the process died is all there or not there at all.
    in_flight = {key for key, _ in batch_rows(0, acknowledged[-1] + 1, size)[:-1]}
    present = {key for key, _ in table.get_many(sorted(in_flight), [b"i"])}
    assert present in (set(), in_flight)


def test_a_held_write_lock_gives_store_unavailable_but_reads_go_on(shared_dir: Path) -> None:
    table = SqliteStore(shared_dir, SqliteOptions(busy_timeout_s=0.2)).table(TABLE)
    table.put_many([(b"before", {b"i:n": b"1"})])
    other = sqlite3.connect(shared_dir / f"{TABLE}.sqlite", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        with pytest.raises(StoreUnavailableError, match="locked"):
            table.put_many([(b"blocked", {b"i:n": b"2"})])
        assert time.monotonic() - started < 5
        assert table.get(b"before") == {b"i:n": b"1"}  # WAL: readers never wait for writers
    finally:
        other.execute("ROLLBACK")
        other.close()
    table.put_many([(b"blocked", {b"i:n": b"2"})])
    assert table.get(b"blocked") == {b"i:n": b"2"}


def test_a_paused_scan_holds_no_snapshot_that_would_block_checkpoints(shared_dir: Path) -> None:
    table = SqliteStore(shared_dir).table(TABLE)
    table.put_many((b"r%04d" % n, {b"i:n": b"x"}) for n in range(300))
    scanner = table.scan(batch_size=100)
    next(scanner)  # the consumer now pauses between batches
    table.put_many((b"s%04d" % n, {b"i:n": b"y"}) for n in range(300))
    checker = sqlite3.connect(shared_dir / f"{TABLE}.sqlite", isolation_level=None)
    busy, _, _ = checker.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    checker.close()
    assert busy == 0
    assert len(list(scanner)) == 599


def test_threads_share_a_table_object_with_one_connection_each(shared_dir: Path) -> None:
    table = SqliteStore(shared_dir).table(TABLE)
    failures: list[BaseException] = []

    def work(thread: int) -> None:
        try:
            for n in range(50):
                key = b"t%d-%03d" % (thread, n)
                table.put_many([(key, {b"i:n": key})])
                assert table.get(key) == {b"i:n": key}
                assert sum(1 for _ in table.scan(row_prefix=b"t%d-" % thread)) == n + 1
        except BaseException as exc:  # reported to the main thread
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert sum(1 for _ in table.scan()) == 300


def test_a_table_deleted_by_another_store_is_not_found_then_recreated(shared_dir: Path) -> None:
    first, second = SqliteStore(shared_dir), SqliteStore(shared_dir)
    table = first.table(TABLE)
    table.put_many([(b"old", {b"i:n": b"1"})])
    second.delete_table(TABLE)
    with pytest.raises(TableNotFoundError):
        table.get(b"old")
    second.create_table(TABLE, ["i"])
    second.table(TABLE).put_many([(b"new", {b"i:n": b"2"})])
    assert list(first.table(TABLE).scan()) == [(b"new", {b"i:n": b"2"})]


def test_synchronous_mode_reaches_the_connections(tmp_path: Path) -> None:
    for mode, level in (("normal", 1), ("full", 2)):
        store = open_store(f"sqlite:{tmp_path / mode}?synchronous={mode}")
        store.create_table("t", ["i"])
        handle = store._connections.handle("t")  # type: ignore[attr-defined]
        assert handle.db.execute("PRAGMA synchronous").fetchone()[0] == level
        assert handle.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_relative_store_directory_is_created(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                               ) -> None:
    monkeypatch.chdir(tmp_path)
    store = open_store("sqlite:var/nested/store")
    store.create_table("t", ["i"])
    assert (tmp_path / "var" / "nested" / "store" / "t.sqlite").is_file()


def test_a_file_that_is_not_a_database_gives_a_storage_error(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "store")
    (tmp_path / "store" / "junk.sqlite").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StorageError, match="junk"):
        store.table("junk")


def test_a_store_path_that_is_a_file_is_refused_clearly(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(StoreUnavailableError, match="not a directory"):
        SqliteStore(tmp_path / "file")


def _open_as_unprivileged(directory: Path) -> str:
    """Open the store in a forked child that dropped root (Python stays loaded in memory)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        try:
            os.setgid(65534)
            os.setuid(65534)
            SqliteStore(directory)
            outcome = "opened"
        except BaseException as exc:
            outcome = f"{type(exc).__name__}: {exc}"
        os.write(write_end, outcome.encode())
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        outcome = pipe.read()
    os.waitpid(pid, 0)
    return outcome


def _open_here(directory: Path) -> str:
    try:
        SqliteStore(directory)
    except StoreUnavailableError as exc:
        return f"StoreUnavailableError: {exc}"
    return "opened"


@pytest.fixture
def public_tmp() -> Iterator[Path]:
    """A directory every user can traverse (pytest's own tmp root is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="fp-storage-"))
    os.chmod(path, 0o755)
    yield path
    for sub in path.rglob("*"):
        os.chmod(sub, 0o755)
    shutil.rmtree(path)


def test_a_store_directory_this_process_cannot_write_is_refused_clearly(public_tmp: Path) -> None:
    readonly = public_tmp / "readonly"
    (readonly / "store").mkdir(parents=True)
    os.chmod(readonly / "store", 0o555)
    os.chmod(readonly, 0o555)
    attempt = _open_as_unprivileged if os.geteuid() == 0 else _open_here
    existing = attempt(readonly / "store")
    missing = attempt(readonly / "absent")
    assert existing.startswith("StoreUnavailableError: store directory"), existing
    assert "is not writable by this process" in existing
    assert missing.startswith("StoreUnavailableError: cannot create or reach store directory"), (
        missing)
    assert "Permission denied" in missing


def _write_in_child(table: object) -> None:
    table.put_many([(b"from-child", {b"i:n": b"1"})])  # type: ignore[attr-defined]


def test_a_forked_child_opens_its_own_connections(shared_dir: Path) -> None:
    table = SqliteStore(shared_dir).table(TABLE)
    table.put_many([(b"from-parent", {b"i:n": b"0"})])  # the parent's connection is open
    child = multiprocessing.get_context("fork").Process(target=_write_in_child, args=(table,))
    child.start()
    child.join(timeout=60)
    assert child.exitcode == 0
    assert [key for key, _ in table.scan()] == [b"from-child", b"from-parent"]


def test_a_closed_store_refuses_further_use(shared_dir: Path) -> None:
    store = SqliteStore(shared_dir)
    table = store.table(TABLE)
    table.put_many([(b"r", {b"i:n": b"0"})])
    store.close()
    with pytest.raises(StorageError, match="closed"):
        table.get(b"r")
    assert SqliteStore(shared_dir).table(TABLE).get(b"r") == {b"i:n": b"0"}
