"""``finkportal show`` prints an object's stored alerts and light curve from the store."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

from finkportal_core.storage import open_store
from finkportal_core.tables import HISTORY_TABLE, MAIN_TABLE, alert_to_rows, ensure_alert_tables
from finkportal_tools.show import Point, ascii_plot, light_curve
from finkportal_tools.sim import generate_night


def run_show(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "finkportal_tools.cli", "show", *args],
                          capture_output=True, text=True, timeout=60, check=False)


def test_show_prints_alerts_and_light_curve_from_the_store(tmp_path: Path):
    url = f"sqlite:{tmp_path / 'store'}"
    alerts = list(generate_night(40, seed=3, night=date(2024, 3, 4)))
    alert = max(alerts, key=lambda a: len(a.get("prv_candidates") or []))
    store = open_store(url)
    ensure_alert_tables(store)
    main, history = alert_to_rows(alert)
    store.table(MAIN_TABLE).put_many([main])
    store.table(HISTORY_TABLE).put_many(history)
    store.close()

    result = run_show(alert["objectId"], "--store-url", url)
    assert result.returncode == 0, result.stderr
    assert f"{alert['objectId']}: 1 alert(s), {len(history)} history row(s)" in result.stdout
    assert str(alert["candid"]) in result.stdout
    assert f"{alert['candidate']['magpsf']:.3f}" in result.stdout
    assert "light curve" in result.stdout


def test_show_says_so_for_an_unknown_object_or_an_empty_store(tmp_path: Path):
    url = f"sqlite:{tmp_path / 'store'}"
    empty = run_show("ZTF99zzzzzzz", "--store-url", url)
    assert empty.returncode == 1
    assert "has ingest run" in empty.stdout
    store = open_store(url)
    ensure_alert_tables(store)
    store.close()
    unknown = run_show("ZTF99zzzzzzz", "--store-url", url)
    assert unknown.returncode == 1
    assert "no alert stored for ZTF99zzzzzzz" in unknown.stdout


def test_light_curve_uses_alerts_then_history_and_marks_upper_limits():
    alerts = [{"i:jd": 2.0, "i:fid": 1, "i:magpsf": 18.0}]
    history = [
        {"i:jd": 2.0, "i:fid": 1, "i:magpsf": 18.0},  # the alert itself: not twice
        {"i:jd": 1.0, "i:fid": 2, "i:magpsf": None, "i:diffmaglim": 20.5},
        {"i:jd": 0.5, "i:fid": 2, "i:magpsf": 19.0},
    ]
    assert light_curve(alerts, history) == [Point(0.5, "r", 19.0, False),
                                             Point(1.0, "r", 20.5, True),
                                             Point(2.0, "g", 18.0, False)]


def test_ascii_plot_puts_bright_points_on_top():
    lines = ascii_plot([Point(0.0, "g", 15.0, False), Point(1.0, "r", 20.0, True)],
                       width=10, height=3)
    assert lines[0].endswith("g" + " " * 9)
    assert lines[2].endswith(" " * 9 + "v")
