"""`rayplat runbook smoke-test`: submit smoke_job.py through the Ray Jobs API, wait for it, and judge its report.

Each kind of failure ends with its own message: the address unreachable, the job failed (or timed out), GPUs
expected but absent, storage denied.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ray.job_submission import JobStatus, JobSubmissionClient

from rayplat.runbooks import smoke_job
from rayplat.runbooks.progress import Progress, RunningStep, Step, StepFailed

JOB_SCRIPT = Path(smoke_job.__file__)
CONNECT_TIMEOUT_SECONDS = 10
POLL_SECONDS = 1.0
LOG_TAIL_LINES = 15
# Where `kubectl -n <ns> port-forward svc/<cluster>-head-svc 8265:8265` puts a cluster's dashboard.
PORT_FORWARD_ADDRESS = "http://127.0.0.1:8265"
# Ray's job client lets these override the address it is given.
RAY_ADDRESS_VARIABLES = ("RAY_API_SERVER_ADDRESS", "RAY_ADDRESS")
# Handed to the job with --s3-endpoint: an S3-compatible endpoint the cluster holds no credentials for.
S3_CREDENTIAL_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
)


# The object stores the job can check: S3 (and S3-compatible endpoints) and Google Cloud Storage.
STORE_SCHEMES = ("s3", "gs")
# What the job's output says when its `python` cannot import ray.
NO_RAY = "No module named 'ray'"


@dataclass(frozen=True)
class SmokeOptions:
    address: str
    expect_gpus: int = 0
    bucket: str = ""
    prefix: str = ""
    s3_endpoint: str = ""
    timeout: float = 300
    # Extra environment of the job: credentials for an S3-compatible endpoint, or RAYPLAT_SMOKE_CRASH.
    job_env: Mapping[str, str] = field(default_factory=dict)
    store: str = "s3"
    # Why there is no storage check, when there is none.
    storage_skipped: str = ""

    def env_vars(self) -> dict[str, str]:
        return {
            **self.job_env,
            "RAYPLAT_SMOKE_EXPECT_GPUS": str(self.expect_gpus),
            # Half the time for GPUs to scale up from zero, the rest for the job to start and run.
            "RAYPLAT_SMOKE_GPU_WAIT": str(int(self.timeout / 2)),
            "RAYPLAT_SMOKE_BUCKET": self.bucket,
            "RAYPLAT_SMOKE_PREFIX": self.prefix,
            "RAYPLAT_SMOKE_S3_ENDPOINT": self.s3_endpoint,
            "RAYPLAT_SMOKE_STORE": self.store,
        }


@dataclass
class SmokeResult:
    address: str
    steps: list[Step]
    job_id: str | None = None
    resources: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "address": self.address,
            "jobId": self.job_id,
            "seconds": round(self.seconds, 3),
            "resources": self.resources,
            "steps": [step.to_dict() for step in self.steps],
            "error": self.error,
        }

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n")


def options_from(
    *,
    address: str | None,
    outputs: Mapping[str, Any] | None,
    expect_gpus: int,
    storage_uri: str | None,
    s3_endpoint: str | None,
    timeout: float,
    environ: Mapping[str, str] = os.environ,
) -> SmokeOptions:
    """The options of one run from the command line and, when given, the stack outputs. ValueError on bad input."""
    if address is None and outputs is None:
        raise ValueError("give --address URL (the Ray dashboard), or --stack S [--outputs FILE]")
    address = address or PORT_FORWARD_ADDRESS
    _check_address(address, environ)
    if expect_gpus < 0 or timeout <= 0:
        raise ValueError("--expect-gpus must be 0 or more, and --timeout more than 0")
    storage_uri = storage_uri or _default_storage_uri(outputs or {})
    store, bucket, prefix = split_storage_uri(storage_uri) if storage_uri else ("s3", "", "")
    endpoint = s3_endpoint or (outputs or {}).get("objectStoreEndpoint") or ""
    # The stack's own store is reached with the workers' credentials (IRSA, or the object store Secret).
    credentials = {name: environ[name] for name in S3_CREDENTIAL_VARIABLES if s3_endpoint and name in environ}
    skipped = "" if storage_uri else _storage_skip_reason(outputs)
    return SmokeOptions(address, expect_gpus, bucket, prefix, endpoint, timeout, credentials, store, skipped)


def _storage_skip_reason(outputs: Mapping[str, Any] | None) -> str:
    if outputs is None:
        return "no --storage-uri, and no stack (--stack or --outputs) to take the artifact bucket from"
    return (
        "the stack's artifactBucketUri is known only after `pulumi up`: give --outputs (from "
        "`pulumi stack output --json`) or --storage-uri"
    )


def _check_address(address: str, environ: Mapping[str, str]) -> None:
    parts = urlsplit(address)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"--address must be the Ray dashboard's URL, like {PORT_FORWARD_ADDRESS}, not '{address}'")
    for name in RAY_ADDRESS_VARIABLES:
        if environ.get(name, address) != address:
            raise ValueError(f"{name}={environ[name]} would override --address {address} in Ray's job client: unset it")


def _default_storage_uri(outputs: Mapping[str, Any]) -> str | None:
    """The stack's artifact bucket (s3:// or gs://), when the outputs know it."""
    uri = outputs.get("artifactBucketUri")
    return uri if isinstance(uri, str) and urlsplit(uri).scheme in STORE_SCHEMES else None


