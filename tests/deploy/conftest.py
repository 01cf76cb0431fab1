"""Fixtures of the deployment tests: the rendered compose file and kustomize trees."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from tests.deploy.deploy_files import (
    COMPOSE_FILE,
    KUSTOMIZATIONS,
    SECRET_TEMPLATE,
    kustomize,
    require_tool,
    run_tool,
)


@pytest.fixture(scope="session")
def compose() -> dict[str, Any]:
    """docker-compose.yml as docker-compose resolves it (defaults interpolated)."""
    result = run_tool(require_tool("docker-compose"), "-f", str(COMPOSE_FILE), "config")
    assert result.returncode == 0, f"docker-compose config failed:\n{result.stderr}"
    loaded = yaml.safe_load(result.stdout)
    assert isinstance(loaded, dict)
    return loaded


@pytest.fixture(scope="session")
def rendered() -> dict[str, list[dict[str, Any]]]:
    """Every kustomization rendered by kubectl: name -> documents."""
    return {name: kustomize(directory) for name, directory in KUSTOMIZATIONS.items()}


@pytest.fixture(scope="session")
def secret_template() -> dict[str, Any]:
    loaded = yaml.safe_load(SECRET_TEMPLATE.read_text())
    assert isinstance(loaded, dict)
    return loaded
