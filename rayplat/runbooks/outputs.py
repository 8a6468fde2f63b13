"""A stack's outputs for the runbooks: the JSON `pulumi stack output --json` prints, or the offline plan's.

The offline plan knows only the outputs that follow from the stack file. Names and ids the cloud chooses
(ARNs, endpoints, a bucket name with a generated suffix) exist only after `pulumi up`, so they are left out.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rayplat.plan import Plan

# Outputs the stack file decides on its own (infra/platform.py and the cloud layers).
CONFIGURED_OUTPUTS = frozenset(
    {
        "cloud",
        "region",
        "project",
        "clusterName",
        "rayNamespace",
        "rayServiceAccount",
        "kuberayVersion",
        "rayVersion",
        "gpuPools",
        "kubeContext",
        "objectStoreEndpoint",
    }
)
BUCKET_OUTPUTS = ("artifactBucket", "artifactBucketUri")
# The input that names a bucket, per bucket type; absent, the provider generates the name.
BUCKET_NAME_INPUTS = {"aws:s3/bucket:Bucket": "bucket", "gcp:storage/bucket:Bucket": "name"}


class OutputsError(ValueError):
    pass


def read_outputs(path: Path) -> dict[str, Any]:
    """The outputs in a file written by `pulumi stack output --json > FILE`."""
    try:
        document = json.loads(path.read_text())
    except OSError as exc:
        raise OutputsError(f"cannot read the stack outputs {path}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise OutputsError(f"{path} is not JSON ({exc}): write it with `pulumi stack output --json`") from None
    if not isinstance(document, dict):
        raise OutputsError(f"{path} holds no JSON object: write it with `pulumi stack output --json`")
    return document


def offline_outputs(plan: Plan) -> dict[str, Any]:
    """The plan's outputs that are known before deployment."""
    known = set(CONFIGURED_OUTPUTS)
    if _bucket_name_configured(plan):
        known.update(BUCKET_OUTPUTS)
    return {key: value for key, value in plan.outputs.items() if key in known}


def _bucket_name_configured(plan: Plan) -> bool:
    bucket = plan.outputs.get("artifactBucket")
    named = [r.inputs.get(BUCKET_NAME_INPUTS[r.type]) for r in plan.resources if r.type in BUCKET_NAME_INPUTS]
    return bucket is not None and all(name == bucket for name in named)


def require(outputs: dict[str, Any], *keys: str) -> None:
    missing = [key for key in keys if not isinstance(outputs.get(key), str) or outputs[key] == "[secret]"]
    if missing:
        raise OutputsError(
            f"the stack outputs lack {', '.join(missing)}: values set at deploy time come from "
            "`pulumi stack output --json > outputs.json` and --outputs outputs.json"
        )
