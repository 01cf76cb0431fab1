"""Fixtures of the alert model tests: the real alerts, read once."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.core.alerts.real_alerts import RealAlerts, load_real_alerts


@pytest.fixture(scope="session")
def real_alerts(real_data_dir: Path) -> RealAlerts:
    return load_real_alerts(real_data_dir / "alerts")
