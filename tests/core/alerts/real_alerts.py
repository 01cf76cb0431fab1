"""The real alerts, read once per test process through the public file readers."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from finkportal_core.alerts import (
    Alert,
    UnsupportedAlertFileError,
    alert_files,
    iter_alert_files,
)


@dataclass
class RealAlerts:
    """Every alert file of the data directory, read or rejected."""

    files: list[Path] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    alerts_by_file: dict[Path, list[Alert]] = field(default_factory=dict)
    unsupported: dict[Path, UnsupportedAlertFileError] = field(default_factory=dict)


@cache
def load_real_alerts(alerts_dir: Path) -> RealAlerts:
    loaded = RealAlerts(files=alert_files(alerts_dir))
    for path in loaded.files:
        try:
            alerts = list(iter_alert_files(path))
        except UnsupportedAlertFileError as exc:
            loaded.unsupported[path] = exc
            continue
        loaded.alerts_by_file[path] = alerts
        loaded.alerts.extend(alerts)
    return loaded
