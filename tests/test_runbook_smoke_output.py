"""What the smoke test and the audit print, without a Ray head: a failed step is marked ✗, a failing job's log is
shown once, a storage check that cannot run is "skipped" with its reason, gs:// buckets are checked through GCS's
JSON API, and a job whose `python` lacks ray says so and how to fix it."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from ray.job_submission import JobStatus
from rich.console import Console

from rayplat.runbooks import smoke
from rayplat.runbooks.progress import Progress
from rayplat.runbooks.smoke import NO_RAY_MESSAGE, SmokeOptions, options_from
from rayplat.runbooks.smoke_job import RESULT_MARKER, CheckFailed, GcsObjects, roundtrip


def _progress() -> tuple[Progress, Console]:
    console = Console(record=True, width=200)
    return Progress(console), console


def test_a_step_that_ran_but_found_a_problem_is_marked_failed():
    progress, console = _progress()
    with progress.step("node groups") as step:
        step.detail, step.ok = "1 finding(s)", False
    with progress.step("GPU instances") as step:
        step.detail = "as the stack says"
    progress.skip("storage", "no bucket")
    lines = console.export_text().splitlines()
    assert lines[0].startswith("✗ node groups") and lines[0].endswith("1 finding(s)")
    assert lines[1].startswith("✓ GPU instances")
    assert lines[2] == "- storage skipped: no bucket"
    assert [(s.ok, s.skipped) for s in progress.steps] == [(False, False), (True, False), (True, True)]


class _Client:
    """The calls the smoke test makes of Ray's JobSubmissionClient, answering as a finished job."""

    def __init__(self, status: JobStatus, logs: str, message: str = ""):
        self.status, self.logs, self.message = status, logs, message

    def submit_job(self, **_) -> str:
        return "rayplat-smoke-test"

    def get_job_status(self, _: str) -> JobStatus:
        return self.status

    def get_job_logs(self, _: str) -> str:
        return self.logs

    def get_job_info(self, _: str):
        return type("Info", (), {"message": self.message})()


@pytest.fixture
def client(monkeypatch) -> Iterator[list[_Client]]:
    holder: list[_Client] = []
    monkeypatch.setattr(smoke, "_connect", lambda address, step: holder[0])
    yield holder


def _run(client_holder, fake: _Client, options: SmokeOptions | None = None):
    client_holder.append(fake)
    progress, console = _progress()
    result = smoke.run_smoke_test(options or SmokeOptions("http://127.0.0.1:8265"), progress)
    return result, console.export_text()


def test_a_job_whose_check_failed_marks_the_run_job_step_failed_and_reports_the_check(client):
    steps = [{"name": "actor", "ok": False, "seconds": 0.1, "detail": "actor counted [1], expected [1, 2, 3]"}]
    logs = f"{RESULT_MARKER} {json.dumps({'resources': {'CPU': 2}, 'steps': steps})}\n"
    result, text = _run(client, _Client(JobStatus.FAILED, logs))
    assert "✗ run job" in text and "✓ run job" not in text
    assert result.error == "actor counted [1], expected [1, 2, 3]"


def test_a_failing_job_log_is_shown_once(client):
    logs = "Traceback (most recent call last):\nRuntimeError: RAYPLAT_SMOKE_CRASH is set\n"
    message = f"Job entrypoint command failed with exit code 1, last available logs (truncated):\n{logs}"
    result, text = _run(client, _Client(JobStatus.FAILED, logs, message))
    assert text.count("RAYPLAT_SMOKE_CRASH is set") == 1
    assert result.error is not None and result.error.count("RAYPLAT_SMOKE_CRASH is set") == 1
    assert result.error.startswith("job failed: rayplat-smoke-test ended FAILED: Job entrypoint command failed")


def test_a_job_whose_python_lacks_ray_says_so_and_how_to_fix_it(client):
    logs = "Traceback (most recent call last):\n  import ray\nModuleNotFoundError: No module named 'ray'\n"
    result, _ = _run(client, _Client(JobStatus.FAILED, logs, "exit code 1"))
    assert result.error is not None and result.error.startswith(f"job failed: {NO_RAY_MESSAGE}")
    assert "source .venv/bin/activate && ray start --head" in NO_RAY_MESSAGE


