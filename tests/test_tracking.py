"""MLflow tracking (tracking.mlflow): its database is private, encrypted, reachable from MLflow only and
kept in production; its artifacts go under mlflow/ of the platform bucket, a sub-path per team, with an
identity limited to that prefix; team namespaces alone reach it and get its URI; bad config is refused."""

from __future__ import annotations

import json

import pytest
from parliament import analyze_policy_string

from catalog import versions
from catalog.labels import TEAM_LABEL
from components.aws import iam_documents
from components.kubernetes import tracking
from policies.objects import selects
from rayplat.plan import mockvalues, run_program
from rayplat.plan.engine import PROGRAM, SECRET, read_stack_config
from tests.conftest import config_problems, get_key, planned, resource, set_key

RDS = "aws:rds/instance:Instance"
CLOUD_SQL = "gcp:sql/databaseInstance:DatabaseInstance"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
NAMESPACE = "kubernetes:core/v1:Namespace"


def _in_namespace(plan, type_: str, namespace: str) -> list:
    return [r for r in plan.of_type(type_) if r.inputs["metadata"].get("namespace") == namespace]


def _policy(plan, name: str):
    (policy,) = [
        p for p in _in_namespace(plan, NETWORK_POLICY, tracking.NAMESPACE) if p.inputs["metadata"]["name"] == name
    ]
    return policy.inputs["spec"]


def _pod_labels(plan, name: str) -> dict[str, str]:
    (deployment,) = [d for d in plan.of_type(DEPLOYMENT) if d.inputs["metadata"]["name"] == name]
    return deployment.inputs["spec"]["template"]["metadata"]["labels"]


# The database -------------------------------------------------------------------------------------------


def test_prod_keeps_mlflows_rds_database_private_encrypted_and_protected():
    plan = planned("prod")
    db = resource(plan, RDS)
    inputs = db.inputs
    assert db.protect and db.retainOnDelete
    assert inputs["deletionProtection"] is True and inputs["skipFinalSnapshot"] is False
    assert inputs["finalSnapshotIdentifier"] and inputs["backupRetentionPeriod"] >= 7
    assert inputs["multiAz"] is True and inputs["publiclyAccessible"] is False
    # Encrypted with a key of its own, which the stack keeps as it keeps the database.
    key = resource(plan, "aws:kms/key:Key", "prod-mlflow-db-key")
    site = mockvalues.Site(region="us-east-1")
    key_arn = mockvalues.resource_outputs(key.type, key.name, key.inputs, site)[1]["arn"]
    assert inputs["storageEncrypted"] is True and inputs["kmsKeyId"] == key_arn
    assert key.protect and key.retainOnDelete and key.inputs["enableKeyRotation"] is True
    # The password is generated and secret: never a literal in config, nor an output.
    assert inputs["password"] == SECRET
    assert "password" not in json.dumps(plan.outputs).lower()
    # TLS only.
    group = resource(plan, "aws:rds/parameterGroup:ParameterGroup")
    assert [(p["name"], p["value"]) for p in group.inputs["parameters"]] == [("rds.force_ssl", "1")]
    assert inputs["parameterGroupName"].startswith(f"{group.name}-")


def test_the_rds_key_is_used_only_through_rds_and_passes_parliament():
    policy = iam_documents.database_key_policy("123456789012", "arn:aws:iam::123456789012:role/admin", "us-east-1")
    statements = {s["Sid"]: s for s in policy["Statement"]}
    for sid in ("UseThroughRds", "GrantsToRds"):
        assert statements[sid]["Condition"]["StringEquals"]["kms:ViaService"] == "rds.us-east-1.amazonaws.com"
    assert statements["GrantsToRds"]["Condition"]["Bool"] == {"kms:GrantIsForAWSResource": "true"}
    # Key policies have Resource "*" (the key itself), which parliament reads as too broad.
    relevant = [f.issue for f in analyze_policy_string(json.dumps(policy)).findings if f.issue != "RESOURCE_STAR"]
    assert relevant == []


