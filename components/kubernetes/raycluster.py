"""A team's RayCluster as a pure manifest: the head on the system pool, one autoscaled worker group per GPU
pool the team has quota on, the pinned Ray image, storage under the team's prefix, and the team's queue."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from catalog import versions
from catalog.labels import GPU_RESOURCE, GPU_TOLERATION
from catalog.ray_ports import head_container_ports, worker_container_ports
from catalog.ray_sizing import (
    AUTOSCALER_CPU,
    AUTOSCALER_MEMORY,
    CPU_PER_GPU,
    HEAD_CPU,
    HEAD_MEMORY,
    MEMORY_GIB_PER_GPU,
)
from components.nodes import PoolSpec

# The rayproject/ray images run as user `ray`: uid 1000, primary group `users` (gid 100).
RAY_UID = 1000
RAY_GID = 100
# The key KubeRay reads the token from in the Secret authOptions.secretName names (RAY_AUTH_TOKEN_SECRET_KEY).
AUTH_TOKEN_KEY = "auth_token"
# Where the head finds the CA of its GCS Redis when the platform mounts it (a ConfigMap, key REDIS_CA_KEY).
REDIS_CA_DIR = "/etc/rayplat/redis-ca"
REDIS_CA_KEY = "ca.crt"


def auth_secret_name(cluster: str) -> str:
    """The Secret holding a RayCluster's Ray token: KubeRay sets RAY_AUTH_MODE=token and RAY_AUTH_TOKEN from it
    on every Ray container."""
    return f"{cluster}-auth"


def token_auth(secret: str | None = None) -> dict[str, Any]:
    """Ray's token authentication (KubeRay authOptions): on the dashboard, the Jobs API, the GCS and every
    control-plane RPC. Without ``secret``, KubeRay generates one per cluster."""
    return {"mode": "token", **({"secretName": secret} if secret else {})}


@dataclass(frozen=True)
class GcsStore:
    """GCS fault tolerance: the Redis address, and the Secret (name, key) in the cluster's namespace holding
    its password. Never the password itself.

    Over TLS (``rediss://``) Ray's GCS client verifies the server's certificate against RAY_REDIS_CA_CERT:
    a bundle of the image (``ca_file``, for a Redis whose certificate chains to a public CA) or the CA in a
    ConfigMap of the namespace (``ca_config_map``, mounted on the head). ``server_name``: the name the
    certificate carries, for SNI and its check, where the address is a DNS name."""

    address: str
    password_secret: str
    password_key: str
    ca_file: str | None = None
    ca_config_map: str | None = None
    server_name: str | None = None

    def head_env(self) -> list[dict[str, str]]:
        ca = self.ca_file or (f"{REDIS_CA_DIR}/{REDIS_CA_KEY}" if self.ca_config_map else None)
        env = [{"name": "RAY_REDIS_CA_CERT", "value": ca}] if ca else []
        return env + ([{"name": "RAY_REDIS_SERVER_NAME", "value": self.server_name}] if self.server_name else [])


@dataclass(frozen=True)
class GcsVolume:
    """GCS fault tolerance in KubeRay's embedded RocksDB, on the PersistentVolumeClaim ``claim`` of the cluster's
    namespace: KubeRay mounts it on the head and points the GCS at it, and never deletes a claim it is given."""

    claim: str


@dataclass(frozen=True)
class RayClusterSpec:
    name: str
    namespace: str
    service_account: str
    queue: str
    storage_uri: str
    system_pool: PoolSpec
    gpu_pools: list[PoolSpec]
    max_workers_per_pool: int
    gcs: GcsStore | GcsVolume | None = None
    # The Secret holding the cluster's Ray token (None: the cluster's own, auth_secret_name(name)).
    token_secret: str | None = None
    # The registry path the Ray images are pulled through (None: Docker Hub).
    image_mirror: str | None = None
    # Environment variables set from Secrets: (variable, Secret name, key). Never a value.
    secret_env: tuple[tuple[str, str, str], ...] = ()

    @property
    def redis(self) -> GcsStore | None:
        return self.gcs if isinstance(self.gcs, GcsStore) else None


def _resources(cpu: str, memory: str, gpus: int = 0) -> dict[str, Any]:
    limits: dict[str, Any] = {"cpu": cpu, "memory": memory}
    if gpus:
        limits[GPU_RESOURCE] = gpus
    return {"requests": {"cpu": cpu, "memory": memory}, "limits": limits}


def pod_security_context() -> dict[str, Any]:
    """Pod-level settings of the Pod Security Standard 'restricted': every container, the ones KubeRay
    injects included (autoscaler, init), runs as the image's non-root user under the runtime's seccomp profile."""
    return {
        "runAsNonRoot": True,
        "runAsUser": RAY_UID,
        "runAsGroup": RAY_GID,
        "fsGroup": RAY_GID,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security_context() -> dict[str, Any]:
    """Container-level settings of 'restricted' (KubeRay copies the Ray container's to its init containers)."""
    return {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}


def _env(spec: RayClusterSpec) -> list[dict[str, Any]]:
    from_secrets = [
        {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}
        for name, secret, key in spec.secret_env
    ]
    return [{"name": "RAYPLAT_STORAGE_URI", "value": spec.storage_uri}, *from_secrets]


def tolerations(pool: PoolSpec) -> list[dict[str, str]]:
    """Any GPU taint, and each other taint the pool carries exactly as it carries it."""
    own = [{"key": t["key"], "operator": "Equal", "value": t["value"], "effect": t["effect"]} for t in pool.taints]
    return [GPU_TOLERATION, *(t for t in own if t["key"] != GPU_RESOURCE)]


def _worker_group(spec: RayClusterSpec, pool: PoolSpec) -> dict[str, Any]:
    gpus = pool.gpus_per_node
    return {
        "groupName": pool.name,
        "replicas": 0,
        "minReplicas": 0,
        "maxReplicas": min(spec.max_workers_per_pool, pool.max_size),
        "rayStartParams": {},
        "template": {
            "spec": {
                "serviceAccountName": spec.service_account,
                "securityContext": pod_security_context(),
                "nodeSelector": dict(pool.selector),
                "tolerations": tolerations(pool),
                "containers": [
                    {
                        "name": "ray-worker",
                        "image": versions.ray_image(gpu=True, mirror=spec.image_mirror),
                        "securityContext": container_security_context(),
                        "ports": worker_container_ports(),
                        "env": _env(spec),
                        "resources": _resources(str(CPU_PER_GPU * gpus), f"{MEMORY_GIB_PER_GPU * gpus}Gi", gpus),
                    }
                ],
            }
        },
    }


def ray_cluster(spec: RayClusterSpec) -> dict[str, Any]:
    return {
        "apiVersion": "ray.io/v1",
        "kind": "RayCluster",
        "metadata": {
            "name": spec.name,
            "namespace": spec.namespace,
            "labels": {"kueue.x-k8s.io/queue-name": spec.queue},
        },
        "spec": {
            "rayVersion": versions.RAY_VERSION,
            "authOptions": token_auth(spec.token_secret or auth_secret_name(spec.name)),
            "enableInTreeAutoscaling": True,
            "autoscalerOptions": {
                "idleTimeoutSeconds": 300,
                "resources": _resources(AUTOSCALER_CPU, AUTOSCALER_MEMORY),
                "securityContext": container_security_context(),
            },
            "headGroupSpec": {
                "serviceType": "ClusterIP",
                # The head schedules no work: tasks and actors go to the workers.
                "rayStartParams": {"num-cpus": "0"},
                "template": {
                    "spec": {
                        "serviceAccountName": spec.service_account,
                        "securityContext": pod_security_context(),
                        "nodeSelector": dict(spec.system_pool.selector),
                        "containers": [
                            {
                                "name": "ray-head",
                                "image": versions.ray_image(gpu=False, mirror=spec.image_mirror),
                                "securityContext": container_security_context(),
                                "ports": head_container_ports(),
                                "env": _env(spec) + (spec.redis.head_env() if spec.redis else []),
                                "resources": _resources(HEAD_CPU, HEAD_MEMORY),
                                **_ca_mount(spec.redis),
                            }
                        ],
                        **_ca_volume(spec.redis),
                    }
                },
            },
            "workerGroupSpecs": [_worker_group(spec, pool) for pool in spec.gpu_pools],
            **({"gcsFaultToleranceOptions": gcs_fault_tolerance(spec.gcs)} if spec.gcs else {}),
        },
    }


def _ca_mount(store: GcsStore | None) -> dict[str, Any]:
    if store is None or store.ca_config_map is None:
        return {}
    return {"volumeMounts": [{"name": "redis-ca", "mountPath": REDIS_CA_DIR, "readOnly": True}]}


def _ca_volume(store: GcsStore | None) -> dict[str, Any]:
    if store is None or store.ca_config_map is None:
        return {}
    return {"volumes": [{"name": "redis-ca", "configMap": {"name": store.ca_config_map}}]}


def gcs_fault_tolerance(store: GcsStore | GcsVolume) -> dict[str, Any]:
    if isinstance(store, GcsVolume):
        return {"backend": "rocksdb", "storage": {"claimName": store.claim}}
    secret = {"name": store.password_secret, "key": store.password_key}
    return {"redisAddress": store.address, "redisPassword": {"valueFrom": {"secretKeyRef": secret}}}


def example_ray_job(namespace: str, queue: str, storage_uri: str) -> dict[str, Any]:
    """The RayJob a team submits (docs/examples/rayjob.yaml is this, rendered)."""
    cluster = ray_cluster(
        RayClusterSpec(
            name="unused",
            namespace=namespace,
            service_account="ray",
            queue=queue,
            storage_uri=storage_uri,
            system_pool=PoolSpec(name="system", labels={}, taints=[], min_size=1, max_size=1),
            gpu_pools=[],
            max_workers_per_pool=0,
        )
    )["spec"]
    cluster["workerGroupSpecs"] = [
        {
            "groupName": "cpu",
            "replicas": 1,
            "minReplicas": 1,
            "maxReplicas": 1,
            "rayStartParams": {},
            "template": {
                "spec": {
                    "serviceAccountName": "ray",
                    "securityContext": pod_security_context(),
                    "containers": [
                        {
                            "name": "ray-worker",
                            "image": versions.RAY_IMAGE,
                            "securityContext": container_security_context(),
                            "ports": worker_container_ports(),
                            "resources": _resources("2", "8Gi"),
                        }
                    ],
                }
            },
        }
    ]
    del cluster["enableInTreeAutoscaling"], cluster["autoscalerOptions"]
    # The job's own cluster gets its own token, generated by KubeRay.
    cluster["authOptions"] = token_auth()
    return {
        "apiVersion": "ray.io/v1",
        "kind": "RayJob",
        "metadata": {"name": "hello-ray", "namespace": namespace, "labels": {"kueue.x-k8s.io/queue-name": queue}},
        "spec": {
            "entrypoint": 'python -c "import ray; ray.init(); print(ray.cluster_resources())"',
            # Under Kueue the cluster must go when the job ends, or its quota is never released.
            "shutdownAfterJobFinishes": True,
            "ttlSecondsAfterFinished": 60,
            "rayClusterSpec": cluster,
            "submitterPodTemplate": submitter_pod_template(),
        },
    }


def submitter_pod_template(
    node_selector: dict[str, str] | None = None, image_mirror: str | None = None
) -> dict[str, Any]:
    """The pod through which KubeRay submits a RayJob (under Kueue it counts against the queue's quota too)."""
    spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "securityContext": pod_security_context(),
        "containers": [
            {
                "name": "submitter",
                "image": versions.ray_image(gpu=False, mirror=image_mirror),
                "securityContext": container_security_context(),
                "resources": _resources("500m", "1Gi"),
            }
        ],
    }
    if node_selector:
        spec["nodeSelector"] = dict(node_selector)
    return {"spec": spec}
