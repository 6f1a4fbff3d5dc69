"""Dockerfiles and skaffold.yaml: pinned bases, commands that exist, a valid skaffold config.

There is no Docker engine here, so the images are checked as text against the package they run:
every base image is pinned, every command names an entry point that exists (the ``nowplaying``
console script and one of its subcommands, or a file of the repository copied into the image), and
the chart runs only subcommands that exist.
"""

from __future__ import annotations

import importlib.metadata
import json
import re
import shlex
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from nowplaying.common.config import PROJECT_ROOT

from tests.chart.tooling import SHARED_SCHEMAS, VALUES_DIR, helm_template, load_docs

DOCKERFILES = {
    "python": PROJECT_ROOT / "Dockerfile",
    "spark": PROJECT_ROOT / "spark-jobs" / "Dockerfile",
    "frontend": PROJECT_ROOT / "frontend" / "Dockerfile",
}
RUNTIME_REQUIREMENTS = PROJECT_ROOT / "docker" / "requirements-runtime.txt"


def instructions(path: Path) -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` with continuation lines joined and comments dropped; ``${ARG}`` in a FROM
    line is replaced by the default of the global ARG (the public base a plain ``docker build`` uses)."""
    out: list[tuple[str, str]] = []
    pending = ""
    global_args: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        keyword, _, rest = line.partition(" ")
        keyword, rest = keyword.upper(), rest.strip()
        if keyword == "ARG" and not any(kw == "FROM" for kw, _ in out):
            name, _, default = rest.partition("=")
            global_args[name] = default
        if keyword == "FROM":
            rest = re.sub(r"\$\{(\w+)\}", lambda m: global_args[m.group(1)], rest)
        out.append((keyword, rest))
    return out


def base_args(path: Path) -> dict[str, str]:
    """The global ARGs (before the first FROM) and their defaults."""
    args: dict[str, str] = {}
    for kw, rest in instructions(path):
        if kw == "FROM":
            break
        if kw == "ARG":
            name, _, default = rest.partition("=")
            args[name] = default
    return args


def exec_form(arguments: str) -> list[str]:
    value = json.loads(arguments) if arguments.startswith("[") else shlex.split(arguments)
    assert isinstance(value, list)
    return [str(v) for v in value]


def subcommands() -> set[str]:
    from nowplaying.cli import build_parser

    parser = build_parser()
    for action in parser._subparsers._group_actions if parser._subparsers else []:
        choices = getattr(action, "choices", None)
        if choices:
            return set(choices)
    raise AssertionError("the nowplaying parser has no subcommands")


def console_scripts() -> dict[str, str]:
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())
    scripts: dict[str, str] = project["project"]["scripts"]
    return scripts


@pytest.mark.parametrize("name", sorted(DOCKERFILES))
def test_base_images_are_pinned(name: str) -> None:
    path = DOCKERFILES[name]
    stages: set[str] = set()
    froms = [args for kw, args in instructions(path) if kw == "FROM"]
    assert len(froms) >= 2, f"{path} is not multi-stage"
    for args in froms:
        parts = args.split()
        image = parts[0]
        if len(parts) >= 3 and parts[1].upper() == "AS":
            stages.add(parts[2])
        if image in stages:
            continue
        tag = image.rsplit("/", 1)[-1].partition(":")[2]
        assert "@sha256:" in image or (tag and tag != "latest" and re.search(r"\d", tag)), (
            f"{path.relative_to(PROJECT_ROOT)}: base image {image} is not pinned to a versioned tag or digest"
        )


@pytest.mark.parametrize("name", sorted(DOCKERFILES))
def test_every_base_comes_in_through_a_build_arg(name: str) -> None:
    """`make images` swaps the bases for stand-ins with --build-arg; a literal base could not be swapped."""
    path = DOCKERFILES[name]
    raw_froms = [line.split()[1] for line in path.read_text().splitlines() if line.upper().startswith("FROM ")]
    stages = {line.split()[3] for line in path.read_text().splitlines() if re.match(r"(?i)FROM \S+ AS \S+", line)}
    args = base_args(path)
    for image in raw_froms:
        if image in stages:
            continue
        match = re.fullmatch(r"\$\{(\w+)\}", image)
        assert match and args.get(match.group(1)), f"{path.relative_to(PROJECT_ROOT)}: FROM {image} is not ${{ARG}}"
    used = set(re.findall(r"\$\{(\w+)\}", " ".join(raw_froms)))
    images_sh = (PROJECT_ROOT / "scripts" / "cluster" / "images.sh").read_text()
    for arg in used:
        assert f"{arg}=" in images_sh, f"make images passes no stand-in for {arg}"


@pytest.mark.parametrize("name", sorted(DOCKERFILES))
def test_runs_as_non_root_without_secrets(name: str) -> None:
    path = DOCKERFILES[name]
    steps = instructions(path)
    final = steps[max(i for i, (kw, _) in enumerate(steps) if kw == "FROM") :]
    users = [args for kw, args in final if kw == "USER"]
    assert users, f"{path}: the final stage sets no USER"
    assert users[-1].split(":")[0] not in ("root", "0")
    for kw, args in steps:
        if kw in ("ENV", "ARG"):
            assert not re.search(r"(TOKEN|SECRET|PASSWORD)\s*=", args.upper()), f"{path}: {kw} {args}"


def test_python_image_runs_the_console_script() -> None:
    steps = instructions(DOCKERFILES["python"])
    entrypoint = exec_form(next(args for kw, args in reversed(steps) if kw == "ENTRYPOINT"))
    cmd = exec_form(next(args for kw, args in reversed(steps) if kw == "CMD"))
    assert entrypoint == ["nowplaying"]
    assert console_scripts()["nowplaying"] == "nowplaying.cli:main"
    assert cmd[0] in subcommands()
    assert any(kw == "RUN" and "pip install" in args and "requirements-runtime.txt" in args for kw, args in steps)


def test_spark_image_runs_the_spark_job() -> None:
    steps = instructions(DOCKERFILES["spark"])
    bases = [args.split()[0] for kw, args in steps if kw == "FROM"]
    assert bases[-1].startswith("apache/spark:3.5.") and "python3" in bases[-1]
    cmd = exec_form(next(args for kw, args in reversed(steps) if kw == "CMD"))
    assert cmd[0] == "/opt/spark/bin/spark-submit"
    app = next(c for c in cmd if c.endswith(".py"))
    copies = [exec_form(args) if args.startswith("[") else args.split() for kw, args in steps if kw == "COPY"]
    # The file the command runs is copied from the repository: /opt/nowplaying/spark-jobs <- spark-jobs.
    source = next(c[-2] for c in copies if c[-1] == "/opt/nowplaying/spark-jobs")
    local = PROJECT_ROOT / source / Path(app).relative_to("/opt/nowplaying/spark-jobs")
    assert local.is_file(), f"the Spark image runs {app}, but {local.relative_to(PROJECT_ROOT)} does not exist"
    assert cmd[-1] in subcommands()
    # The connector jars are baked in from the same pom `make setup` uses.
    assert any("scripts/spark-runtime/pom.xml" in args for kw, args in steps if kw == "COPY")


def test_frontend_image_serves_the_build() -> None:
    steps = instructions(DOCKERFILES["frontend"])
    bases = [args.split()[0] for kw, args in steps if kw == "FROM"]
    assert bases[-1].startswith("nginxinc/nginx-unprivileged:")
    conf = PROJECT_ROOT / "frontend" / "docker" / "nginx.conf"
    assert any(kw == "COPY" and "docker/nginx.conf" in args for kw, args in steps)
    text = conf.read_text()
    assert "listen 8080;" in text and "location = /healthz" in text
    package = json.loads((PROJECT_ROOT / "frontend" / "package.json").read_text())
    assert "build" in package["scripts"]
    assert any(kw == "RUN" and "npm run build" in args for kw, args in steps)


def test_chart_runs_only_existing_subcommands() -> None:
    known = subcommands()
    for values in sorted(VALUES_DIR.glob("*.yaml")):
        for doc in load_docs(helm_template(values)):
            spec: Any = doc.get("spec", {})
            if doc["kind"] == "CronJob":
                spec = spec["jobTemplate"]["spec"]
            pod = spec.get("template", {}).get("spec", {}) if isinstance(spec.get("template"), dict) else {}
            for container in pod.get("containers", []):
                if container["image"].split(":")[0].endswith("nowplaying") and "command" not in container:
                    assert container["args"][0] in known, (values.name, doc["metadata"]["name"], container["args"])


def test_runtime_requirements_cover_every_import() -> None:
    """The image installs docker/requirements-runtime.txt: every third-party import of the services is there."""
    listed = {
        re.split(r"[<>=\[ ]", line.strip())[0].lower().replace("_", "-")
        for line in RUNTIME_REQUIREMENTS.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    locked = {
        line.split("==")[0].lower().replace("_", "-")
        for line in (PROJECT_ROOT / "requirements.lock").read_text().splitlines()
        if "==" in line
    }
    assert listed <= locked, f"not in requirements.lock: {listed - locked}"
    dists = importlib.metadata.packages_distributions()
    missing: dict[str, str] = {}
    for root in (PROJECT_ROOT / "services", PROJECT_ROOT / "spark-jobs"):
        for path in root.rglob("*.py"):
            for match in re.finditer(r"^\s*(?:from|import)\s+([A-Za-z_][A-Za-z0-9_]*)", path.read_text(), re.M):
                module = match.group(1)
                if module in sys.stdlib_module_names or module in ("nowplaying", "nowplaying_spark", "pyspark"):
                    continue
                for dist in dists.get(module, [module]):
                    if dist.lower().replace("_", "-") not in listed:
                        missing[module] = str(path.relative_to(PROJECT_ROOT))
    assert not missing, f"imports not installed in the image (add to {RUNTIME_REQUIREMENTS.name}): {missing}"


def test_skaffold_config_is_valid() -> None:
    import jsonschema_rs

    config = yaml.safe_load((PROJECT_ROOT / "skaffold.yaml").read_text())
    version = config["apiVersion"].split("/")[1]
    assert version in ("v4beta13", "v4beta14")
    schema_path = SHARED_SCHEMAS / f"skaffold-{version}.json"
    if not schema_path.is_file():
        pytest.skip(f"{schema_path} is absent")
    validator = jsonschema_rs.Draft7Validator(json.loads(schema_path.read_text()))
    errors = [str(e) for e in validator.iter_errors(config)]
    assert not errors, "\n".join(errors)
    # A typo is caught by the same schema.
    broken = json.loads(json.dumps(config))
    broken["build"]["artifacts"][0]["customm"] = broken["build"]["artifacts"][0].pop("custom")
    assert list(validator.iter_errors(broken))

    artifacts = {a["image"]: a for a in config["build"]["artifacts"]}
    assert set(artifacts) == {"nowplaying", "nowplaying-spark", "nowplaying-frontend"}
    # Each artifact is built by the same script as `make images` (a custom build step), for its own image.
    build_script = PROJECT_ROOT / "scripts" / "cluster" / "skaffold-build.sh"
    assert "images.sh" in build_script.read_text()
    for image, artifact in artifacts.items():
        command = artifact["custom"]["buildCommand"].split()
        assert command == ["scripts/cluster/skaffold-build.sh", image], command
        assert (PROJECT_ROOT / artifact["context"] / command[0]).is_file()
        dockerfile = artifact["custom"]["dependencies"].get("dockerfile", {}).get("path")
        if dockerfile:
            assert (PROJECT_ROOT / artifact["context"] / dockerfile).is_file()
    (release,) = config["deploy"]["helm"]["releases"]
    assert (PROJECT_ROOT / release["chartPath"] / "Chart.yaml").is_file()
    templates = release["setValueTemplates"]
    for key, artifact in (("python", "nowplaying"), ("spark", "nowplaying_spark"), ("frontend", "nowplaying_frontend")):
        assert templates[f"images.{key}.repository"] == f"{{{{.IMAGE_REPO_{artifact}}}}}"
        assert f"{{{{.IMAGE_TAG_{artifact}}}}}" in templates[f"images.{key}.tag"]
    profiles = {p["name"]: p for p in config["profiles"]}
    assert {"kind", "sandbox"} <= set(profiles)
    assert profiles["kind"]["build"]["local"]["push"] is False
    kind_values = profiles["kind"]["patches"][0]["value"]
    for values in kind_values:
        assert (PROJECT_ROOT / values).is_file()
        helm_template(PROJECT_ROOT / values)  # renders (and passes values.schema.json)
