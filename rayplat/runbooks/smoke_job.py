"""The Ray job that `rayplat runbook smoke-test` submits. It runs on the cluster, in the rayproject/ray image:
the standard library, ray and boto3 only, and nothing from this repository.

It reports the cluster's CPUs and GPUs, waits for the GPUs it is told to expect, runs parallel tasks and an
actor, and writes an object to the artifact store (S3, or Google Cloud Storage through its JSON API with the
worker's Workload Identity token) from a Ray task, reads it back and deletes it. Settings come from environment
variables (the job's runtime_env env_vars):

    RAYPLAT_SMOKE_EXPECT_GPUS  GPUs the cluster must offer (default 0)
    RAYPLAT_SMOKE_GPU_WAIT     seconds to wait for them, as they scale up from zero (default 60)
    RAYPLAT_SMOKE_BUCKET       the artifact bucket; no storage check when empty
    RAYPLAT_SMOKE_PREFIX       the key prefix to write under
    RAYPLAT_SMOKE_S3_ENDPOINT  an S3-compatible endpoint (MinIO); AWS S3 when empty
    RAYPLAT_SMOKE_STORE        s3 (default) or gs
    RAYPLAT_SMOKE_CRASH        any value: fail at once, before any check, to see how a failed job is reported

It prints one line, ``RAYPLAT_SMOKE_RESULT {"resources": {...}, "steps": [...]}``, and exits 1 if a step failed.
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import boto3
import botocore.exceptions
import ray

RESULT_MARKER = "RAYPLAT_SMOKE_RESULT"
GCS_API = "https://storage.googleapis.com"
METADATA_TOKEN_URL = "http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token"
TASKS = 8
DENIED_CODES = {
    "AccessDenied",
    "AllAccessDisabled",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "InvalidToken",
    "403",
}


class CheckFailed(Exception):
    pass


def timed(name: str, check: Callable[[], str]) -> dict[str, Any]:
    """Run one check; its result in the shape `rayplat` reports steps."""
    start = time.monotonic()
    try:
        detail, ok = check(), True
    except CheckFailed as exc:
        detail, ok = str(exc), False
    return {"name": name, "ok": ok, "seconds": round(time.monotonic() - start, 3), "detail": detail}


def describe_resources() -> str:
    resources = ray.cluster_resources()
    nodes = [node for node in ray.nodes() if node["Alive"]]
    return f"{resources.get('CPU', 0):g} CPUs, {resources.get('GPU', 0):g} GPUs on {len(nodes)} node(s)"


@ray.remote(num_gpus=1)
def gpu_probe() -> str:
    return os.environ.get("CUDA_VISIBLE_DEVICES", "")


def wait_for_gpus(expected: int, wait: float) -> str:
    """Ask for the GPUs with tasks (the autoscaler adds GPU nodes for them), then count the cluster's GPUs."""
    probes = [gpu_probe.remote() for _ in range(expected)]
    ready, pending = ray.wait(probes, num_returns=len(probes), timeout=wait)
    for probe in pending:
        ray.cancel(probe)
    gpus = ray.cluster_resources().get("GPU", 0)
    if pending or gpus < expected:
        raise CheckFailed(
            f"GPUs expected but absent: expected {expected}, the cluster has {gpus:g}; "
            f"{len(pending)} of {expected} single-GPU task(s) not scheduled within {wait:g}s"
        )
    devices = sorted(set(ray.get(ready)))
    return f"{gpus:g} GPUs; tasks saw CUDA_VISIBLE_DEVICES {', '.join(devices)}"


@ray.remote
def square(value: int) -> tuple[int, str]:
    return value * value, ray.get_runtime_context().get_node_id()


def parallel_tasks() -> str:
    results = ray.get([square.remote(i) for i in range(TASKS)])
    total = sum(value for value, _ in results)
    expected = sum(i * i for i in range(TASKS))
    if total != expected:
        raise CheckFailed(f"tasks returned {total}, expected {expected}")
    return f"{TASKS} tasks on {len({node for _, node in results})} node(s)"


@ray.remote
class Counter:
    def __init__(self) -> None:
        self.count = 0

    def add(self) -> int:
        self.count += 1
        return self.count


def actor() -> str:
    counter = Counter.remote()  # type: ignore[attr-defined]
    counts = [ray.get(counter.add.remote()) for _ in range(3)]
    ray.kill(counter)
    if counts != [1, 2, 3]:
        raise CheckFailed(f"actor counted {counts}, expected [1, 2, 3]")
    return "an actor kept its state over 3 calls"


def storage_failure(exc: Exception, bucket: str, key: str) -> CheckFailed:
    """One message per kind of storage failure; denials first, as they are what the platform must get right."""
    where = f"s3://{bucket}/{key}"
    if isinstance(exc, botocore.exceptions.ClientError):
        error = exc.response.get("Error", {})
        code, message = error.get("Code", "?"), error.get("Message", "")
        if code == "NoSuchBucket":
            return CheckFailed(f"storage denied: bucket '{bucket}' does not exist")
        if code in DENIED_CODES:
            return CheckFailed(f"storage denied: {code} on {where}: {message}")
        return CheckFailed(f"storage error: {code} on {where}: {message}")
    if isinstance(exc, botocore.exceptions.NoCredentialsError):
        return CheckFailed("storage denied: the Ray worker has no AWS credentials (IRSA, or the object store secret)")
    return CheckFailed(f"storage unreachable: {exc}")


