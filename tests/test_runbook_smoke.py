"""`rayplat runbook smoke-test` against a real local Ray head (`ray start --head` on 127.0.0.1) and a local S3
(moto's server): it passes, and each kind of failure ends with its own message."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator

import boto3
import pytest
from typer.testing import CliRunner

from rayplat.cli import app
from rayplat.runbooks.progress import Progress
from rayplat.runbooks.smoke import SmokeOptions, run_smoke_test
from tests import processes

runner = CliRunner()
BUCKET = "smoke-artifacts"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
JOB_STEPS = ["cluster resources", "parallel tasks", "actor", "storage write", "storage read"]


@pytest.fixture(scope="module")
def ray_address() -> Iterator[str]:
    """The head's processes hold S3 credentials of their own, as the object store Secret gives Ray pods."""
    with processes.ray_head(num_cpus=2, env=CREDENTIALS) as address:
        yield address


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    with processes.moto_server() as endpoint:
        boto3.client("s3", endpoint_url=endpoint, **_client_credentials(CREDENTIALS)).create_bucket(Bucket=BUCKET)
        yield endpoint


@pytest.fixture(autouse=True)
def environment(monkeypatch) -> None:
    """Test credentials, handed to the job with --s3-endpoint; no Ray address that would override --address."""
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "RAY_ADDRESS", "RAY_API_SERVER_ADDRESS"):
        monkeypatch.delenv(name, raising=False)


