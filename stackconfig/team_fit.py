"""A team's standing RayCluster fits the team's own CPU and memory quota with every worker group at its
maximum: otherwise Kueue and the namespace's ResourceQuota keep the cluster from ever reaching it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from catalog.ray_sizing import CPU_PER_GPU, MEMORY_GIB_PER_GPU, quantity, standing_cluster_needs
from stackconfig.base import Problem
from stackconfig.teams import TeamConfig


def team_cluster_problems(teams: list[TeamConfig], pools: Mapping[str, tuple[int, int]]) -> Iterable[Problem]:
    """``pools``: each GPU pool's maximum node count and GPUs per node."""
    for i, team in enumerate(teams):
        if team.ray_cluster is None:
            continue
        groups = [
            (min(team.ray_cluster.max_workers_per_pool, pools[name][0]), pools[name][1], name)
            for name in team.gpu_quota
            if name in pools
        ]
        needs = standing_cluster_needs([(replicas, gpus) for replicas, gpus, _ in groups])
        workers = "".join(f" + {n} {name} workers x {gpus} GPUs" for n, gpus, name in groups if n)
        how = f"(head and autoscaler{workers}; per GPU {CPU_PER_GPU} CPUs and {MEMORY_GIB_PER_GPU}Gi)"
        fix = "raise the team's quota or lower rayCluster.maxWorkersPerPool"
        if needs.cpu > quantity(team.cpu):
            yield Problem(
                f"teams[{i}].rayCluster",
                f"at its maximum the team's RayCluster requests {needs.cpu:g} CPUs {how}, more than the team's "
                f"cpu quota of {team.cpu}: {fix}",
            )
        if needs.memory > quantity(team.memory):
            yield Problem(
                f"teams[{i}].rayCluster",
                f"at its maximum the team's RayCluster requests {needs.memory_gib:g}Gi of memory {how}, more than "
                f"the team's memory quota of {team.memory}: {fix}",
            )
