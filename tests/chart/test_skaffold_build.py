"""skaffold's custom build step, run as skaffold runs it (skaffold itself cannot be installed here): for each
artifact of skaffold.yaml, its buildCommand with IMAGE set to the tag skaffold would pick and PUSH_IMAGE=false
(a kind cluster loads images, nothing is pushed). It must give exactly the image `make images` built and
tested: the image images.sh builds, under skaffold's tag. Skipped where `make images` has not run (no podman, or
no image of that name)."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import uuid

import pytest
import yaml
from nowplaying.common.config import PROJECT_ROOT

pytestmark = [pytest.mark.slow]

TAG = "0.1.0"  # pyproject's version, the tag of `make images`

ARTIFACTS = yaml.safe_load((PROJECT_ROOT / "skaffold.yaml").read_text())["build"]["artifacts"]


def image_id(ref: str) -> str | None:
    out = subprocess.run(
        ["podman", "image", "inspect", "--format", "{{.Id}}", ref], capture_output=True, text=True, timeout=60
    )
    return out.stdout.strip() if out.returncode == 0 else None


@pytest.mark.parametrize("artifact", ARTIFACTS, ids=[a["image"] for a in ARTIFACTS])
def test_the_custom_build_gives_the_image_make_images_built(artifact: dict[str, object]) -> None:
    name = str(artifact["image"])
    if shutil.which("podman") is None:
        pytest.skip("podman is not installed (make setup installs it)")
    make_images_ref = f"docker.io/library/{name}:{TAG}"
    if image_id(make_images_ref) is None:
        pytest.skip(f"no image docker.io/library/{name}:{TAG} yet: run make images")
    skaffold_tag = f"localhost/{name}:skaffold-{uuid.uuid4().hex[:7]}"
    command = shlex.split(str(artifact["custom"]["buildCommand"]))  # type: ignore[index]
    env = {**os.environ, "IMAGE": skaffold_tag, "PUSH_IMAGE": "false", "BUILD_CONTEXT": str(PROJECT_ROOT)}
    try:
        result = subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=900)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
        # the image under skaffold's tag is the one images.sh built and tagged for `make images`
        assert image_id(skaffold_tag) == image_id(make_images_ref) is not None
    finally:
        # with a name, untag removes that name only (without one, every tag of the image)
        subprocess.run(["podman", "untag", skaffold_tag, skaffold_tag], capture_output=True, timeout=60)
    assert image_id(make_images_ref) is not None, "the test removed make images' tag"