def test_the_rds_database_admits_the_clusters_nodes_only_on_its_private_subnets():
    plan = planned("prod")
    inputs = resource(plan, RDS).inputs
    subnets = resource(plan, "aws:rds/subnetGroup:SubnetGroup")
    eks = resource(plan, "aws:eks/cluster:Cluster")
    assert subnets.inputs["subnetIds"] == eks.inputs["vpcConfig"]["subnetIds"]  # the private subnets
    (rule,) = [
        r for r in plan.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") if "mlflow" in r.name
    ]
    assert [rule.inputs["securityGroupId"]] == inputs["vpcSecurityGroupIds"]
    assert rule.inputs["referencedSecurityGroupId"].startswith("sg-")  # EKS's cluster security group
    assert (rule.inputs["fromPort"], rule.inputs["toPort"]) == (5432, 5432)
    assert not {"cidrIpv4", "cidrIpv6"} & set(rule.inputs)
    # Only the MLflow namespace holds the credentials.
    (secret,) = [s for s in plan.of_type("kubernetes:core/v1:Secret") if s.name == "prod-mlflow-backend-store"]
    assert secret.inputs["metadata"] == {"name": tracking.BACKEND_SECRET, "namespace": tracking.NAMESPACE}
    assert secret.inputs["stringData"] in (SECRET, {tracking.BACKEND_KEY: SECRET})


def test_gcp_prod_keeps_mlflows_cloud_sql_private_tls_only_encrypted_and_protected():
    plan = planned("gcp-prod")
    db = resource(plan, CLOUD_SQL)
    inputs, settings = db.inputs, db.inputs["settings"]
    assert db.protect and db.retainOnDelete
    assert inputs["deletionProtection"] is True and settings["deletionProtectionEnabled"] is True
    ip = settings["ipConfiguration"]
    assert ip["ipv4Enabled"] is False and ip["sslMode"] == "ENCRYPTED_ONLY"
    network = resource(plan, "gcp:compute/network:Network")
    assert ip["privateNetwork"].startswith(f"projects/acme-ml-prod/global/networks/{network.name}-")
    connection = resource(plan, "gcp:servicenetworking/connection:Connection")
    assert connection.urn in db.dependencies and connection.inputs["network"] == ip["privateNetwork"]
    assert settings["backupConfiguration"]["enabled"] is True and settings["availabilityType"] == "REGIONAL"
    # CMEK: a rotating key in the instance's region that only Cloud SQL's service agent may use.
    key = resource(plan, "gcp:kms/cryptoKey:CryptoKey", "gcp-prod-mlflow-db")
    grant = resource(plan, "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember", "gcp-prod-mlflow-db")
    assert inputs["encryptionKeyName"].endswith("/cryptoKeys/database") and key.protect
    assert grant.inputs["member"].endswith("@gcp-sa-cloud-sql.iam.gserviceaccount.com")
    assert grant.urn in db.dependencies
    user = resource(plan, "gcp:sql/user:User")
    assert user.inputs["password"] == SECRET


def test_dev_runs_postgres_in_the_cluster_on_a_kept_claim_reachable_from_mlflow_only():
    plan = planned("dev")
    assert not plan.of_type(RDS)
    claim = resource(plan, "kubernetes:core/v1:PersistentVolumeClaim")
    assert claim.retainOnDelete and claim.inputs["metadata"]["namespace"] == tracking.NAMESPACE
    database = _pod_labels(plan, "mlflow-postgres")
    server = _pod_labels(plan, "mlflow")
    spec = _policy(plan, "allow-mlflow-to-postgres")
    assert selects(spec["podSelector"], database) and not selects(spec["podSelector"], server)
    ((rule,),) = [[r] for r in spec["ingress"]]
    ((peer,),) = [rule["from"]]
    assert set(peer) == {"podSelector"}  # this namespace's pods only
    assert selects(peer["podSelector"], server) and not selects(peer["podSelector"], database)
    assert rule["ports"] == [{"protocol": "TCP", "port": 5432}]
    # Everything else is denied: the default policy selects the database too.
    deny = _policy(plan, "default-deny-ingress")
    assert selects(deny["podSelector"], database) and deny["ingress"] == []


