"""The local cluster's CoreDNS is built with only the plugins its Corefile uses (scripts/cluster/build.sh):
every directive of the Corefile in addons.yaml must be one of COREDNS_PLUGINS, or CoreDNS refuses to start
("Unknown directive") and no Service resolves by name."""

from __future__ import annotations

import re
import subprocess

import yaml
from nowplaying.common.config import PROJECT_ROOT

CLUSTER_SCRIPTS = PROJECT_ROOT / "scripts" / "cluster"


def built_plugins() -> set[str]:
    out = subprocess.run(
        ["bash", "-c", f'. "{CLUSTER_SCRIPTS / "versions.sh"}" && echo "$COREDNS_PLUGINS"'],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return set(out.stdout.split())


def corefile_directives() -> set[str]:
    text = re.sub(r"@[A-Z_]+@", "placeholder", (CLUSTER_SCRIPTS / "addons.yaml").read_text())  # cluster.sh's sed
    docs = list(yaml.safe_load_all(text))
    corefile = next(
        d["data"]["Corefile"] for d in docs if d and d.get("kind") == "ConfigMap" and "Corefile" in d.get("data", {})
    )
    directives = set()
    depth = 0
    for line in corefile.splitlines():
        words = line.split()
        if not words or words[0] == "}":
            depth -= line.count("}")
            continue
        if depth == 1:  # a directive of the server block; deeper lines are a directive's own options
            directives.add(words[0])
        depth += line.count("{") - line.count("}")
    return directives


def test_every_corefile_directive_is_a_built_plugin() -> None:
    directives = corefile_directives()
    assert {"kubernetes", "ready", "health"} <= directives, directives
    missing = directives - built_plugins()
    assert not missing, f"the Corefile uses plugins CoreDNS is not built with: {sorted(missing)}"


def test_the_plugins_are_coredns_plugin_packages() -> None:
    assert all(re.fullmatch(r"[a-z0-9]+", p) for p in built_plugins())
