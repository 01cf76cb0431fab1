"""The deployment files as the real tools read them, and the services they deploy.

There is no Docker engine or cluster here: the files are checked by the tools that
read them offline (docker-compose v1, kubectl's kustomize, kubernetes-validate) and
against the real settings classes of the services.
"""

from __future__ import annotations

import importlib
import inspect
import os
import shutil
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic_settings import BaseSettings

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
K8S_DIR = REPO_ROOT / "deploy" / "k8s"
# Every kustomization an operator applies: production (the top level) and overlays.
KUSTOMIZATIONS = {"production": K8S_DIR, "local": K8S_DIR / "overlays" / "local"}
SECRET_TEMPLATE = K8S_DIR / "base" / "kafka-sasl-secret.template.yaml"
INSTALL_HINT = "run `bash scripts/install-system-deps.sh` as root (part of `make test`)"


@dataclass(frozen=True)
class ServicePackage:
    """One workspace member under services/: its Docker target is its directory name."""

    directory: Path
    project: str  # distribution name, e.g. finkportal-ingest
    module: str
    scripts: dict[str, str]

    @property
    def target(self) -> str:
        return self.directory.name

    def settings_class(self) -> type[BaseSettings]:
        """The BaseSettings subclass defined in ``<module>.settings``."""
        module = importlib.import_module(f"{self.module}.settings")
        found = [cls for _, cls in inspect.getmembers(module, inspect.isclass)
                 if issubclass(cls, BaseSettings) and cls.__module__ == module.__name__]
        assert len(found) == 1, f"{module.__name__} must define one settings class: {found}"
        return found[0]

    def env_prefix(self) -> str:
        return str(self.settings_class().model_config.get("env_prefix", ""))

    def has_field(self, name: str) -> bool:
        return name in self.settings_class().model_fields

    @property
    def talks_to_kafka(self) -> bool:
        """Kafka services (ingest, indexer) get the broker settings and the SASL Secret."""
        return self.has_field("kafka_bootstrap_servers")

    @property
    def reads_store(self) -> bool:
        """Every service but the portal, which reads through the query API over HTTP."""
        return self.has_field("store_url")

    def service_url_fields(self) -> dict[str, str]:
        """Settings fields naming another service's base URL: ``<target>_url`` -> target
        (the portal's ``query_url`` and ``fitter_url``)."""
        targets = {package.target for package in service_packages()}
        fields = self.settings_class().model_fields
        return {f"{target}_url": target for target in sorted(targets)
                if f"{target}_url" in fields}

    @property
    def has_http_api(self) -> bool:
        """An HTTP service (query) serves /health and /metrics on its API ``port``;
        the Kafka services serve only /metrics, on a ``metrics_port`` of their own."""
        return not self.has_field("metrics_port")

    @property
    def port_field(self) -> str:
        """The settings field of the port Prometheus scrapes and the probes reach."""
        return "port" if self.has_http_api else "metrics_port"

    @property
    def host_field(self) -> str:
        """The settings field of the address that port binds."""
        return "host" if self.has_http_api else "metrics_host"

    @property
    def health_path(self) -> str:
        """What the healthchecks and probes request."""
        return "/health" if self.has_http_api else "/metrics"

    def port_variable(self) -> str:
        return f"{self.env_prefix()}{self.port_field.upper()}"

    def default_port(self) -> int:
        return int(self.settings_class().model_fields[self.port_field].default)


def service_package(target: str) -> ServicePackage:
    """The package deployed as ``target`` (a Docker target, compose service, Deployment)."""
    (package,) = [p for p in service_packages() if p.target == target]
    return package


def service_packages() -> list[ServicePackage]:
    packages = []
    for pyproject in sorted(REPO_ROOT.glob("services/*/pyproject.toml")):
        project = tomllib.loads(pyproject.read_text())
        wheel = project["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
        packages.append(ServicePackage(directory=pyproject.parent,
                                       project=project["project"]["name"],
                                       module=Path(wheel[0]).name,
                                       scripts=project["project"].get("scripts", {})))
    return packages


def require_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"`{name}` is not installed: {INSTALL_HINT}")
    return path


def run_tool(*command: str) -> subprocess.CompletedProcess[str]:
    """Runs a tool from the repository root with only PATH and HOME from outside,
    so that no FINK_* or COMPOSE_* variable of the caller changes what it renders."""
    clean_env = {key: os.environ[key] for key in ("PATH", "HOME") if key in os.environ}
    return subprocess.run(list(command), cwd=REPO_ROOT, env=clean_env, capture_output=True,
                          text=True, timeout=120, check=False)


def kustomize(directory: Path) -> list[dict[str, Any]]:
    result = run_tool(require_tool("kubectl"), "kustomize", str(directory))
    assert result.returncode == 0, f"kubectl kustomize {directory} failed:\n{result.stderr}"
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def compose_env(compose: dict[str, Any], service: str) -> dict[str, str]:
    """The environment of a compose service, as strings (unset values empty)."""
    return {k: "" if v is None else str(v)
            for k, v in compose["services"][service].get("environment", {}).items()}


def load_settings(cls: type[BaseSettings], env: dict[str, str],
                  monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Builds the settings as the service does (from the process environment);
    returns their values. Fails with pydantic's message on any invalid value."""
    prefix = str(cls.model_config.get("env_prefix", ""))
    for name in [n for n in os.environ if n.startswith(prefix)]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return cls().model_dump()


def of_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [doc for doc in docs if doc["kind"] == kind]


def config_map_data(docs: list[dict[str, Any]], name: str) -> dict[str, str]:
    """The data of the (kustomize-generated, hash-suffixed) ConfigMap ``name``."""
    matches = [doc for doc in of_kind(docs, "ConfigMap") if doc["metadata"]["name"] == name]
    assert len(matches) == 1, f"ConfigMap {name} not found exactly once"
    return dict(matches[0].get("data", {}))


def container_env(docs: list[dict[str, Any]], container: dict[str, Any]) -> dict[str, str]:
    """Env names of a container -> value ('<secret name>/<key>' for secret refs)."""
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        env.update(config_map_data(docs, source["configMapRef"]["name"]))
    for item in container.get("env", []):
        ref = item.get("valueFrom", {}).get("secretKeyRef")
        env[item["name"]] = f"{ref['name']}/{ref['key']}" if ref else item.get("value", "")
    return env


def pod_containers(deployment: dict[str, Any]) -> list[dict[str, Any]]:
    return list(deployment["spec"]["template"]["spec"]["containers"])
