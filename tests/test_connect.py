"""`rayplat connect` against a real Ray head with token authentication on (127.0.0.1), kubectl played by
tests/fake_kubectl.py: the token is fetched from the team's Secret into a private file, the port-forward names
the team's head service, and the printed `ray job submit` line runs a job, which the same line without the
token cannot."""

from __future__ import annotations

import json
import os
import queue
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rayplat import PROJECT_ROOT
from rayplat.cli import app
from tests import processes

TOKEN = secrets.token_hex(24)
FAKE_KUBECTL = f"{sys.executable} {Path(__file__).with_name('fake_kubectl.py')}"
runner = CliRunner()


@pytest.fixture(scope="module")
def ray_url() -> Iterator[str]:
    with processes.ray_head(num_cpus=1, token=TOKEN) as url:
        yield url


def _env(tmp_path: Path, ray_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_AUTH")}
    return {
        **env,
        "PATH": f"{processes.BIN}{os.pathsep}{env.get('PATH', '')}",
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": str(PROJECT_ROOT),
        "FAKE_FORWARD_TO": ray_url.removeprefix("http://"),
        "FAKE_KUBECTL_LOG": str(tmp_path / "kubectl.log"),
        **extra,
    }


def _lines(process: subprocess.Popen) -> queue.Queue:
    lines: queue.Queue = queue.Queue()

    def read() -> None:
        for line in process.stdout:
            lines.put(line.rstrip("\n"))

    threading.Thread(target=read, daemon=True).start()
    return lines


def _until(lines: queue.Queue, text: str, timeout: float = 60) -> list[str]:
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            seen.append(lines.get(timeout=max(0.1, deadline - time.monotonic())))
        except queue.Empty:
            break
        if text in seen[-1]:
            return seen
    raise AssertionError(f"no line with {text!r} in {timeout}s: {seen}")


def test_the_printed_submit_line_runs_a_job_on_a_cluster_with_token_auth(ray_url, tmp_path):
    port = processes.free_port()
    env = _env(tmp_path, ray_url, FAKE_RAY_TOKEN=TOKEN)
    command = [sys.executable, "-c", "from rayplat.cli import app; app()", "connect", "jobs", "--stack", "dev"]
    command += ["--team", "vision"]
    command += ["--port", str(port), "--kubectl", FAKE_KUBECTL]
    # Its own session: stopped with its port-forward child by process id, also when the test fails.
    connect = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, start_new_session=True
    )
    try:
        printed = _until(_lines(connect), "ray job submit")
        token_line = next(line for line in printed if line.startswith("Ray token"))
        token_file = Path(token_line.rsplit(": ", 1)[1])
        assert token_file.read_text() == TOKEN and token_file.stat().st_mode & 0o777 == 0o600
        assert TOKEN not in "\n".join(printed)
        submit = printed[-1].strip()
        assert submit.startswith("RAY_AUTH_MODE=token RAY_AUTH_TOKEN_PATH=")
        assert f"ray job submit --address http://127.0.0.1:{port} " in submit

        (tmp_path / "work").mkdir()
        (tmp_path / "work" / "your_script.py").write_text(
            "import ray\n"
            "ray.init()\n"
            "print('cpus', ray.get(ray.remote(lambda: ray.cluster_resources()['CPU']).remote()))\n"
        )
        job = subprocess.run(
            submit, shell=True, cwd=tmp_path / "work", env=env, capture_output=True, text=True, timeout=240
        )
        assert job.returncode == 0, job.stdout + job.stderr
        assert "cpus 1.0" in job.stdout and "succeeded" in job.stdout

        without_token = submit.split(" ray job submit ", 1)[1]
        refused = subprocess.run(
            f"ray job submit {without_token}",
            shell=True,
            cwd=tmp_path / "work",
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
        )
        assert refused.returncode != 0
        assert "auth" in (refused.stdout + refused.stderr).lower()
    finally:
        processes.stop(connect, grace=30)  # Ctrl-C first, as a user ends the forward
    assert connect.returncode == 0
    assert not token_file.exists()
    calls = [json.loads(line) for line in (tmp_path / "kubectl.log").read_text().splitlines()]
    assert calls[0] == ["-n", "team-vision", "get", "secret", "vision-ray-auth", "-o", "jsonpath={.data.auth_token}"]
    assert calls[1] == [
        "-n",
        "team-vision",
        "port-forward",
        "--address",
        "127.0.0.1",
        "svc/vision-ray-head-svc",
        f"{port}:8265",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["jobs", "--stack", "dev", "--team", "search"], "no team 'search' in this stack (vision, nlp)"),
        (["jobs", "--stack", "dev", "--team", "nlp"], "team 'nlp' has no standing Ray cluster"),
        (["jobs", "--stack", "dev"], "--team is required for jobs"),
        (["shell", "--stack", "dev", "--team", "vision"], "'shell' is not a target (dashboard, jobs, grafana)"),
        (["dashboard", "--stack", "dev", "--team", "vision"], "cannot read Secret team-vision/vision-ray-auth"),
    ],
)
def test_bad_input_or_no_access_exits_2(tmp_path, monkeypatch, args, message):
    monkeypatch.setenv("FAKE_KUBECTL_LOG", str(tmp_path / "kubectl.log"))
    monkeypatch.delenv("FAKE_RAY_TOKEN", raising=False)
    result = runner.invoke(app, ["connect", *args, "--kubectl", FAKE_KUBECTL])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