def _client_credentials(env: dict[str, str]) -> dict[str, str]:
    return {
        "aws_access_key_id": env["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": env["AWS_SECRET_ACCESS_KEY"],
        "region_name": env["AWS_DEFAULT_REGION"],
    }


def _smoke(tmp_path, *args: str) -> tuple[int, str, dict]:
    result_file = tmp_path / "smoke.json"
    result = runner.invoke(app, ["runbook", "smoke-test", *args, "--json", str(result_file)])
    return result.exit_code, " ".join(result.output.split()), json.loads(result_file.read_text())


def test_passes_on_a_live_head_with_the_storage_of_the_stack_outputs(ray_address, s3_endpoint, tmp_path):
    outputs = tmp_path / "outputs.json"
    outputs.write_text(
        json.dumps({"cloud": "existing", "artifactBucketUri": f"s3://{BUCKET}", "objectStoreEndpoint": s3_endpoint})
    )
    code, output, result = _smoke(tmp_path, "--address", ray_address, "--outputs", str(outputs))
    assert code == 0, output
    assert "smoke test passed" in output
    assert result["ok"] is True and result["error"] is None
    assert [step["name"] for step in result["steps"]] == ["connect", "submit", "run job", *JOB_STEPS]
    assert all(step["ok"] and step["seconds"] >= 0 for step in result["steps"])
    assert result["resources"] == {"CPU": 2, "GPU": 0}
    assert result["jobId"].startswith("rayplat-smoke-")
    steps = {step["name"]: step["detail"] for step in result["steps"]}
    assert steps["cluster resources"] == "2 CPUs, 0 GPUs on 1 node(s)"
    assert steps["storage write"].startswith(f"wrote s3://{BUCKET}/rayplat-smoke/")
    # The object written was read back and deleted.
    s3 = boto3.client("s3", endpoint_url=s3_endpoint, **_client_credentials(CREDENTIALS))
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0


def test_an_address_where_nothing_listens_is_unreachable(tmp_path):
    address = f"http://127.0.0.1:{processes.free_port()}"
    code, output, result = _smoke(tmp_path, "--address", address)
    assert code == 1
    assert f"smoke test failed: address unreachable: nothing answers at {address}" in output
    assert result["ok"] is False and result["error"].startswith("address unreachable")
    assert [(step["name"], step["ok"]) for step in result["steps"]] == [("connect", False)]


def test_a_stopped_head_is_unreachable(tmp_path):
    with processes.ray_head(num_cpus=1) as address:
        pass  # started, answered, and stopped
    code, output, result = _smoke(tmp_path, "--address", address)
    assert code == 1
    assert f"address unreachable: nothing answers at {address} (Connection refused)" in output
    assert result["error"].startswith("address unreachable")


def test_gpus_expected_but_absent(ray_address, tmp_path):
    code, output, result = _smoke(tmp_path, "--address", ray_address, "--expect-gpus", "1", "--timeout", "16")
    assert code == 1
    assert "GPUs expected but absent: expected 1, the cluster has 0" in output
    assert "not scheduled within 8s" in result["error"]
    # The other checks still run, and the storage check is skipped, with its reason, without a storage URI.
    assert [(step["name"], step["ok"], step["skipped"]) for step in result["steps"][2:]] == [
        ("run job", False, False),
        ("cluster resources", True, False),
        ("GPUs", False, False),
        ("parallel tasks", True, False),
        ("actor", True, False),
        ("storage", True, True),
    ]


def test_storage_denied_when_the_bucket_does_not_exist(ray_address, s3_endpoint, tmp_path):
    args = ["--address", ray_address, "--storage-uri", "s3://no-such-bucket/runs", "--s3-endpoint", s3_endpoint]
    code, output, result = _smoke(tmp_path, *args)
    assert code == 1
    assert "smoke test failed: storage denied: bucket 'no-such-bucket' does not exist" in output
    assert [step["name"] for step in result["steps"] if not step["ok"]] == ["run job", "storage write"]


@pytest.fixture
def read_only_credentials(s3_endpoint, monkeypatch) -> Iterator[None]:
    """Credentials of a user who may read the bucket but not write it, with moto checking every request."""
    iam = boto3.client("iam", endpoint_url=s3_endpoint, **_client_credentials(CREDENTIALS))
    iam.create_user(UserName="reader")
    read_only = {"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": "*"}
    policy = json.dumps({"Version": "2012-10-17", "Statement": [read_only]})
    iam.put_user_policy(UserName="reader", PolicyName="read-only", PolicyDocument=policy)
    key = iam.create_access_key(UserName="reader")["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    _moto_authentication(s3_endpoint, "0")
    try:
        yield
    finally:
        _moto_authentication(s3_endpoint, "inf")


def _moto_authentication(endpoint: str, unauthenticated_requests: str) -> None:
    """moto checks credentials and IAM policies once this many requests have passed (inf: never)."""
    request = urllib.request.Request(
        f"{endpoint}/moto-api/reset-auth",
        data=unauthenticated_requests.encode(),
        method="POST",
        headers={"Content-Type": "text/plain"},
    )
    urllib.request.urlopen(request, timeout=10).close()


def test_storage_denied_when_the_identity_may_not_write(ray_address, s3_endpoint, read_only_credentials, tmp_path):
    args = ["--address", ray_address, "--storage-uri", f"s3://{BUCKET}/runs", "--s3-endpoint", s3_endpoint]
    code, output, result = _smoke(tmp_path, *args)
    assert code == 1
    assert f"smoke test failed: storage denied: AccessDenied on s3://{BUCKET}/runs/rayplat-smoke/" in output
    assert [step["name"] for step in result["steps"] if not step["ok"]] == ["run job", "storage write"]


def test_a_job_that_fails_before_its_checks_is_a_failed_job(ray_address):
    options = SmokeOptions(ray_address, job_env={"RAYPLAT_SMOKE_CRASH": "1"}, timeout=60)
    result = run_smoke_test(options, Progress())
    assert not result.ok
    assert result.error is not None and result.error.startswith(f"job failed: {result.job_id} ended FAILED")
    assert "RAYPLAT_SMOKE_CRASH is set: the smoke job fails on purpose" in result.error
    assert [(step.name, step.ok) for step in result.steps] == [("connect", True), ("submit", True), ("run job", False)]


def test_a_job_that_outlives_the_timeout_is_stopped(ray_address):
    result = run_smoke_test(SmokeOptions(ray_address, timeout=1), Progress())
    assert result.error is not None
    assert result.error.startswith("job failed: timed out after 1s")
    assert result.error.endswith("stopped it")


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        ([], {}, "give --address URL (the Ray dashboard), or --stack S [--outputs FILE]"),
        (["--address", "127.0.0.1:8265"], {}, "--address must be the Ray dashboard's URL"),
        (["--address", "http://127.0.0.1:8265", "--storage-uri", "ftp://bucket"], {}, "--storage-uri must look like"),
        (["--address", "http://127.0.0.1:8265"], {"RAY_ADDRESS": "http://10.0.0.1:8265"}, "would override --address"),
        (["--outputs", "missing.json"], {}, "cannot read the stack outputs missing.json"),
    ],
)
def test_bad_input_exits_2(args, env, message, monkeypatch):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = runner.invoke(app, ["runbook", "smoke-test", *args])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
