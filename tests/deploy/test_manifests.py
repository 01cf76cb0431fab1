"""docker-compose.yml and deploy/k8s: valid for their tools and production-shaped."""

from __future__ import annotations

import copy
import re
from typing import Any

import kubernetes_validate
import pytest

from tests.deploy.deploy_files import (
    COMPOSE_FILE,
    KUSTOMIZATIONS,
    ServicePackage,
    compose_env,
    container_env,
    load_settings,
    of_kind,
    pod_containers,
    require_tool,
    run_tool,
    service_package,
    service_packages,
)

# The oldest Kubernetes minor still commonly run, and the newest schema shipped.
K8S_VERSIONS = ["1.30.0", kubernetes_validate.latest_version()]
NAMESPACE = "finkportal"
CLUSTER_SCOPED = {"Namespace"}
MIN_GRACE_SECONDS = 30  # a batch write plus a store back-off retry


def seconds(duration: str) -> float:
    """A compose duration ('1m30s', '60s', '500ms') in seconds."""
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, "us": 1e-6}
    parts = re.findall(r"(\d+(?:\.\d+)?)(h|ms|us|m|s)", duration)
    assert "".join(n + u for n, u in parts) == duration, f"bad duration {duration!r}"
    return sum(float(number) * units[unit] for number, unit in parts)


# ------------------------------------------------------------------ compose


def test_compose_file_passes_docker_compose_config() -> None:
    result = run_tool(require_tool("docker-compose"), "-f", str(COMPOSE_FILE), "config", "-q")
    assert result.returncode == 0, result.stderr


def one_shot_services(compose: dict[str, Any]) -> set[str]:
    """Services others wait on to *complete* (topic creation and the like)."""
    return {name for service in compose["services"].values()
            for name, condition in service.get("depends_on", {}).items()
            if condition.get("condition") == "service_completed_successfully"}


def test_compose_long_running_services_have_healthcheck_and_restart(
        compose: dict[str, Any]) -> None:
    one_shots = one_shot_services(compose)
    assert one_shots, "expected a topic-creation one-shot"
    for name, service in compose["services"].items():
        if name in one_shots:
            assert service.get("restart") in {"no", "on-failure"}, name
            continue
        assert service.get("restart") in {"unless-stopped", "always"}, name
        assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"


def test_compose_builds_each_service_from_its_dockerfile_target(
        compose: dict[str, Any]) -> None:
    for package in service_packages():
        service = compose["services"].get(package.target)
        assert service, f"no compose service for {package.target}"
        assert service["build"]["target"] == package.target
        assert seconds(service["stop_grace_period"]) >= MIN_GRACE_SECONDS
        assert service.get("stop_signal", "SIGTERM") == "SIGTERM"


def waits_healthy(compose: dict[str, Any], service: str, dependency: str) -> bool:
    """``service`` starts only once ``dependency`` is healthy, directly or through others."""
    for name, condition in compose["services"][service].get("depends_on", {}).items():
        healthy = condition.get("condition") == "service_healthy"
        if healthy and (name == dependency or waits_healthy(compose, name, dependency)):
            return True
    return False


def test_compose_services_wait_for_what_they_need(compose: dict[str, Any]) -> None:
    for package in service_packages():
        if package.talks_to_kafka:
            assert waits_healthy(compose, package.target, "kafka"), package.target
    # The HTTP services (the API, the fitter) read what the writers store: they start
    # once the writers have opened the store, so its tables exist.
    readers = [p.target for p in service_packages() if p.has_http_api and p.reads_store]
    assert {"query", "fitter"} <= set(readers)
    for reader in readers:
        assert waits_healthy(compose, reader, "indexer"), reader
    # A service calling others over HTTP (the portal) starts after them; its /health is the
    # query API answering, so it waits for that one to be healthy.
    callers = [p for p in service_packages() if p.service_url_fields()]
    assert "portal" in {p.target for p in callers}
    for package in callers:
        depends_on = compose["services"][package.target].get("depends_on", {})
        for target in package.service_url_fields().values():
            assert target in depends_on, f"{package.target} does not wait for {target}"
        if "query" in package.service_url_fields().values():
            assert waits_healthy(compose, package.target, "query"), package.target


def test_compose_healthchecks_probe_the_scraped_port(compose: dict[str, Any]) -> None:
    for package in service_packages():
        service = compose["services"][package.target]
        port = service["environment"][package.port_variable()]
        probe = " ".join(service["healthcheck"]["test"])
        assert f"127.0.0.1:{port}{package.health_path}" in probe, probe


