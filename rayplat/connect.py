"""`rayplat connect`: a port-forward to a team's Ray head (dashboard, Jobs API) or to Grafana, the team's Ray
token fetched from its Secret into a private file, and the exact `ray job submit` line that uses it.

Everything goes through kubectl with the caller's own credentials: what the user may read is what the
cluster's RBAC lets the team's group read (its namespace, and its Ray cluster's token Secret).
"""

from __future__ import annotations

import base64
import os
import shlex
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from components.kubernetes.observability.stack import NAMESPACE as MONITORING_NAMESPACE
from components.kubernetes.raycluster import AUTH_TOKEN_KEY, auth_secret_name
from stackconfig.platform import PlatformConfig

TARGETS = ("dashboard", "jobs", "grafana")
DASHBOARD_PORT = 8265
GRAFANA_SERVICE = "kube-prometheus-stack-grafana"
GRAFANA_PORT = 80
LOCALHOST = "127.0.0.1"
READY_SECONDS = 30.0


class ConnectError(Exception):
    """The connection cannot be made: the message says why and what to do."""


@dataclass(frozen=True)
class Target:
    namespace: str
    service: str
    remote_port: int
    # The Secret holding the Ray token (None for Grafana, which has its own login).
    token_secret: str | None


def target(config: PlatformConfig, team_name: str, what: str) -> Target:
    if what not in TARGETS:
        raise ConnectError(f"'{what}' is not a target ({', '.join(TARGETS)})")
    if what == "grafana":
        if not config.observability.enabled:
            raise ConnectError("this stack installs no monitoring stack (observability.enabled is false)")
        return Target(MONITORING_NAMESPACE, GRAFANA_SERVICE, GRAFANA_PORT, None)
    teams = {team.name: team for team in config.teams}
    if team_name not in teams:
        raise ConnectError(f"no team '{team_name}' in this stack ({', '.join(teams) or 'none'})")
    team = teams[team_name]
    if team.ray_cluster is None:
        raise ConnectError(
            f"team '{team_name}' has no standing Ray cluster (teams[].rayCluster); submit RayJobs to its queue"
        )
    cluster = f"{team.name}-ray"
    return Target(team.namespace, f"{cluster}-head-svc", DASHBOARD_PORT, auth_secret_name(cluster))


class Kubectl:
    """kubectl (or a command that behaves like it), with the caller's context."""

    def __init__(self, command: Sequence[str], context: str | None = None):
        self.command = [*command, *(["--context", context] if context else [])]

    def token(self, namespace: str, secret: str) -> str:
        jsonpath = "{.data." + AUTH_TOKEN_KEY + "}"
        args = ["-n", namespace, "get", "secret", secret, "-o", f"jsonpath={jsonpath}"]
        try:
            done = subprocess.run([*self.command, *args], capture_output=True, text=True, timeout=60, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ConnectError(f"cannot run {self.command[0]}: {exc}") from None
        if done.returncode != 0 or not done.stdout.strip():
            raise ConnectError(
                f"cannot read Secret {namespace}/{secret}: {done.stderr.strip() or 'empty'} (the team's group may "
                "read it: check that your identity is mapped into the team's group)"
            )
        return base64.b64decode(done.stdout.strip()).decode()

    def port_forward(self, target: Target, port: int, log: Path) -> subprocess.Popen:
        args = ["-n", target.namespace, "port-forward", "--address", LOCALHOST]
        args += [f"svc/{target.service}", f"{port}:{target.remote_port}"]
        with log.open("wb") as output:
            return subprocess.Popen(
                [*self.command, *args], stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )


def write_token(token: str, directory: Path) -> Path:
    """The token in a file only the caller can read: Ray reads it through RAY_AUTH_TOKEN_PATH, and it never
    appears in the shell's history or the process list."""
    fd, name = tempfile.mkstemp(prefix="ray-token-", dir=directory)
    with os.fdopen(fd, "w") as file:
        file.write(token)
    os.chmod(name, 0o600)
    return Path(name)


def wait_for_port(port: int, process: subprocess.Popen, log: Path, timeout: float = READY_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with closing(socket.socket()) as sock:
            sock.settimeout(1)
            if sock.connect_ex((LOCALHOST, port)) == 0:
                return
        if process.poll() is not None or time.monotonic() > deadline:
            state = f"exited with {process.returncode}" if process.returncode is not None else f"not up in {timeout}s"
            raise ConnectError(f"the port-forward {state}: {log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.2)


def submit_line(port: int, token_file: Path) -> str:
    """The `ray job submit` a user runs while the port-forward is up (Ray 2.60 reads the token from the file
    RAY_AUTH_TOKEN_PATH names, with RAY_AUTH_MODE=token)."""
    env = f"RAY_AUTH_MODE=token RAY_AUTH_TOKEN_PATH={shlex.quote(str(token_file))}"
    return f"{env} ray job submit --address http://{LOCALHOST}:{port} --working-dir . -- python your_script.py"


def instructions(what: str, port: int, token_file: Path | None) -> list[str]:
    url = f"http://{LOCALHOST}:{port}"
    if token_file is None:
        return [f"Grafana: {url} (sign in with your SSO account, or as your platform admins tell you)"]
    lines = [f"Ray {'dashboard' if what == 'dashboard' else 'Jobs API'}: {url}"]
    lines.append(f"Ray token (readable by you only, deleted when this command ends): {token_file}")
    if what == "dashboard":
        lines.append("The dashboard asks for the token once: paste the file's content.")
    lines.append("Submit a job:")
    lines.append(f"  {submit_line(port, token_file)}")
    return lines


def connect(
    config: PlatformConfig,
    team: str,
    what: str,
    *,
    port: int | None,
    kubectl: Kubectl,
    say,
) -> int:
    """Forward, print how to use it, and hold the forward until interrupted; returns the forward's exit code
    (0 when interrupted). The token file goes with it."""
    where = target(config, team, what)
    port = port or (DASHBOARD_PORT if where.token_secret else 3000)
    with tempfile.TemporaryDirectory(prefix="rayplat-connect-") as directory:
        token_file = (
            write_token(kubectl.token(where.namespace, where.token_secret), Path(directory))
            if where.token_secret
            else None
        )
        log = Path(directory) / "port-forward.log"
        forward = kubectl.port_forward(where, port, log)
        try:
            wait_for_port(port, forward, log)
            for line in instructions(what, port, token_file):
                say(line)
            say("Ctrl-C ends the port-forward.")
            return forward.wait()
        except KeyboardInterrupt:
            return 0
        finally:
            if forward.poll() is None:
                forward.terminate()
                try:
                    forward.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    forward.kill()
                    forward.wait()
