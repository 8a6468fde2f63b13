"""A notebook's JobSubmissionClient against a real Ray head with token authentication on (127.0.0.1): with the
token as the notebook pod gets it (RAY_AUTH_TOKEN from the team's Secret, the Jobs API from
RAY_API_SERVER_ADDRESS) or as the laptop path passes it (RAY_AUTH_TOKEN_PATH, the file `rayplat connect` writes),
a job runs; without it, the Jobs API refuses the client. Each client runs in its own interpreter, since Ray
reads the token once per process."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import processes

TOKEN = secrets.token_hex(24)
GREETING = "hello from the notebook"
NOTEBOOK_CELL = f"""
import time
import sys
from ray.job_submission import JobSubmissionClient

client = JobSubmissionClient(*sys.argv[1:])
job = client.submit_job(entrypoint="python -c \\"print('{GREETING}')\\"")
deadline = time.monotonic() + 90
while not client.get_job_status(job).is_terminal() and time.monotonic() < deadline:
    time.sleep(0.5)
print("status:", client.get_job_status(job).value)
print(client.get_job_logs(job))
"""


@pytest.fixture(scope="module")
def ray_url() -> Iterator[str]:
    with processes.ray_head(num_cpus=1, token=TOKEN) as url:
        yield url


def _run_cell(tmp_path: Path, env: dict[str, str], *address: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("RAY_AUTH", "RAY_ADDRESS", "RAY_API_SERVER"))}
    # A home of its own: Ray would otherwise find a token in ~/.ray/auth_token.
    full = {**clean, "HOME": str(tmp_path), **env}
    return subprocess.run(
        [sys.executable, "-c", NOTEBOOK_CELL, *address], env=full, capture_output=True, text=True, timeout=180
    )


def test_the_in_cluster_notebook_submits_with_the_token_from_its_environment(ray_url, tmp_path):
    env = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": TOKEN, "RAY_API_SERVER_ADDRESS": ray_url}
    done = _run_cell(tmp_path, env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "status: SUCCEEDED" in done.stdout and GREETING in done.stdout, done.stdout


def test_the_laptop_notebook_submits_with_the_token_file(ray_url, tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    token_file.chmod(0o600)
    done = _run_cell(tmp_path, {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(token_file)}, ray_url)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "status: SUCCEEDED" in done.stdout and GREETING in done.stdout, done.stdout


@pytest.mark.parametrize("env", [{}, {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": "not-the-token"}])
def test_without_the_token_the_jobs_api_refuses_the_notebook(ray_url, tmp_path, env):
    done = _run_cell(tmp_path, env, ray_url)
    assert done.returncode != 0
    assert GREETING not in done.stdout
    assert "401" in done.stderr or "uthenticat" in done.stderr or "nauthorized" in done.stderr, done.stderr[-3000:]