def compose_settings(compose: dict[str, Any], package: ServicePackage,
                     monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The settings values ``package`` runs with in compose (its environment there)."""
    return load_settings(package.settings_class(), compose_env(compose, package.target),
                         monkeypatch)


def topic_settings(settings: dict[str, Any]) -> set[str]:
    """Every topic a service's settings name: the fields ending in ``_topic``
    (``topic_pattern`` and ``stream_topic_prefix`` are not topics)."""
    return {value for name, value in settings.items() if name.endswith("_topic") and value}


def test_compose_creates_every_topic_the_services_use(
        compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """Auto-creation is off in compose: a topic missing here would never be written
    (a stream, a dead letter) or never be read from (the fitter's requests)."""
    from finkportal_core.filters import STREAM_FILTERS

    # The fixture holds the file as `docker-compose config` renders it: defaults filled in.
    topics = set(compose["services"]["kafka-init"]["environment"]["TOPICS"].split())
    kafka_services = {package.target: compose_settings(compose, package, monkeypatch)
                      for package in service_packages() if package.talks_to_kafka}
    assert {"ingest", "indexer", "fitter"} <= set(kafka_services)
    needed = {f.topic for f in STREAM_FILTERS}
    for settings in kafka_services.values():
        needed |= topic_settings(settings)
    assert {"finkportal_fit_requests", "finkportal_fit_requests_dlq"} <= needed
    assert needed <= topics, needed - topics
    assert kafka_services["indexer"]["index_topic"] == kafka_services["ingest"]["index_topic"]


def test_compose_embedded_store_lives_on_a_named_volume(compose: dict[str, Any]) -> None:
    named_volumes = set(compose.get("volumes", {}))
    for package in service_packages():
        service = compose["services"][package.target]
        if not package.reads_store:
            assert not service.get("volumes"), f"{package.target} reads no store"
            continue
        store_url = service["environment"][f"{package.env_prefix()}STORE_URL"]
        if not store_url.startswith("sqlite:"):
            continue
        store_dir = store_url.removeprefix("sqlite:")
        mounts = [volume.split(":") for volume in service.get("volumes", [])]
        assert any(source in named_volumes and store_dir.startswith(target)
                   for source, target, *_ in mounts), f"{store_dir} is not on a named volume"


# ------------------------------------------------------------------ kubernetes


def test_kustomizations_render_the_expected_kinds(
        rendered: dict[str, list[dict[str, Any]]]) -> None:
    for name, docs in rendered.items():
        kinds = {doc["kind"] for doc in docs}
        expected = {"Namespace", "ConfigMap", "Deployment", "Service", "PodDisruptionBudget"}
        assert expected <= kinds, f"{name} renders only {sorted(kinds)}"


@pytest.mark.parametrize("version", K8S_VERSIONS)
@pytest.mark.parametrize("kustomization", sorted(KUSTOMIZATIONS))
def test_rendered_documents_pass_strict_schema_validation(
        rendered: dict[str, list[dict[str, Any]]], kustomization: str, version: str) -> None:
    for doc in rendered[kustomization]:
        kubernetes_validate.validate(doc, version, strict=True)


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_secret_template_passes_strict_schema_validation(
        secret_template: dict[str, Any], version: str) -> None:
    kubernetes_validate.validate(secret_template, version, strict=True)


def test_strict_validation_rejects_a_misspelled_field(
        rendered: dict[str, list[dict[str, Any]]]) -> None:
    # Proves the validation above can fail: a typo a reviewer could miss.
    deployment = copy.deepcopy(of_kind(rendered["production"], "Deployment")[0])
    deployment["spec"]["template"]["spec"]["terminationGracePeriodSecond"] = 60
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSIONS[-1], strict=True)


def test_every_namespaced_document_is_in_the_finkportal_namespace(
        rendered: dict[str, list[dict[str, Any]]]) -> None:
    for name, docs in rendered.items():
        for doc in docs:
            if doc["kind"] not in CLUSTER_SCOPED:
                assert doc["metadata"].get("namespace") == NAMESPACE, (name, doc["kind"])


def all_deployments(rendered: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return [doc for docs in rendered.values() for doc in of_kind(docs, "Deployment")]


def test_every_service_package_has_a_deployment(
        rendered: dict[str, list[dict[str, Any]]]) -> None:
    for name, docs in rendered.items():
        deployed = {doc["metadata"]["name"] for doc in of_kind(docs, "Deployment")}
        for package in service_packages():
            assert package.target in deployed, f"{name} does not deploy {package.target}"


def test_deployments_have_resources_and_probes(
        rendered: dict[str, list[dict[str, Any]]]) -> None:
    for deployment in all_deployments(rendered):
        for container in pod_containers(deployment):
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(container["resources"].get(bound, {})), (
                    f"{container['name']} lacks {bound}")
            for probe in ("livenessProbe", "readinessProbe"):
                assert probe in container, f"{container['name']} lacks {probe}"


def test_deployments_run_non_root_on_a_read_only_root_filesystem(
        rendered: dict[str, list[dict[str, Any]]]) -> None:
    for deployment in all_deployments(rendered):
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] != 0
        empty_dirs = {v["name"] for v in pod.get("volumes", []) if "emptyDir" in v}
        for container in pod["containers"]:
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True
            assert context["allowPrivilegeEscalation"] is False
            assert context["capabilities"]["drop"] == ["ALL"]
            tmp = {m["name"] for m in container["volumeMounts"] if m["mountPath"] == "/tmp"}
            assert tmp, "/tmp must be mounted (the root filesystem is read-only)"
            assert tmp <= empty_dirs, "/tmp must be an emptyDir"


def scraped_port(deployment: dict[str, Any]) -> dict[str, Any]:
    """The container port Prometheus scrapes: ``metrics`` for the Kafka services, the
    API port ``http`` (which serves /metrics too) for query."""
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/path"] == "/metrics"
    (container,) = pod_containers(deployment)
    ports = [p for p in container["ports"]
             if p["containerPort"] == int(annotations["prometheus.io/port"])]
    assert len(ports) == 1, f"{container['name']} does not declare the scraped port"
    return dict(ports[0])


def test_deployments_are_scraped_and_probed_on_the_port_their_settings_bind(
        rendered: dict[str, list[dict[str, Any]]]) -> None:
    for docs in rendered.values():
        for deployment in of_kind(docs, "Deployment"):
            package = service_package(deployment["metadata"]["name"])
            port = scraped_port(deployment)
            (container,) = pod_containers(deployment)
            assert int(container_env(docs, container)[package.port_variable()]) == (
                port["containerPort"])
            for probe in ("livenessProbe", "readinessProbe"):
                target = container[probe]["httpGet"]
                assert target["port"] in (port["name"], port["containerPort"])
            assert container["readinessProbe"]["httpGet"]["path"] == package.health_path
            # An HTTP API's liveness may skip the store (/health/live), a restart cannot fix it
            assert container["livenessProbe"]["httpGet"]["path"] in (
                package.health_path, f"{package.health_path}/live")


def test_deployments_stop_gracefully(rendered: dict[str, list[dict[str, Any]]]) -> None:
    for deployment in all_deployments(rendered):
        grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        assert grace >= MIN_GRACE_SECONDS


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def test_each_deployment_has_a_service_on_its_port_and_a_disruption_budget(
        rendered: dict[str, list[dict[str, Any]]]) -> None:
    for docs in rendered.values():
        for deployment in of_kind(docs, "Deployment"):
            labels = deployment["spec"]["template"]["metadata"]["labels"]
            services = [s for s in of_kind(docs, "Service")
                        if selects(s["spec"]["selector"], labels)]
            port = scraped_port(deployment)
            assert any(p["targetPort"] in (port["name"], port["containerPort"])
                       for s in services for p in s["spec"]["ports"]), (
                f"no Service reaches {deployment['metadata']['name']}:{port['containerPort']}")
            budgets = [b for b in of_kind(docs, "PodDisruptionBudget")
                       if selects(b["spec"]["selector"]["matchLabels"], labels)]
            assert len(budgets) == 1, deployment["metadata"]["name"]


def test_embedded_store_is_only_used_by_one_replica_on_a_persistent_volume(
        rendered: dict[str, list[dict[str, Any]]]) -> None:
    # The embedded store is single-writer on a local disk: several replicas would
    # each write their own copy (emptyDir) or corrupt a shared one.
    for docs in rendered.values():
        claims = {c["metadata"]["name"] for c in of_kind(docs, "PersistentVolumeClaim")}
        for deployment in of_kind(docs, "Deployment"):
            (container,) = pod_containers(deployment)
            env = container_env(docs, container)
            store_url = next((v for k, v in env.items() if k.endswith("_STORE_URL")), None)
            if store_url is None:  # the portal: it reads through the query API
                assert not service_package(deployment["metadata"]["name"]).reads_store
                continue
            if not store_url.startswith("sqlite:"):
                assert store_url.startswith("hbase://"), store_url
                continue
            assert deployment["spec"]["replicas"] == 1
            assert deployment["spec"]["strategy"]["type"] == "Recreate"
            assert_on_claim(deployment, store_url.removeprefix("sqlite:"), claims)


def assert_on_claim(deployment: dict[str, Any], store_dir: str, claims: set[str]) -> None:
    pod = deployment["spec"]["template"]["spec"]
    claimed = {v["name"] for v in pod["volumes"]
               if v.get("persistentVolumeClaim", {}).get("claimName") in claims}
    mounts = pod["containers"][0]["volumeMounts"]
    assert any(m["name"] in claimed and store_dir.startswith(m["mountPath"]) for m in mounts), (
        f"{store_dir} is not on a rendered PersistentVolumeClaim")


def test_production_uses_hbase_and_the_sasl_secret_template(
        rendered: dict[str, list[dict[str, Any]]], secret_template: dict[str, Any]) -> None:
    docs = rendered["production"]
    template_keys = set(secret_template["stringData"])
    for deployment in of_kind(docs, "Deployment"):
        (container,) = pod_containers(deployment)
        env = container_env(docs, container)
        store_url = next((v for k, v in env.items() if k.endswith("_STORE_URL")), None)
        if service_package(deployment["metadata"]["name"]).reads_store:
            assert store_url is not None
            assert store_url.startswith("hbase://")
        else:
            assert store_url is None
        secret_refs = [v for k, v in env.items() if "SASL" in k and "/" in v]
        if not service_package(deployment["metadata"]["name"]).talks_to_kafka:
            assert not secret_refs, "a service without Kafka needs no Kafka credentials"
            continue
        assert secret_refs, "SASL credentials must come from the Secret"
        for ref in secret_refs:
            name, key = ref.split("/")
            assert name == secret_template["metadata"]["name"]
            assert key in template_keys
