"""Local servers for the runbook tests: a Ray head and an S3 (moto) on 127.0.0.1.

Every server runs in its own process group, is waited for with a deadline, and is stopped by its process ids
(its process group and its descendants, found in /proc) when its context ends, also when the test fails.
`ray stop` is not used: it stops every Ray process of the user on the machine, not only the tests' own.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager, suppress
from pathlib import Path

BIN = Path(sys.executable).parent
LOCALHOST = "127.0.0.1"
STOP_GRACE_SECONDS = 5.0


def free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind((LOCALHOST, 0))
        return sock.getsockname()[1]


def answers(url: str, token: str | None = None) -> bool:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@contextmanager
def running(
    command: list[str], *, log: Path, ready: Callable[[], bool], timeout: float, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen]:
    """Start ``command`` in a new process group, wait until ``ready()``, and stop it on exit."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, env=env, start_new_session=True, stdin=subprocess.DEVNULL
        )
    try:
        _wait_until_ready(process, ready, timeout, log)
        yield process
    finally:
        stop(process)


def _wait_until_ready(process: subprocess.Popen, ready: Callable[[], bool], timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if process.poll() is not None or time.monotonic() > deadline:
            state = (
                f"exited with {process.returncode}" if process.returncode is not None else f"not ready in {timeout}s"
            )
            raise RuntimeError(f"{' '.join(process.args)} {state}:\n{log.read_text()[-3000:]}")
        time.sleep(0.25)


def stop(process: subprocess.Popen, grace: float = STOP_GRACE_SECONDS) -> None:
    """Ctrl-C to the leader (`ray start --block` then shuts its services down in order), then SIGKILL to each
    process of its group or tree still alive after ``grace`` seconds."""
    ours = _group_and_tree(process.pid)
    with suppress(ProcessLookupError):
        os.kill(process.pid, signal.SIGINT)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(_alive(pid, started) for pid, started in ours.items()):
        process.poll()
        time.sleep(0.1)
    ours.update(_group_and_tree(process.pid))
    for pid, started in ours.items():
        if _alive(pid, started):
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    process.wait(timeout=STOP_GRACE_SECONDS)


def _stat(pid: int | str) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name: state, ppid, pgid, ... (starttime is [19])."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None


def _alive(pid: int, started: str) -> bool:
    """Still running, and still the same process (never a newer one that reuses the id)."""
    fields = _stat(pid)
    return fields is not None and fields[0] != "Z" and fields[19] == started


def _group_and_tree(leader: int) -> dict[int, str]:
    """The processes in the leader's process group or below it in the tree, with their start times."""
    table = {int(path.name): fields for path in Path("/proc").glob("[0-9]*") if (fields := _stat(path.name))}
    children: dict[int, list[int]] = {}
    for pid, fields in table.items():
        children.setdefault(int(fields[1]), []).append(pid)
    found = {pid for pid, fields in table.items() if int(fields[2]) == leader}
    todo = [leader]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return {pid: table[pid][19] for pid in found if pid in table}


@contextmanager
def ray_head(num_cpus: int = 2, env: dict[str, str] | None = None, token: str | None = None) -> Iterator[str]:
    """A Ray head with its dashboard (the Jobs API) on 127.0.0.1, and ``env`` in its processes' environment;
    with ``token``, Ray's token authentication on. Yields the dashboard URL."""
    temp_dir = Path(tempfile.mkdtemp(prefix="rayplat-ray-"))  # short: Ray's socket paths live under it
    port, dashboard_port = free_port(), free_port()
    command = [
        str(BIN / "ray"),
        "start",
        "--head",
        "--block",
        f"--node-ip-address={LOCALHOST}",
        f"--port={port}",
        f"--dashboard-host={LOCALHOST}",
        f"--dashboard-port={dashboard_port}",
        f"--num-cpus={num_cpus}",
        "--include-dashboard=true",
        "--disable-usage-stats",
        f"--temp-dir={temp_dir}",
        # Ports Ray would otherwise take at fixed numbers, so that two heads on one machine do not collide.
        f"--ray-client-server-port={free_port()}",
        f"--dashboard-agent-listen-port={free_port()}",
        f"--metrics-export-port={free_port()}",
    ]
    env = {
        **os.environ,
        **(env or {}),
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",  # the job's `python` is this interpreter
        "AUTOSCALER_METRIC_PORT": str(free_port()),
        "DASHBOARD_METRIC_PORT": str(free_port()),
        "RAY_USAGE_STATS_ENABLED": "0",
        # Without a token, auth is off explicitly: Ray turns it on by itself where ~/.ray/auth_token exists.
        **({"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": token} if token else {"RAY_AUTH_MODE": "disabled"}),
    }
    url = f"http://{LOCALHOST}:{dashboard_port}"
    try:
        with running(
            command,
            log=temp_dir / "ray-start.log",
            env=env,
            timeout=60,
            ready=lambda: answers(f"{url}/api/version", token),
        ):
            yield url
    finally:
        shutil.rmtree(temp_dir, ignore_errors=True)


@contextmanager
def moto_server() -> Iterator[str]:
    """moto's server on 127.0.0.1: one endpoint for every AWS API; yields its URL."""
    port = free_port()
    url = f"http://{LOCALHOST}:{port}"
    with (
        tempfile.TemporaryDirectory(prefix="rayplat-moto-") as directory,
        running(
            [str(BIN / "moto_server"), "-H", LOCALHOST, "-p", str(port)],
            log=Path(directory) / "moto.log",
            timeout=30,
            ready=lambda: answers(f"{url}/moto-api/data.json"),
        ),
    ):
        yield url
