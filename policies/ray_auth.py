"""Ray's own authentication: every Ray cluster the stack declares (RayCluster, and the clusters of RayJobs
and RayServices) runs with token authentication on its dashboard, Jobs API and GCS."""

from __future__ import annotations

from collections.abc import Iterable

from pulumi_policy import Severity

from policies.objects import mapping
from policies.ray_pods import RAY_KINDS, cluster_spec, kind
from policies.rules import Rule, Subject, resource_rule


def _token_auth(subject: Subject, _config) -> Iterable[str]:
    spec = cluster_spec(subject)
    if spec is None:
        return
    options = spec.get("authOptions")
    mode = mapping(options).get("mode")
    if mode != "token":
        state = "no authOptions" if options is None else f"authOptions.mode {mode or 'unset'}"
        yield (f"the {kind(subject)} cluster has {state}: anyone who reaches its dashboard or Jobs API runs code in it")


POLICIES: list[Rule] = [
    resource_rule(
        name="ray-token-auth",
        area="ray",
        severity=Severity.CRITICAL,
        types=RAY_KINDS,
        check=_token_auth,
        description="Every Ray cluster runs with Ray token authentication (KubeRay authOptions mode token).",
        remediation="Set authOptions: {mode: token} on the cluster spec (secretName: a Secret with key auth_token, "
        "or none and KubeRay generates one); clients send the token (RAY_AUTH_TOKEN).",
        controls=("CVE-2023-48022", "Ray security guide: token authentication (RAY_AUTH_MODE=token)"),
    ),
]
