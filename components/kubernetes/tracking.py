"""The MLflow tracking server: one per stack in its own namespace, reachable from team namespaces only, its
runs in PostgreSQL (managed by the cloud, or in the cluster in dev and local), its artifacts proxied to the
platform bucket under ``mlflow/``, a sub-path per team; each team namespace gets the tracking URI."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from catalog import versions
from catalog.labels import TEAM_LABEL
from components.existing.objectstore import CREDENTIALS_ANNOTATION
from components.handle import ClusterHandle, Postgres, PostgresSpec
from components.kubernetes import manifests
from components.nodes import PoolSpec
from components.options import child_options

NAMESPACE = "mlflow"
SERVICE_ACCOUNT = "mlflow"
PORT = 5000
POSTGRES_PORT = 5432
# The bucket prefix the server's identity may use; each team's artifacts live under teams/<team>/ in it.
ARTIFACT_PREFIX = "mlflow"
SERVER_LABELS = {"app.kubernetes.io/name": "mlflow", "app.kubernetes.io/component": "tracking-server"}
DATABASE_LABELS = {"app.kubernetes.io/name": "mlflow-postgres", "app.kubernetes.io/component": "database"}
BACKEND_SECRET = "mlflow-backend-store"
BACKEND_KEY = "uri"
POSTGRES_SECRET = "mlflow-postgres"
# The ConfigMap each team namespace gets: pods take it with envFrom.
TEAM_CONFIGMAP = "mlflow"
# The uid and gid of the postgres user in the official PostgreSQL (Debian) image.
POSTGRES_UID = 999
# Any non-root uid: the MLflow image has no user of its own and writes only to /tmp (its HOME here).
MLFLOW_UID = 10001
DATABASE = "mlflow"


@dataclass(frozen=True)
class TrackingArgs:
    # Team name -> its namespace: the namespaces admitted to the server and given its URI.
    teams: dict[str, str]
    # The managed database's size, or, with in_cluster, the in-cluster one's volume size.
    database: PostgresSpec
    in_cluster_database: bool
    replicas: int = 1


def tracking_uri() -> str:
    return f"http://{SERVER_LABELS['app.kubernetes.io/name']}.{NAMESPACE}.svc.cluster.local:{PORT}"


def team_artifact_location(team: str) -> str:
    """Where a team's experiments keep their artifacts: proxied by the server to
    ``<bucket>/mlflow/teams/<team>/``."""
    return f"mlflow-artifacts:/teams/{team}"


def backend_store_uri(db: Postgres, host: str, password: str) -> str:
    tls = "require" if db.require_tls else "disable"
    return f"postgresql+psycopg2://{db.user}:{password}@{host}:{db.port}/{db.database}?sslmode={tls}"


def _restricted_container() -> dict[str, Any]:
    return {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "readOnlyRootFilesystem": True,
    }


def _pod_security(uid: int) -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": uid,
        "fsGroup": uid,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def server_deployment(
    artifacts_destination: str,
    region: str,
    system_pool: PoolSpec,
    labels: dict[str, str],
    replicas: int,
    credentials_secret: str | None = None,
) -> dict[str, Any]:
    """The tracking server: proxies artifact uploads and downloads to ``artifacts_destination`` with its own
    identity, so clients need no bucket access; its backend store URI comes from a Secret."""
    host = tracking_uri().removeprefix("http://").rsplit(":", 1)[0]
    allowed_hosts = [f"{h}:{PORT}" for h in (host, host.removesuffix(".cluster.local"), f"mlflow.{NAMESPACE}")]
    env = [
        {
            "name": "MLFLOW_BACKEND_STORE_URI",
            "valueFrom": {"secretKeyRef": {"name": BACKEND_SECRET, "key": BACKEND_KEY}},
        },
        # The server refuses Host headers it does not know (DNS rebinding protection): the Service's names.
        {"name": "MLFLOW_SERVER_ALLOWED_HOSTS", "value": ",".join([*allowed_hosts, "localhost:*"])},
        {"name": "HOME", "value": "/tmp"},
    ]
    if artifacts_destination.startswith("s3://"):
        env.append({"name": "AWS_DEFAULT_REGION", "value": region})
    http: dict[str, Any] = {"httpGet": {"path": "/health", "port": PORT}}
    container: dict[str, Any] = {
        "name": "mlflow",
        "image": versions.MLFLOW_IMAGE,
        "command": ["mlflow", "server"],
        "args": [
            "--host=0.0.0.0",
            f"--port={PORT}",
            "--workers=2",
            "--serve-artifacts",
            f"--artifacts-destination={artifacts_destination}",
        ],
        "ports": [{"name": "http", "containerPort": PORT}],
        "env": env,
        **({"envFrom": [{"secretRef": {"name": credentials_secret}}]} if credentials_secret else {}),
        "resources": {"requests": {"cpu": "250m", "memory": "1Gi"}, "limits": {"cpu": "2", "memory": "2Gi"}},
        "readinessProbe": {**http, "periodSeconds": 10},
        "livenessProbe": {**http, "initialDelaySeconds": 60, "periodSeconds": 20, "failureThreshold": 6},
        "securityContext": _restricted_container(),
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    return _deployment(
        "mlflow",
        {**labels, **SERVER_LABELS},
        replicas,
        {
            "serviceAccountName": SERVICE_ACCOUNT,
            "securityContext": _pod_security(MLFLOW_UID),
            "nodeSelector": system_pool.selector,
            "containers": [container],
            "volumes": [{"name": "tmp", "emptyDir": {}}],
        },
    )


def database_deployment(system_pool: PoolSpec, labels: dict[str, str]) -> dict[str, Any]:
    """PostgreSQL in the cluster (dev and local only), its data on a claim of its own."""
    ready = {"exec": {"command": ["pg_isready", "-U", "platform", "-d", DATABASE]}}
    container = {
        "name": "postgres",
        "image": versions.POSTGRES_IMAGE,
        "ports": [{"name": "postgres", "containerPort": POSTGRES_PORT}],
        "env": [
            {"name": "POSTGRES_USER", "value": "platform"},
            {"name": "POSTGRES_DB", "value": DATABASE},
            {"name": "POSTGRES_PASSWORD", "valueFrom": {"secretKeyRef": {"name": POSTGRES_SECRET, "key": "password"}}},
            {"name": "PGDATA", "value": "/var/lib/postgresql/data/pgdata"},
        ],
        "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
        "readinessProbe": {**ready, "periodSeconds": 10},
        "livenessProbe": {**ready, "initialDelaySeconds": 30, "periodSeconds": 20},
        "securityContext": _restricted_container(),
        "volumeMounts": [
            {"name": "data", "mountPath": "/var/lib/postgresql/data"},
            {"name": "run", "mountPath": "/var/run/postgresql"},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }
    manifest = _deployment(
        "mlflow-postgres",
        {**labels, **DATABASE_LABELS},
        1,
        {
            "securityContext": _pod_security(POSTGRES_UID),
            "nodeSelector": system_pool.selector,
            "containers": [container],
            "volumes": [
                {"name": "data", "persistentVolumeClaim": {"claimName": "mlflow-postgres"}},
                {"name": "run", "emptyDir": {}},
                {"name": "tmp", "emptyDir": {}},
            ],
        },
    )
    # One writer on one volume: the old pod stops before the new one starts.
    manifest["spec"]["strategy"] = {"type": "Recreate"}
    return manifest


def _deployment(name: str, labels: dict[str, str], replicas: int, pod: dict[str, Any]) -> dict[str, Any]:
    selector = {k: v for k, v in labels.items() if k.startswith("app.kubernetes.io/")}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": selector},
            "template": {"metadata": {"labels": labels}, "spec": {"automountServiceAccountToken": False, **pod}},
        },
    }


def service(name: str, selector: dict[str, str], port: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {
            "type": "ClusterIP",
            "selector": selector,
            "ports": [{"name": name, "port": port, "targetPort": port}],
        },
    }


def network_policies(in_cluster_database: bool) -> list[dict[str, Any]]:
    """Nothing reaches the namespace but team namespaces, to the server's port; the in-cluster database
    admits the server's pods only."""

    def policy(name: str, pod_selector: dict[str, Any], ingress: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": NAMESPACE},
            "spec": {"podSelector": pod_selector, "policyTypes": ["Ingress"], "ingress": ingress},
        }

    teams = {"namespaceSelector": {"matchExpressions": [{"key": TEAM_LABEL, "operator": "Exists"}]}}
    policies = [
        policy("default-deny-ingress", {}, []),
        policy(
            "allow-team-namespaces",
            {"matchLabels": SERVER_LABELS},
            [{"from": [teams], "ports": [{"protocol": "TCP", "port": PORT}]}],
        ),
    ]
    if in_cluster_database:
        server = {"podSelector": {"matchLabels": SERVER_LABELS}}
        policies.append(
            policy(
                "allow-mlflow-to-postgres",
                {"matchLabels": DATABASE_LABELS},
                [{"from": [server], "ports": [{"protocol": "TCP", "port": POSTGRES_PORT}]}],
            )
        )
    return policies