class S3Objects:
    scheme = "s3"

    def __init__(self, bucket: str, endpoint: str) -> None:
        self.bucket = bucket
        self.client = boto3.client("s3", endpoint_url=endpoint or None)

    def call(self, key: str, operation: Callable[[], Any]) -> Any:
        try:
            return operation()
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            raise storage_failure(exc, self.bucket, key) from exc

    def put(self, key: str, body: bytes) -> None:
        self.call(key, lambda: self.client.put_object(Bucket=self.bucket, Key=key, Body=body))

    def get(self, key: str) -> bytes:
        return self.call(key, lambda: self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read())

    def delete(self, key: str) -> None:
        self.call(key, lambda: self.client.delete_object(Bucket=self.bucket, Key=key))


class GcsObjects:
    """Google Cloud Storage through its JSON API, as the worker's Workload Identity (a token from the metadata
    server); STORAGE_EMULATOR_HOST, as Google's own clients read it, names an emulator that wants no token."""

    scheme = "gs"

    def __init__(self, bucket: str) -> None:
        self.bucket = bucket
        emulator = os.environ.get("STORAGE_EMULATOR_HOST", "")
        if emulator and "://" not in emulator:
            emulator = f"http://{emulator}"
        self.api = (emulator or GCS_API).rstrip("/")
        self.token: str | None = "" if emulator else None

    def _token(self) -> str:
        if self.token is None:
            request = urllib.request.Request(METADATA_TOKEN_URL, headers={"Metadata-Flavor": "Google"})
            try:
                with urllib.request.urlopen(request, timeout=5) as response:
                    self.token = token = str(json.load(response)["access_token"])
                    return token
            except (OSError, KeyError, ValueError) as exc:
                source = "Workload Identity's metadata server"
                message = f"storage denied: the Ray worker has no Google credentials ({source}: {exc})"
                raise CheckFailed(message) from exc
        return self.token

    def _request(self, method: str, path: str, key: str, body: bytes | None = None) -> bytes:
        token = self._token()
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        request = urllib.request.Request(f"{self.api}{path}", data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.read()
        except urllib.error.HTTPError as exc:
            where = f"gs://{self.bucket}/{key}"
            if exc.code == 404 and method == "POST":
                raise CheckFailed(f"storage denied: bucket '{self.bucket}' does not exist") from exc
            kind = "storage denied" if exc.code in (401, 403) else "storage error"
            raise CheckFailed(f"{kind}: HTTP {exc.code} on {where}: {exc.reason}") from exc
        except OSError as exc:
            raise CheckFailed(f"storage unreachable: {self.api}: {exc}") from exc

    def _object(self, key: str) -> str:
        return f"/storage/v1/b/{self.bucket}/o/{quote(key, safe='')}"

    def put(self, key: str, body: bytes) -> None:
        upload = f"/upload/storage/v1/b/{self.bucket}/o?uploadType=media&name={quote(key, safe='')}"
        self._request("POST", upload, key, body)

    def get(self, key: str) -> bytes:
        return self._request("GET", f"{self._object(key)}?alt=media", key)

    def delete(self, key: str) -> None:
        self._request("DELETE", self._object(key), key)


def roundtrip(objects: S3Objects | GcsObjects, prefix: str) -> list[dict[str, Any]]:
    """Write, read back and delete one object."""
    token = uuid.uuid4().hex
    key = "/".join(part for part in (prefix.strip("/"), "rayplat-smoke", f"{token}.txt") if part)
    body = f"rayplat smoke test {token}".encode()
    where = f"{objects.scheme}://{objects.bucket}/{key}"

    def write() -> str:
        objects.put(key, body)
        return f"wrote {where} ({len(body)} bytes)"

    def read() -> str:
        data = objects.get(key)
        objects.delete(key)
        if data != body:
            raise CheckFailed(f"read back {len(data)} bytes that differ from what was written to {where}")
        return "read it back intact, and deleted it"

    steps = [timed("storage write", write)]
    if steps[0]["ok"]:
        steps.append(timed("storage read", read))
    return steps


@ray.remote
def storage_roundtrip(bucket: str, prefix: str, endpoint: str, store: str = "s3") -> list[dict[str, Any]]:
    """The round trip from a worker: the workers' identity is the one under test."""
    return roundtrip(GcsObjects(bucket) if store == "gs" else S3Objects(bucket, endpoint), prefix)


def main() -> int:
    if os.environ.get("RAYPLAT_SMOKE_CRASH"):
        raise RuntimeError("RAYPLAT_SMOKE_CRASH is set: the smoke job fails on purpose")
    ray.init()
    expected_gpus = int(os.environ.get("RAYPLAT_SMOKE_EXPECT_GPUS", "0"))
    bucket = os.environ.get("RAYPLAT_SMOKE_BUCKET", "")
    steps = [timed("cluster resources", describe_resources)]
    if expected_gpus:
        wait = float(os.environ.get("RAYPLAT_SMOKE_GPU_WAIT", "60"))
        steps.append(timed("GPUs", lambda: wait_for_gpus(expected_gpus, wait)))
    steps += [timed("parallel tasks", parallel_tasks), timed("actor", actor)]
    if bucket:
        prefix, endpoint = os.environ.get("RAYPLAT_SMOKE_PREFIX", ""), os.environ.get("RAYPLAT_SMOKE_S3_ENDPOINT", "")
        store = os.environ.get("RAYPLAT_SMOKE_STORE", "s3")
        storage_steps: list[dict[str, Any]] = ray.get(storage_roundtrip.remote(bucket, prefix, endpoint, store))
        steps += storage_steps
    resources = {key: ray.cluster_resources().get(key, 0) for key in ("CPU", "GPU")}
    print(RESULT_MARKER, json.dumps({"resources": resources, "steps": steps}), flush=True)
    return 0 if all(step["ok"] for step in steps) else 1


if __name__ == "__main__":
    sys.exit(main())
