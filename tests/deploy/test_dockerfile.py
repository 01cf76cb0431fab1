"""The Dockerfile: a lean, non-root target per service, and install steps that work.

No image can be built here (no Docker engine), so the structure is read from the
Dockerfile and its uv install steps are replayed on this machine, offline.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.deploy_files import REPO_ROOT, ServicePackage, of_kind, service_packages
from tests.deploy.dockerfile_model import Dockerfile, Stage, exec_form, parse

DOCKERFILE = REPO_ROOT / "Dockerfile"
DOCKERIGNORE = REPO_ROOT / ".dockerignore"
# Commands that fetch or compile: none may run in a final image's stages.
BUILD_TOOLS = re.compile(
    r"\b(pip install|uv|apt-get install|apt install|gcc|cc|make|git|curl|wget)\b")
VENV = "/opt/venv"
# The portal's npm bundles (Aladin Lite, plotly.js basic): where the image's portal
# package must have them, and where npm puts them.
PORTAL_VENDOR = "services/portal/src/finkportal_portal/assets/vendor"
PORTAL_BUNDLES = {"aladin.js": "aladin-lite/dist/aladin.js",
                  "plotly-basic.min.js": "plotly.js-basic-dist-min/plotly-basic.min.js"}
NPM_CI = "npm ci --ignore-scripts"


@pytest.fixture(scope="module")
def dockerfile() -> Dockerfile:
    return parse(DOCKERFILE)


PACKAGES = service_packages()
PACKAGE_IDS = [package.target for package in PACKAGES]


def test_there_are_service_packages() -> None:
    assert PACKAGES, "no pyproject.toml under services/*/"


def node_stages(dockerfile: Dockerfile) -> list[Stage]:
    return [stage for stage in dockerfile.stages.values() if stage.base == "${NODE_IMAGE}"]


def test_base_image_is_python_311_slim(dockerfile: Dockerfile) -> None:
    bases = {stage.base for stage in dockerfile.stages.values()} - set(dockerfile.stages)
    assert bases == {"${PYTHON_IMAGE}", "${NODE_IMAGE}"}
    assert re.fullmatch(r"python:3\.11-slim(-\w+)?", dockerfile.global_args["PYTHON_IMAGE"])
    # Node only runs `npm ci` for the portal's assets: no image or venv is built on it.
    assert re.fullmatch(r"node:\d+(\.\d+)*-\w+-slim", dockerfile.global_args["NODE_IMAGE"])
    for package in PACKAGES:
        for target in (package.target, f"{package.target}-venv"):
            bases = {stage.base for stage in dockerfile.lineage(target)}
            assert "${NODE_IMAGE}" not in bases, target


@pytest.mark.parametrize("bundle_name", sorted(PORTAL_BUNDLES))
def test_portal_gets_its_bundles_from_npm_before_its_package_is_installed(
        dockerfile: Dockerfile, bundle_name: str) -> None:
    (assets,) = node_stages(dockerfile)
    copied = " ".join(assets.arguments("COPY")).split()
    assert {"services/portal/package.json", "services/portal/package-lock.json"} <= set(copied)
    assert [run for run in assets.arguments("RUN") if run.startswith(NPM_CI)], (
        "the lock file must be installed as it is (npm ci), without install scripts")
    venv = dockerfile.stages["portal-venv"]
    keywords = [(i.keyword, i.arguments) for i in venv.instructions]
    target = f"{PORTAL_VENDOR}/{bundle_name}"
    bundle = next((n for n, (keyword, arguments) in enumerate(keywords) if keyword == "COPY"
                   and f"--from={assets.name}" in arguments
                   and PORTAL_BUNDLES[bundle_name] in arguments and arguments.endswith(target)),
                  None)
    assert bundle is not None, f"portal-venv does not copy {target} from {assets.name}"
    installs = [n for n, (keyword, arguments) in enumerate(keywords)
                if keyword == "RUN" and "--no-editable" in arguments]
    assert installs, "portal-venv never installs the portal package"
    assert bundle < installs[-1], "the bundle must be in the sources before the wheel is built"


@pytest.mark.parametrize("package", PACKAGES, ids=PACKAGE_IDS)
def test_each_service_has_a_target_running_its_console_script(
        dockerfile: Dockerfile, package: ServicePackage) -> None:
    assert package.target in dockerfile.stages, f"no `--target {package.target}` stage"
    entrypoint = dockerfile.last(package.target, "ENTRYPOINT")
    assert entrypoint, f"{package.target} has no ENTRYPOINT"
    command = exec_form(entrypoint)
    assert len(command) == 1
    assert command[0] in package.scripts, f"{command} is not a console script of {package.project}"


@pytest.mark.parametrize("package", PACKAGES, ids=PACKAGE_IDS)
def test_service_image_is_non_root_and_stops_on_sigterm(
        dockerfile: Dockerfile, package: ServicePackage) -> None:
    user = dockerfile.last(package.target, "USER")
    assert user, "no USER: the image would run as root"
    uid = user.split(":")[0]
    # Numeric, so that Kubernetes' runAsNonRoot can verify it.
    assert uid.isdigit()
    assert int(uid) != 0
    assert dockerfile.last(package.target, "STOPSIGNAL") == "SIGTERM"


def test_kubernetes_runs_pods_as_the_image_user(
        dockerfile: Dockerfile, rendered: dict[str, list[dict[str, Any]]]) -> None:
    for docs in rendered.values():
        for deployment in of_kind(docs, "Deployment"):
            user = dockerfile.last(deployment["metadata"]["name"], "USER")
            assert user, deployment["metadata"]["name"]
            context = deployment["spec"]["template"]["spec"]["securityContext"]
            assert user == f"{context['runAsUser']}:{context['runAsGroup']}"


def final_stages(dockerfile: Dockerfile, package: ServicePackage) -> list[Stage]:
    return dockerfile.lineage(package.target)


@pytest.mark.parametrize("package", PACKAGES, ids=PACKAGE_IDS)
def test_service_image_has_no_build_tools(
        dockerfile: Dockerfile, package: ServicePackage) -> None:
    for stage in final_stages(dockerfile, package):
        assert stage.name != "builder", f"{package.target} is built FROM the builder"
        for command in stage.arguments("RUN"):
            assert not BUILD_TOOLS.search(command), f"{stage.name} runs a build tool: {command}"
        for copy in stage.arguments("COPY"):
            if "--from=" in copy:
                # Only the finished virtual environment crosses over.
                assert f"--from={package.target}-venv" in copy
                assert copy.split()[-2:] == [VENV, VENV]


@pytest.mark.parametrize("package", PACKAGES, ids=PACKAGE_IDS)
def test_exposed_port_is_the_scraped_port_bound_on_every_address(
        dockerfile: Dockerfile, package: ServicePackage) -> None:
    # metrics_port for the Kafka services; the API port (with /metrics on it) for query.
    env = dockerfile.env(package.target)
    port = env[package.port_variable()]
    assert dockerfile.last(package.target, "EXPOSE") == port
    assert int(port) == package.default_port()
    assert env[f"{package.env_prefix()}{package.host_field.upper()}"] == "0.0.0.0"


@pytest.mark.parametrize("package", PACKAGES, ids=PACKAGE_IDS)
def test_install_is_locked_and_without_dev_dependencies(
        dockerfile: Dockerfile, package: ServicePackage) -> None:
    syncs = uv_sync_commands(dockerfile.stages[f"{package.target}-venv"])
    assert syncs, "the venv stage runs no `uv sync`"
    for tokens in syncs:
        assert {"--frozen", "--no-dev"} <= set(tokens)
        assert tokens[tokens.index("--package") + 1] == package.project
    assert "--no-editable" in syncs[-1], "an editable install would point at /src"


def test_dockerignore_keeps_local_state_out_but_not_the_sources(dockerfile: Dockerfile) -> None:
    ignored = {line.strip() for line in DOCKERIGNORE.read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    assert {"var", ".venv", "data", "tests", ".pytest_cache", "**/__pycache__"} <= ignored
    # Only the image's own `npm ci` provides node modules and the portal's bundle.
    assert {"**/node_modules", PORTAL_VENDOR} <= ignored
    for stage in dockerfile.stages.values():
        for copy in stage.arguments("COPY"):
            if "--from=" not in copy:
                for source in copy.split()[:-1]:
                    assert source.split("/")[0] not in ignored, f"COPY {source} is ignored"


# ------------------------------------------------------------ replayed install


def uv_sync_commands(stage: Stage) -> list[list[str]]:
    """The `uv sync` RUN commands of a stage, as argument lists (mount flags dropped)."""
    commands = []
    for run in stage.arguments("RUN"):
        tokens = [t for t in shlex.split(run) if not t.startswith("--mount=")]
        if tokens[:2] == ["uv", "sync"]:
            commands.append(tokens)
    return commands


def replay_copy(arguments: str, workdir: Path) -> None:
    """`COPY src... dest` from the repository into ``workdir`` (Docker's semantics
    for files into a directory and for directory contents)."""
    *sources, dest = [a for a in arguments.split() if not a.startswith("--")]
    target = workdir / dest
    for source in sources:
        path = REPO_ROOT / source
        if path.is_dir():
            # As .dockerignore: no local node_modules, no locally installed bundle.
            shutil.copytree(path, target, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".venv",
                                                          "node_modules", "vendor"))
        else:
            into = target / path.name if dest.endswith("/") else target
            into.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, into)


def replay_npm_copy(dockerfile: Dockerfile, arguments: str, workdir: Path) -> None:
    """`COPY --from=<node stage> <file> <dest>`: the file as the same `npm ci` of the same
    lock file left it here (scripts/install-portal-assets.sh, in the directory the node
    stage copies its manifests from)."""
    stage = dockerfile.stages[arguments.split()[0].removeprefix("--from=")]
    source, dest = [a for a in arguments.split() if not a.startswith("--")]
    (stage_workdir,) = stage.arguments("WORKDIR")
    manifests = {Path(s).parent for c in stage.arguments("COPY") for s in c.split()[:-1]}
    (manifest_dir,) = manifests
    local = REPO_ROOT / manifest_dir / Path(source).relative_to(stage_workdir)
    if not local.is_file():
        pytest.fail(f"{local} is missing: run `bash scripts/install-portal-assets.sh`")
    (workdir / dest).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(local, workdir / dest)


def uv_environment(dockerfile: Dockerfile, stage: str, venv: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env.update({k: v for k, v in dockerfile.env(stage).items() if k.startswith("UV_")})
    # This machine's Python 3.11 stands for the image's; the venv goes to a temp dir.
    env.update(UV_PYTHON=sys.executable, UV_PROJECT_ENVIRONMENT=str(venv))
    return env


def replay_install(dockerfile: Dockerfile, stage: str, workdir: Path, venv: Path) -> None:
    """Runs the COPY and `uv sync` steps of ``stage`` and its parents, in order,
    offline (from uv's cache: a test never downloads)."""
    uv = os.environ.get("UV") or shutil.which("uv")
    assert uv, "uv not found"
    env = uv_environment(dockerfile, stage, venv)
    for step in reversed(dockerfile.lineage(stage)):
        for instruction in step.instructions:
            if instruction.keyword == "COPY" and "--from=" not in instruction.arguments:
                replay_copy(instruction.arguments, workdir)
            elif instruction.keyword == "COPY" and any(
                    f"--from={node.name}" in instruction.arguments
                    for node in node_stages(dockerfile)):
                replay_npm_copy(dockerfile, instruction.arguments, workdir)
            for tokens in uv_sync_commands(Stage(step.name, "", [instruction])):
                result = subprocess.run([uv, *tokens[1:], "--offline", "--quiet"], cwd=workdir,
                                        env=env, capture_output=True, text=True, timeout=300,
                                        check=False)
                if result.returncode and "offline" in result.stderr.lower():
                    pytest.skip(f"uv cache lacks a locked package: {result.stderr[-500:]}")
                assert result.returncode == 0, result.stderr


def installed_modules(venv: Path) -> set[str]:
    site_packages = next(venv.glob("lib/python3.*/site-packages"))
    return {path.name.removesuffix(".py") for path in site_packages.iterdir()}


def _module_name(distribution: str) -> str:
    return distribution.lower().replace("-", "_")


def dev_group_modules() -> set[str]:
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    names = (re.split(r"[<>=!~\[; ]", spec)[0] for spec in pyproject["dependency-groups"]["dev"])
    return {_module_name(name) for name in names}


def runtime_closure(distribution: str) -> set[str]:
    """Every package a workspace member needs at run time, from the lock file's graph.

    Extras count: the indexer needs ``finkportal-core[sky]``, whose cdshealpix needs astropy.
    """
    lock = tomllib.loads((REPO_ROOT / "uv.lock").read_text())
    packages = {p["name"]: p for p in lock["package"]}
    seen: set[tuple[str, str]] = set()  # (package, extra or "" for its base dependencies)
    pending = [(distribution, "")]
    while pending:
        name, extra = pending.pop()
        if (name, extra) in seen:
            continue
        seen.add((name, extra))
        package = packages.get(name, {})
        requires = (package.get("optional-dependencies", {}).get(extra, []) if extra
                    else package.get("dependencies", []))
        for dependency in requires:
            pending.append((dependency["name"], ""))
            pending.extend((dependency["name"], e) for e in dependency.get("extra", []))
    return {_module_name(name) for name, _ in seen}


def dev_only_modules(distribution: str) -> set[str]:
    """Dev-group packages the service does not also need at run time (astropy may be both)."""
    return dev_group_modules() - runtime_closure(distribution)


@pytest.mark.slow
@pytest.mark.parametrize("package", PACKAGES, ids=PACKAGE_IDS)
def test_replayed_install_gives_a_working_lean_venv(
        dockerfile: Dockerfile, package: ServicePackage, tmp_path: Path) -> None:
    workdir, venv = tmp_path / "src", tmp_path / "venv"
    workdir.mkdir()
    replay_install(dockerfile, f"{package.target}-venv", workdir, venv)
    modules = installed_modules(venv)
    assert package.module in modules
    assert not modules & dev_only_modules(package.project), "dev dependencies in the image"
    assert "finkportal_tools" not in modules, "another workspace member in the image"
    pth_files = " ".join(p.read_text() for p in venv.glob("lib/python3.*/site-packages/*.pth"))
    assert str(workdir) not in pth_files, "editable install: the image would need /src"
    shutil.rmtree(workdir)  # as in the final image: only the venv is copied
    assert_console_script_reads_settings(venv, package)
    if package.target == "portal":
        assert_portal_assets_installed(venv)


def assert_portal_assets_installed(venv: Path) -> None:
    """The wheel carries the loader, the CSS and the npm bundles (git-ignored, artifacts)."""
    assets = next(venv.glob("lib/python3.*/site-packages")) / "finkportal_portal" / "assets"
    assert (assets / "aladin-loader.mjs").is_file()
    assert (assets / "portal.css").is_file()
    for name, npm_path in PORTAL_BUNDLES.items():
        local = REPO_ROOT / "services/portal/node_modules" / npm_path
        assert (assets / "vendor" / name).read_bytes() == local.read_bytes()


def assert_console_script_reads_settings(venv: Path, package: ServicePackage) -> None:
    """The entry point imports every module and rejects a bad setting with a clear error."""
    (script,) = package.scripts
    bad = {f"{package.env_prefix()}LOG_JSON": "perhaps"}
    result = subprocess.run([str(venv / "bin" / script)], env={"PATH": "/usr/bin:/bin", **bad},
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode != 0
    assert "log_json" in result.stderr, result.stderr
