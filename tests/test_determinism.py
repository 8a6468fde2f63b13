"""A stack's plan is the same bytes whatever the environment and whatever ran before it in the process."""

from __future__ import annotations

import os
import subprocess
import sys

from rayplat import PROJECT_ROOT
from rayplat.diff.git import RUN_CLI
from tests.conftest import planned

# Variables that reached a plan before: Ray's dashboard factory read these at plan time.
DEVELOPER_SHELL = {
    "RAY_GRAFANA_DEFAULT_DASHBOARD_UID": "from-a-shell",
    "RAY_GRAFANA_DEFAULT_GLOBAL_FILTERS": 'team="x"',
    "RAY_GRAFANA_HOST": "http://grafana.example:3000",
    "RAY_PROMETHEUS_NAME": "other",
    "PYTHONHASHSEED": "12345",
}


def _fresh_plan(tmp_path, name: str, extra_env: dict[str, str]) -> bytes:
    path = tmp_path / f"{name}.json"
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), **extra_env}
    subprocess.run(
        [sys.executable, "-c", RUN_CLI, "plan", "--stack", "dev", "--json", str(path)],
        cwd=PROJECT_ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    return path.read_bytes()


def test_a_plan_is_the_same_bytes_in_any_environment_and_after_other_plans(tmp_path):
    clean = _fresh_plan(tmp_path, "clean", {})
    assert clean == _fresh_plan(tmp_path, "shell", DEVELOPER_SHELL)
    for other in ("prod", "gcp-dev", "local"):
        planned(other)
    in_session = tmp_path / "session.json"
    planned("dev").write(in_session)
    assert in_session.read_bytes() == clean