def test_the_database_pods_image_is_pinned_and_runs_restricted():
    plan = planned("dev")
    (deployment,) = [d for d in plan.of_type(DEPLOYMENT) if d.inputs["metadata"]["name"] == "mlflow-postgres"]
    pod = deployment.inputs["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == versions.POSTGRES_IMAGE
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert container["resources"]["limits"]["memory"] and container["readinessProbe"]
    password = next(e for e in container["env"] if e["name"] == "POSTGRES_PASSWORD")
    assert "value" not in password and password["valueFrom"]["secretKeyRef"]["name"] == tracking.POSTGRES_SECRET


# The server and its reach -------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["dev", "prod", "gcp-prod"])
def test_only_team_namespaces_reach_the_server(stack):
    plan = planned(stack)
    (namespace,) = [n for n in plan.of_type(NAMESPACE) if n.inputs["metadata"]["name"] == tracking.NAMESPACE]
    assert namespace.inputs["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    server = _pod_labels(plan, "mlflow")
    spec = _policy(plan, "allow-team-namespaces")
    assert selects(spec["podSelector"], server)
    ((rule,),) = [spec["ingress"]]
    ((peer,),) = [rule["from"]]
    assert rule["ports"] == [{"protocol": "TCP", "port": tracking.PORT}]
    namespaces = {n.inputs["metadata"]["name"]: n.inputs["metadata"]["labels"] for n in plan.of_type(NAMESPACE)}
    admitted = {name for name, labels in namespaces.items() if selects(peer["namespaceSelector"], labels)}
    config = read_stack_config(stack)
    teams = {f"team-{t['name']}" for t in get_key(config, "teams")} if "ray-platform:teams" in config else set()
    assert admitted == teams and (teams or stack == "gcp-prod")  # gcp-prod has no teams yet
    assert "podSelector" not in peer
    # No public load balancer: a ClusterIP service.
    (service,) = _in_namespace(plan, "kubernetes:core/v1:Service", tracking.NAMESPACE)[:1]
    assert service.inputs["spec"]["type"] == "ClusterIP"


def test_every_team_namespace_gets_the_tracking_uri_and_its_artifact_location():
    plan = planned("prod")
    maps = {
        m.inputs["metadata"]["namespace"]: m.inputs
        for m in plan.of_type(CONFIG_MAP)
        if m.name.startswith("prod-mlflow")
    }
    teams = get_key(read_stack_config("prod"), "teams")
    assert set(maps) == {f"team-{t['name']}" for t in teams}
    for team in teams:
        config = maps[f"team-{team['name']}"]
        assert config["metadata"]["labels"] == {TEAM_LABEL: team["name"]}
        assert config["data"] == {
            "MLFLOW_TRACKING_URI": "http://mlflow.mlflow.svc.cluster.local:5000",
            "RAYPLAT_MLFLOW_ARTIFACT_LOCATION": f"mlflow-artifacts:/teams/{team['name']}",
        }
    assert planned("prod").outputs["mlflowTrackingUri"] == "http://mlflow.mlflow.svc.cluster.local:5000"


def _server(plan) -> dict:
    (deployment,) = [d for d in plan.of_type(DEPLOYMENT) if d.inputs["metadata"]["name"] == "mlflow"]
    return deployment.inputs["spec"]["template"]["spec"]


@pytest.mark.parametrize("stack", ["dev", "prod", "gcp-prod"])
def test_the_server_proxies_artifacts_to_the_mlflow_prefix_of_the_platform_bucket(stack):
    plan = planned(stack)
    pod = _server(plan)
    (container,) = pod["containers"]
    assert container["image"] == versions.MLFLOW_IMAGE
    assert "--serve-artifacts" in container["args"]
    bucket = plan.outputs["artifactBucketUri"]
    assert f"--artifacts-destination={bucket}/mlflow" in container["args"]
    uri = next(e for e in container["env"] if e["name"] == "MLFLOW_BACKEND_STORE_URI")
    assert uri["valueFrom"]["secretKeyRef"] == {"name": tracking.BACKEND_SECRET, "key": tracking.BACKEND_KEY}
    # Restricted pod security, resources and probes.
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["seccompProfile"]
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["resources"]["requests"] and container["resources"]["limits"]["memory"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/health" and container["livenessProbe"]
    assert pod["serviceAccountName"] == tracking.SERVICE_ACCOUNT


def test_the_servers_aws_identity_reaches_the_mlflow_prefix_only():
    plan = planned("prod")
    policy = json.loads(resource(plan, "aws:iam/policy:Policy", "prod-mlflow-server").inputs["policy"])
    resources = {
        r for s in policy["Statement"] for r in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"])
    }
    objects = {r for r in resources if r.startswith("arn:aws:s3:::") and "/" in r}
    assert objects and all(r.endswith("/mlflow/*") for r in objects), objects
    listing = [s for s in policy["Statement"] if "s3:ListBucket" in json.dumps(s["Action"])]
    assert listing and all(s["Condition"]["StringLike"]["s3:prefix"] == ["mlflow/*"] for s in listing)
    role = resource(plan, "aws:iam/role:Role", "prod-mlflow-server")
    assert "system:serviceaccount:mlflow:mlflow" in role.inputs["assumeRolePolicy"]


def test_the_servers_gcp_identity_reaches_the_mlflow_prefix_only():
    plan = planned("gcp-prod")
    grant = resource(plan, "gcp:storage/bucketIAMMember:BucketIAMMember", "gcp-prod-mlflow-server")
    assert "mlflow/" in grant.inputs["condition"]["expression"]


def test_team_artifact_locations_resolve_under_the_servers_destination():
    """MLflow resolves an mlflow-artifacts: location against --artifacts-destination: each team's runs land
    under mlflow/teams/<team>/ of the bucket."""
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

    location = tracking.team_artifact_location("vision")
    repo = get_artifact_repository(f"{location}/experiment-1", tracking_uri="http://mlflow.mlflow:5000")
    assert repo.artifact_uri == "http://mlflow.mlflow:5000/api/2.0/mlflow-artifacts/artifacts/teams/vision/experiment-1"


# Config -------------------------------------------------------------------------------------------------


def test_tracking_is_off_unless_enabled():
    for stack in ("staging", "gcp-dev", "local"):
        plan = planned(stack)
        assert not [r for r in plan.resources if "mlflow" in r.name], stack


def _with_tracking(stack: str, mlflow: dict) -> dict[str, str]:
    return set_key(read_stack_config(stack), "tracking", {"mlflow": mlflow})


def test_an_in_cluster_database_is_refused_in_prod():
    problems = config_problems(_with_tracking("prod", {"enabled": True, "database": {"kind": "inCluster"}}))
    assert any(p.startswith("tracking.mlflow.database.kind: 'inCluster' is not allowed in prod") for p in problems)


@pytest.mark.parametrize(
    ("stack", "mlflow", "expected"),
    [
        ("local", {"enabled": True}, "tracking.mlflow.database.kind: an existing cluster has no managed database"),
        (
            "prod",
            {"enabled": True, "database": {"instanceClass": "db-custom-1-3840"}},
            "tracking.mlflow.database.instanceClass: 'db-custom-1-3840' is not an RDS PostgreSQL instance class",
        ),
        (
            "gcp-dev",
            {"enabled": True, "database": {"instanceClass": "db.t4g.medium"}},
            "tracking.mlflow.database.instanceClass: 'db.t4g.medium' is not an Cloud SQL PostgreSQL instance class",
        ),
        (
            "dev",
            {"enabled": True, "database": {"kind": "inCluster", "instanceClass": "db.t4g.medium"}},
            "tracking.mlflow.database.instanceClass: applies to a managed database only",
        ),
        ("dev", {"enabled": True, "database": {"kind": "rds"}}, "tracking.mlflow.database.kind"),
        ("dev", {"enabled": True, "database": {"storageGib": 5}}, "tracking.mlflow.database.storageGib"),
        ("dev", {"enabled": True, "databse": {}}, "tracking.mlflow.databse"),
    ],
)
def test_bad_tracking_config_is_refused_naming_the_key(stack, mlflow, expected):
    problems = config_problems(_with_tracking(stack, mlflow))
    assert any(p.startswith(expected) for p in problems), problems


def test_a_local_cluster_runs_mlflow_with_an_in_cluster_database_and_its_store_credentials():
    plan = run_program("local", _with_tracking("local", {"enabled": True, "database": {"kind": "inCluster"}}), PROGRAM)
    (container,) = _server(plan)["containers"]
    assert container["envFrom"] == [{"secretRef": {"name": "mlflow-object-store"}}]
    assert "--artifacts-destination=s3://ray-artifacts/mlflow" in container["args"]


def test_tracking_on_an_existing_cluster_needs_enforced_network_policies():
    config = _with_tracking("local", {"enabled": True, "database": {"kind": "inCluster"}})
    config = set_key(config, "existing", {**get_key(config, "existing"), "networkPolicyEnforced": False})
    problems = config_problems(config)
    assert any(
        p.startswith("existing.networkPolicyEnforced: must be true with tracking.mlflow.enabled") for p in problems
    ), problems