def team_config_map(team: str, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": TEAM_CONFIGMAP, "namespace": namespace, "labels": {TEAM_LABEL: team}},
        "data": {
            "MLFLOW_TRACKING_URI": tracking_uri(),
            "RAYPLAT_MLFLOW_ARTIFACT_LOCATION": team_artifact_location(team),
        },
    }


class MlflowTracking(pulumi.ComponentResource):
    """The tracking server, its database and its identity; a ConfigMap with its URI in every team namespace."""

    uri: str

    def __init__(
        self, name: str, args: TrackingArgs, handle: ClusterHandle, *, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("rayplat:kubernetes:MlflowTracking", name, None, opts)
        child = child_options(self, handle.provider, opts)
        labels = handle.cost_labels
        namespace = k8s.core.v1.Namespace(
            name, metadata=manifests.namespace(NAMESPACE, labels, "restricted")["metadata"], opts=child
        )
        inside = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[namespace]))
        for policy in network_policies(args.in_cluster_database):
            k8s.networking.v1.NetworkPolicy(
                f"{name}-{policy['metadata']['name']}", metadata=policy["metadata"], spec=policy["spec"], opts=inside
            )
        database = self._in_cluster(name, handle, labels, args.database, inside) if args.in_cluster_database else None
        if database is None:
            if handle.postgres is None:
                raise ValueError("tracking.mlflow.database: this cloud offers no managed PostgreSQL")
            database = handle.postgres(f"{name}-db", args.database)
        backend = k8s.core.v1.Secret(
            f"{name}-backend-store",
            metadata={"name": BACKEND_SECRET, "namespace": NAMESPACE},
            string_data={
                BACKEND_KEY: pulumi.Output.all(database.host, database.password).apply(
                    lambda v: backend_store_uri(database, v[0], v[1])
                )
            },
            opts=inside,
        )
        annotations = handle.bind_identity(
            f"{name}-server", NAMESPACE, SERVICE_ACCOUNT, prefix=f"{ARTIFACT_PREFIX}/", opts=inside
        )
        account = k8s.core.v1.ServiceAccount(
            f"{name}-server",
            metadata=annotations.apply(
                lambda a: manifests.service_account(SERVICE_ACCOUNT, NAMESPACE, labels, a)["metadata"]
            ),
            opts=inside,
        )
        manifest = pulumi.Output.all(handle.object_store.uri, annotations).apply(
            lambda v: server_deployment(
                f"{v[0]}/{ARTIFACT_PREFIX}",
                handle.object_store.region,
                handle.system_pool,
                labels,
                args.replicas,
                v[1].get(CREDENTIALS_ANNOTATION),
            )
        )
        k8s.apps.v1.Deployment(
            f"{name}-server",
            metadata=manifest.apply(lambda m: m["metadata"]),
            spec=manifest.apply(lambda m: m["spec"]),
            opts=pulumi.ResourceOptions.merge(
                inside, pulumi.ResourceOptions(depends_on=[backend, account, *database.ready])
            ),
        )
        svc = service("mlflow", SERVER_LABELS, PORT)
        k8s.core.v1.Service(f"{name}-server", metadata=svc["metadata"], spec=svc["spec"], opts=inside)
        if args.replicas > 1:
            budget = manifests.disruption_budget("mlflow", NAMESPACE, SERVER_LABELS)
            k8s.policy.v1.PodDisruptionBudget(
                f"{name}-server", metadata=budget["metadata"], spec=budget["spec"], opts=inside
            )
        for team, team_namespace in args.teams.items():
            config = team_config_map(team, team_namespace)
            k8s.core.v1.ConfigMap(f"{name}-team-{team}", metadata=config["metadata"], data=config["data"], opts=child)
        self.uri = tracking_uri()
        self.register_outputs({"uri": self.uri})

    def _in_cluster(
        self,
        name: str,
        handle: ClusterHandle,
        labels: dict[str, str],
        spec: PostgresSpec,
        opts: pulumi.ResourceOptions,
    ) -> Postgres:
        password = random.RandomPassword(
            f"{name}-postgres", length=40, special=False, opts=pulumi.ResourceOptions(parent=self)
        )
        secret = k8s.core.v1.Secret(
            f"{name}-postgres",
            metadata={"name": POSTGRES_SECRET, "namespace": NAMESPACE},
            string_data={"password": password.result},
            opts=opts,
        )
        # Kept in the cluster when removed from the program: the runs' history is on it.
        claim = k8s.core.v1.PersistentVolumeClaim(
            f"{name}-postgres",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="mlflow-postgres", namespace=NAMESPACE, labels=labels),
            spec=k8s.core.v1.PersistentVolumeClaimSpecArgs(
                access_modes=["ReadWriteOnce"],
                resources=k8s.core.v1.VolumeResourceRequirementsArgs(requests={"storage": f"{spec.storage_gib}Gi"}),
            ),
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(retain_on_delete=True)),
        )
        manifest = database_deployment(handle.system_pool, labels)
        deployment = k8s.apps.v1.Deployment(
            f"{name}-postgres",
            metadata=manifest["metadata"],
            spec=manifest["spec"],
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[secret, claim])),
        )
        svc = service("mlflow-postgres", DATABASE_LABELS, POSTGRES_PORT)
        k8s.core.v1.Service(f"{name}-postgres", metadata=svc["metadata"], spec=svc["spec"], opts=opts)
        return Postgres(
            host=f"mlflow-postgres.{NAMESPACE}.svc.cluster.local",
            port=POSTGRES_PORT,
            database=DATABASE,
            user="platform",
            password=password.result,
            require_tls=False,
            ready=[deployment],
        )
