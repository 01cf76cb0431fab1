"""``finkportal demo`` runs the cluster, replays a night, and stops every process on Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

from finkportal_core.storage import open_store
from finkportal_core.tables import MAIN_TABLE
from tests.conftest import free_port


def stop_tree(demo: subprocess.Popen[str], children: list[psutil.Process]) -> None:
    """Clean up after a failed test: never leave the demo's broker or services behind."""
    if demo.poll() is None:
        children = children or psutil.Process(demo.pid).children(recursive=True)
        demo.send_signal(signal.SIGINT)
        try:
            demo.wait(timeout=30)
        except subprocess.TimeoutExpired:
            demo.kill()
    for child in children:
        if child.is_running():
            child.kill()


def test_demo_replays_a_synthetic_night_and_stops_everything(tmp_path: Path):
    env = {**os.environ, "FINK_TOOLS_DATA_DIR": str(tmp_path / "absent"),
           "FINK_TOOLS_WORK_DIR": str(tmp_path / "demo"),
           "FINK_TOOLS_STORE_URL": f"sqlite:{tmp_path / 'demo' / 'store'}",
           "FINK_TOOLS_KAFKA_PORT": str(free_port()), "FINK_TOOLS_SYNTHETIC_ALERTS": "150",
           "FINK_TOOLS_INGEST_METRICS_PORT": str(free_port())}
    demo = subprocess.Popen([sys.executable, "-m", "finkportal_tools.cli", "demo"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    children: list[psutil.Process] = []
    output = []
    try:
        deadline = time.monotonic() + 180
        assert demo.stdout is not None
        for line in demo.stdout:
            output.append(line)
            if "Press Ctrl-C" in line or time.monotonic() > deadline:
                break
        text = "".join(output)
        assert "finkportal demo is running" in text, text
        assert "alerts written:          150" in text, text
        children = psutil.Process(demo.pid).children(recursive=True)
        assert len(children) >= 2  # the broker and ingest
        demo.send_signal(signal.SIGINT)
        assert demo.wait(timeout=60) == 0
        # Checked before the clean-up below, which would otherwise hide a leftover process.
        _, alive = psutil.wait_procs(children, timeout=10)
        assert not alive, f"processes left running: {alive}"
    finally:
        stop_tree(demo, children)
    store = open_store(f"sqlite:{tmp_path / 'demo' / 'store'}")
    try:
        assert sum(1 for _ in store.table(MAIN_TABLE).scan(columns=[b"i:candid"])) == 150
    finally:
        store.close()