def _options(outputs: dict | None, storage_uri: str | None = None) -> SmokeOptions:
    address = "http://127.0.0.1:8265"
    return options_from(
        address=address, outputs=outputs, expect_gpus=0, storage_uri=storage_uri, s3_endpoint=None, timeout=5
    )


def test_a_storage_check_that_cannot_run_is_skipped_with_its_reason(client):
    logs = f"{RESULT_MARKER} {json.dumps({'resources': {}, 'steps': []})}\n"
    options = _options(outputs={})
    result, text = _run(client, _Client(JobStatus.SUCCEEDED, logs), options)
    assert result.ok
    assert "- storage skipped: the stack's artifactBucketUri is known only after `pulumi up`" in " ".join(text.split())
    no_stack = _options(outputs=None)
    assert no_stack.storage_skipped.startswith("no --storage-uri")


def test_gs_uris_are_accepted_from_the_command_line_and_the_stack_outputs():
    given = _options(outputs=None, storage_uri="gs://b/p")
    assert (given.store, given.bucket, given.prefix, given.storage_skipped) == ("gs", "b", "p", "")
    stack = _options(outputs={"artifactBucketUri": "gs://ray-gcp-dev-artifacts"})
    assert (stack.store, stack.bucket) == ("gs", "ray-gcp-dev-artifacts")
    assert stack.env_vars()["RAYPLAT_SMOKE_STORE"] == "gs"


class _Gcs(BaseHTTPRequestHandler):
    """The three calls of GCS's JSON API the job makes, on one bucket, objects in memory."""

    bucket = "artifacts"
    objects: dict[str, bytes] = {}

    def _reply(self, code: int, body: bytes = b"") -> None:
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:  # noqa: N802
        url = urlsplit(self.path)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if url.path != f"/upload/storage/v1/b/{self.bucket}/o":
            return self._reply(404)
        self.objects[parse_qs(url.query)["name"][0]] = body
        return self._reply(200, b"{}")

    def _key(self) -> str | None:
        prefix = f"/storage/v1/b/{self.bucket}/o/"
        path = urlsplit(self.path).path
        return unquote(path.removeprefix(prefix)) if path.startswith(prefix) else None

    def do_GET(self) -> None:  # noqa: N802
        key = self._key()
        self._reply(200, self.objects[key]) if key in self.objects else self._reply(404)

    def do_DELETE(self) -> None:  # noqa: N802
        key = self._key()
        self._reply(204) if self.objects.pop(key or "", None) is not None else self._reply(404)

    def log_message(self, *_) -> None:
        pass


@pytest.fixture
def gcs(monkeypatch) -> Iterator[dict[str, bytes]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Gcs)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", f"127.0.0.1:{server.server_port}")
    _Gcs.objects = {}
    yield _Gcs.objects
    server.shutdown()
    server.server_close()


def test_the_job_writes_reads_and_deletes_an_object_in_gcs(gcs):
    steps = roundtrip(GcsObjects("artifacts"), "runs")
    assert [(s["name"], s["ok"]) for s in steps] == [("storage write", True), ("storage read", True)], steps
    assert steps[0]["detail"].startswith("wrote gs://artifacts/runs/rayplat-smoke/")
    assert gcs == {}


def test_a_gcs_bucket_that_does_not_exist_is_reported(gcs):
    steps = roundtrip(GcsObjects("no-such-bucket"), "")
    assert steps == [
        {**steps[0], "ok": False, "detail": "storage denied: bucket 'no-such-bucket' does not exist"},
    ]


def test_a_worker_without_google_credentials_is_denied(monkeypatch):
    monkeypatch.delenv("STORAGE_EMULATOR_HOST", raising=False)
    monkeypatch.setattr("rayplat.runbooks.smoke_job.METADATA_TOKEN_URL", "http://127.0.0.1:9/token")
    with pytest.raises(CheckFailed, match="storage denied: the Ray worker has no Google credentials"):
        GcsObjects("b").put("k", b"x")
