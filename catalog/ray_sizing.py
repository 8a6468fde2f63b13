"""What a team's standing RayCluster asks of the team's CPU and memory quota: the head, its autoscaler, and
per GPU of each worker some CPUs and memory besides the GPU. The manifest and the config's fit rule read these."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Per GPU on a worker: what Ray gets besides the GPU itself. Nodes keep room for system daemons.
CPU_PER_GPU = 2
MEMORY_GIB_PER_GPU = 8
HEAD_CPU, HEAD_MEMORY = "2", "8Gi"
AUTOSCALER_CPU, AUTOSCALER_MEMORY = "500m", "512Mi"

_QUANTITY = re.compile(r"^(\d+(?:\.\d+)?)(m|Ki|Mi|Gi|Ti)?$")
_FACTORS = {None: 1.0, "m": 0.001, "Ki": 2.0**10, "Mi": 2.0**20, "Gi": 2.0**30, "Ti": 2.0**40}


def quantity(text: str) -> float:
    """A Kubernetes CPU or memory quantity of the forms the config accepts (``48``, ``500m``, ``192Gi``)."""
    match = _QUANTITY.match(text)
    if match is None:
        raise ValueError(f"'{text}' is not a quantity")
    return float(match[1]) * _FACTORS[match[2]]


@dataclass(frozen=True)
class ClusterNeeds:
    """CPUs and bytes of memory a RayCluster requests with every worker group at its maximum."""

    cpu: float
    memory: float

    @property
    def memory_gib(self) -> float:
        return self.memory / 2.0**30


def standing_cluster_needs(worker_groups: list[tuple[int, int]]) -> ClusterNeeds:
    """The needs of a cluster whose worker groups are (max replicas, GPUs per worker)."""
    cpu = quantity(HEAD_CPU) + quantity(AUTOSCALER_CPU)
    memory = quantity(HEAD_MEMORY) + quantity(AUTOSCALER_MEMORY)
    for replicas, gpus in worker_groups:
        cpu += replicas * CPU_PER_GPU * gpus
        memory += replicas * MEMORY_GIB_PER_GPU * gpus * 2.0**30
    return ClusterNeeds(cpu, memory)
