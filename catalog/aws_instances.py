"""The AWS GPU instance types the platform knows: accelerator, count and on-demand list price.

Prices are us-east-1 on-demand list prices in USD per hour, used for estimates and reports only.
"""

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class GpuInstanceType:
    name: str
    gpu_model: str
    gpus: int
    vcpus: int
    memory_gib: int
    hourly_usd: float

    @property
    def family(self) -> str:
        return self.name.split(".", 1)[0]


_CATALOG = [
    # name, GPU model, GPUs, vCPUs, memory GiB, USD/h
    ("g4dn.xlarge", "T4", 1, 4, 16, 0.526),
    ("g4dn.2xlarge", "T4", 1, 8, 32, 0.752),
    ("g4dn.4xlarge", "T4", 1, 16, 64, 1.204),
    ("g4dn.8xlarge", "T4", 1, 32, 128, 2.176),
    ("g4dn.12xlarge", "T4", 4, 48, 192, 3.912),
    ("g4dn.16xlarge", "T4", 1, 64, 256, 4.352),
    ("g4dn.metal", "T4", 8, 96, 384, 7.824),
    ("g5.xlarge", "A10G", 1, 4, 16, 1.006),
    ("g5.2xlarge", "A10G", 1, 8, 32, 1.212),
    ("g5.4xlarge", "A10G", 1, 16, 64, 1.624),
    ("g5.8xlarge", "A10G", 1, 32, 128, 2.448),
    ("g5.12xlarge", "A10G", 4, 48, 192, 5.672),
    ("g5.16xlarge", "A10G", 1, 64, 256, 4.096),
    ("g5.24xlarge", "A10G", 4, 96, 384, 8.144),
    ("g5.48xlarge", "A10G", 8, 192, 768, 16.288),
    ("g6.xlarge", "L4", 1, 4, 16, 0.805),
    ("g6.2xlarge", "L4", 1, 8, 32, 0.978),
    ("g6.4xlarge", "L4", 1, 16, 64, 1.323),
    ("g6.8xlarge", "L4", 1, 32, 128, 2.014),
    ("g6.12xlarge", "L4", 4, 48, 192, 4.602),
    ("g6.48xlarge", "L4", 8, 192, 768, 13.350),
    ("g6e.xlarge", "L40S", 1, 4, 32, 1.861),
    ("g6e.2xlarge", "L40S", 1, 8, 64, 2.242),
    ("g6e.12xlarge", "L40S", 4, 48, 384, 10.493),
    ("g6e.48xlarge", "L40S", 8, 192, 1536, 30.131),
    ("p3.2xlarge", "V100", 1, 8, 61, 3.060),
    ("p3.8xlarge", "V100", 4, 32, 244, 12.240),
    ("p4d.24xlarge", "A100", 8, 96, 1152, 21.958),
    ("p5.48xlarge", "H100", 8, 192, 2048, 55.040),
]

GPU_INSTANCE_TYPES: dict[str, GpuInstanceType] = {row[0]: GpuInstanceType(*row) for row in _CATALOG}
GPU_FAMILIES = frozenset(t.family for t in GPU_INSTANCE_TYPES.values())


def gpu_instance_type(name: str) -> GpuInstanceType | None:
    return GPU_INSTANCE_TYPES.get(name)


def gpus_per_node(instance_types: Iterable[str]) -> int | None:
    """GPUs of one node of a pool of these instance types (the most any known type holds), None if none is a
    known GPU type."""
    known = [GPU_INSTANCE_TYPES[t].gpus for t in instance_types if t in GPU_INSTANCE_TYPES]
    return max(known) if known else None