def split_storage_uri(uri: str) -> tuple[str, str, str]:
    """``s3://bucket/prefix`` or ``gs://bucket/prefix`` as (scheme, bucket, prefix)."""
    parts = urlsplit(uri)
    if parts.scheme not in STORE_SCHEMES or not parts.netloc:
        raise ValueError(f"--storage-uri must look like s3://bucket/prefix or gs://bucket/prefix, not '{uri}'")
    return parts.scheme, parts.netloc, parts.path.strip("/")


def run_smoke_test(options: SmokeOptions, progress: Progress) -> SmokeResult:
    start = time.monotonic()
    result = _smoke_test(options, progress)
    result.seconds = time.monotonic() - start
    return result


def _smoke_test(options: SmokeOptions, progress: Progress) -> SmokeResult:
    result = SmokeResult(options.address, progress.steps)
    try:
        with progress.step("connect") as step:
            client = _connect(options.address, step)
        with progress.step("submit") as step, _jobs_api(options.address, "the submission"):
            result.job_id = step.detail = _submit(client, options)
        with progress.step("run job") as step, _jobs_api(options.address, "a request about the job"):
            report = _run(client, result.job_id, options.timeout, step)
    except StepFailed as exc:
        result.error = str(exc)
        return result
    result.resources = report.get("resources", {})
    reported = [Step(**step) for step in report.get("steps", [])]
    for done in reported:
        progress.record(done)
    if options.storage_skipped:
        progress.skip("storage", options.storage_skipped)
    # The job's own failed check says what went wrong; the failed job step only that one did.
    failed = [step for step in reported if not step.ok] or [step for step in progress.steps if not step.ok]
    result.error = failed[0].detail if failed else None
    return result


def _connect(address: str, step: RunningStep) -> JobSubmissionClient:
    parts = urlsplit(address)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((parts.hostname, port), timeout=CONNECT_TIMEOUT_SECONDS).close()
    except OSError as exc:
        raise StepFailed(
            f"address unreachable: nothing answers at {address} ({exc.strerror or exc}); "
            "is the Ray head running, and the port-forward to its dashboard (port 8265) open?"
        ) from None
    try:
        client = JobSubmissionClient(address)
    except (OSError, RuntimeError, ValueError) as exc:
        raise StepFailed(f"address unreachable: {address} does not serve the Ray Jobs API ({exc})") from None
    step.detail = f"Ray Jobs API at {address}"
    return client


@contextmanager
def _jobs_api(address: str, request: str) -> Iterator[None]:
    """The Jobs API's own errors as the smoke test's kinds of failure."""
    try:
        yield
    except OSError as exc:
        raise StepFailed(f"address unreachable: {address} stopped answering ({exc})") from None
    except RuntimeError as exc:
        raise StepFailed(f"job failed: the Jobs API refused {request} ({exc})") from None


def _submit(client: JobSubmissionClient, options: SmokeOptions) -> str:
    """Submit the job with smoke_job.py alone as its working directory; its submission id."""
    submission_id = f"rayplat-smoke-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="rayplat-smoke-") as directory:
        shutil.copy(JOB_SCRIPT, Path(directory) / JOB_SCRIPT.name)
        return client.submit_job(
            entrypoint=f"python {JOB_SCRIPT.name}",
            submission_id=submission_id,
            runtime_env={"working_dir": directory, "env_vars": options.env_vars()},
            metadata={"rayplat": "smoke-test"},
        )


def _run(client: JobSubmissionClient, job_id: str, timeout: float, step: RunningStep) -> dict[str, Any]:
    """Wait for the job to end; its report. A job that fails before it reports is a failed job."""
    status = _wait(client, job_id, timeout, step)
    logs = client.get_job_logs(job_id)
    report = _report(logs)
    if report is None:
        tail = "\n".join(logs.strip().splitlines()[-LOG_TAIL_LINES:])
        if NO_RAY in logs:
            raise StepFailed(f"job failed: {NO_RAY_MESSAGE}\n{tail}")
        # Ray's message repeats the job's logs: its first line only, then the logs' tail once.
        message = (client.get_job_info(job_id).message or status.value).splitlines()[0]
        raise StepFailed(f"job failed: {job_id} ended {status.value}: {message}\n{tail}".rstrip())
    step.ok = status == JobStatus.SUCCEEDED
    step.detail = f"{job_id} {status.value}" + ("" if step.ok else ": a check failed, see below")
    return report


NO_RAY_MESSAGE = (
    "the job's `python` has no `ray` module. Ray runs the entrypoint `python smoke_job.py` with the `python` on "
    "the PATH of the process that started Ray: a head started as `.venv/bin/ray start --head` without activating "
    "the virtualenv finds another one. Stop Ray (`ray stop`), then start it with the virtualenv activated: "
    "`source .venv/bin/activate && ray start --head`"
)


def _wait(client: JobSubmissionClient, job_id: str, timeout: float, step: RunningStep) -> JobStatus:
    start = time.monotonic()
    while True:
        status = client.get_job_status(job_id)
        elapsed = time.monotonic() - start
        if status.is_terminal():
            return status
        if elapsed > timeout:
            client.stop_job(job_id)
            raise StepFailed(f"job failed: timed out after {timeout:g}s, {job_id} was still {status.value}; stopped it")
        step.update(f"{job_id} {status.value} {elapsed:.0f}s")
        time.sleep(POLL_SECONDS)


def _report(logs: str) -> dict[str, Any] | None:
    lines = [line for line in logs.splitlines() if line.startswith(smoke_job.RESULT_MARKER + " ")]
    return json.loads(lines[-1].removeprefix(smoke_job.RESULT_MARKER + " ")) if lines else None
