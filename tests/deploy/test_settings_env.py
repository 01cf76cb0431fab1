"""The FINK_* variables of the deployment files are real settings of the services."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.deploy.deploy_files import (
    REPO_ROOT,
    ServicePackage,
    compose_env,
    container_env,
    load_settings,
    of_kind,
    pod_containers,
    service_package,
    service_packages,
)
from tests.deploy.dockerfile_model import parse

DOCKERFILE = REPO_ROOT / "Dockerfile"


def packages_by_prefix() -> dict[str, ServicePackage]:
    return {package.env_prefix(): package for package in service_packages()}


def assert_settings_fields(names: set[str], where: str) -> None:
    """Every FINK_* name is <prefix of a service><one of its settings fields, upper case>."""
    packages = packages_by_prefix()
    for name in sorted(n for n in names if n.startswith("FINK_")):
        prefix = next((p for p in packages if name.startswith(p)), None)
        assert prefix, f"{where}: {name} has no service prefix among {sorted(packages)}"
        field = name.removeprefix(prefix)
        settings_class = packages[prefix].settings_class()
        assert field == field.upper(), f"{where}: {name} must be upper case"
        assert field.lower() in settings_class.model_fields, (
            f"{where}: {name} is not a field of {settings_class.__name__}")


def k8s_env(docs: list[dict[str, Any]], deployment_name: str) -> dict[str, str]:
    (deployment,) = [d for d in of_kind(docs, "Deployment")
                     if d["metadata"]["name"] == deployment_name]
    (container,) = pod_containers(deployment)
    return container_env(docs, container)


def test_settings_classes_exist_with_their_prefix() -> None:
    for package in service_packages():
        assert package.env_prefix() == f"FINK_{package.target.upper()}_"


def test_compose_env_names_are_settings_fields(compose: dict[str, Any]) -> None:
    for service in compose["services"]:
        assert_settings_fields(set(compose_env(compose, service)), f"compose/{service}")


def test_k8s_env_names_are_settings_fields(rendered: dict[str, list[dict[str, Any]]]) -> None:
    for name, docs in rendered.items():
        for deployment in of_kind(docs, "Deployment"):
            (container,) = pod_containers(deployment)
            names = set(container_env(docs, container))
            assert names, f"{name}: {deployment['metadata']['name']} has no settings"
            assert_settings_fields(names, f"k8s/{name}/{deployment['metadata']['name']}")


def test_dockerfile_env_names_are_settings_fields() -> None:
    dockerfile = parse(DOCKERFILE)
    for package in service_packages():
        assert_settings_fields(set(dockerfile.env(package.target)), f"Dockerfile/{package.target}")


def test_compose_and_k8s_set_the_same_env_names(
        compose: dict[str, Any], rendered: dict[str, list[dict[str, Any]]]) -> None:
    for package in service_packages():
        in_compose = set(compose_env(compose, package.target))
        in_k8s = set(k8s_env(rendered["production"], package.target))
        assert in_compose == in_k8s, (
            f"only in compose: {sorted(in_compose - in_k8s)}; "
            f"only in k8s: {sorted(in_k8s - in_compose)}")


def test_local_overlay_sets_a_subset_of_production_names(
        rendered: dict[str, list[dict[str, Any]]]) -> None:
    for package in service_packages():
        local = set(k8s_env(rendered["local"], package.target))
        assert local <= set(k8s_env(rendered["production"], package.target))


def test_compose_values_are_valid_settings(
        compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    for package in service_packages():
        env = compose_env(compose, package.target)
        settings = load_settings(package.settings_class(), env, monkeypatch)
        if package.talks_to_kafka:
            assert not settings["kafka_sasl_mechanism"], "the local Kafka has no SASL"
        if package.reads_store:
            assert settings["store_url"].startswith("sqlite:/"), "absolute path on the volume"
        assert settings[package.host_field] == "0.0.0.0", "reached from outside the container"
        # Published as "[host_ip:]host_port:container_port[/protocol]".
        published = [str(p).split("/")[0] for p in compose["services"][package.target]["ports"]]
        assert any(p.endswith(f":{settings[package.port_field]}") for p in published), published


def test_k8s_values_are_valid_settings(
        rendered: dict[str, list[dict[str, Any]]], secret_template: dict[str, Any],
        monkeypatch: pytest.MonkeyPatch) -> None:
    secret = secret_template["stringData"]
    for name, docs in rendered.items():
        for package in service_packages():
            env = k8s_env(docs, package.target)
            # Secret references resolve to the template's placeholder values.
            env = {k: secret[v.split("/")[1]] if "SASL" in k and "/" in v else v
                   for k, v in env.items()}
            settings = load_settings(package.settings_class(), env, monkeypatch)
            assert settings[package.host_field] == "0.0.0.0", f"{name}: scraped from outside"
            if name == "production" and package.talks_to_kafka:
                assert settings["kafka_security_protocol"] == "SASL_SSL"
                assert settings["kafka_sasl_mechanism"]
                assert settings["kafka_sasl_password"].get_secret_value() == secret["password"]


def k8s_addresses(docs: list[dict[str, Any]], target: str) -> set[tuple[str, int]]:
    """(host, port) pairs reaching ``target``'s HTTP port through a Service of the same
    namespace: its short name and its cluster DNS names."""
    (deployment,) = [d for d in of_kind(docs, "Deployment") if d["metadata"]["name"] == target]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    (container,) = pod_containers(deployment)
    container_port = int(container_env(docs, container)[service_package(target).port_variable()])
    named = {p["name"] for p in container["ports"] if p["containerPort"] == container_port}
    addresses = set()
    for service in of_kind(docs, "Service"):
        if not all(labels.get(k) == v for k, v in service["spec"]["selector"].items()):
            continue
        name, namespace = service["metadata"]["name"], service["metadata"]["namespace"]
        for port in service["spec"]["ports"]:
            if port["targetPort"] in named | {container_port}:
                for host in (name, f"{name}.{namespace}.svc",
                             f"{name}.{namespace}.svc.cluster.local"):
                    addresses.add((host, int(port["port"])))
    return addresses


def test_service_urls_reach_the_services_they_name(
        compose: dict[str, Any], rendered: dict[str, list[dict[str, Any]]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The portal's ``query_url`` and ``fitter_url``: in compose the service's name on the
    port it binds there, in Kubernetes a Service in front of that Deployment's port."""
    callers = [package for package in service_packages() if package.service_url_fields()]
    assert {"query", "fitter"} <= set(service_package("portal").service_url_fields().values())
    for package in callers:
        settings = load_settings(package.settings_class(),
                                 compose_env(compose, package.target), monkeypatch)
        for field, target in package.service_url_fields().items():
            url = urlsplit(settings[field])
            port = compose_env(compose, target)[service_package(target).port_variable()]
            assert (url.hostname, url.port) == (target, int(port)), f"compose {field}"
        for name, docs in rendered.items():
            settings = load_settings(package.settings_class(), k8s_env(docs, package.target),
                                     monkeypatch)
            for field, target in package.service_url_fields().items():
                url = urlsplit(settings[field])
                assert (url.hostname, url.port) in k8s_addresses(docs, target), (name, field)
