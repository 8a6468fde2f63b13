"""GKE machine types: CPU machines for the system pool, GPU machines (built-in GPUs or attachable
accelerators), and where the GPUs exist.

Zone availability is a curated snapshot of the GPU regions the platform supports; a zone not listed
here is refused by validation rather than discovered at `pulumi up`. Prices (USD per hour, on-demand,
us-central1, GPU included) are for estimates only.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GpuMachine:
    name: str
    accelerator: str | None  # built in (a2, a3, g2); None for N1, which takes an attached accelerator
    gpus: int
    hourly_usd: float


_MACHINES = [
    ("g2-standard-4", "nvidia-l4", 1, 0.71),
    ("g2-standard-8", "nvidia-l4", 1, 0.85),
    ("g2-standard-12", "nvidia-l4", 1, 1.00),
    ("g2-standard-16", "nvidia-l4", 1, 1.15),
    ("g2-standard-24", "nvidia-l4", 2, 2.00),
    ("g2-standard-32", "nvidia-l4", 1, 1.73),
    ("g2-standard-48", "nvidia-l4", 4, 4.00),
    ("g2-standard-96", "nvidia-l4", 8, 8.00),
    ("a2-highgpu-1g", "nvidia-tesla-a100", 1, 3.67),
    ("a2-highgpu-2g", "nvidia-tesla-a100", 2, 7.35),
    ("a2-highgpu-4g", "nvidia-tesla-a100", 4, 14.69),
    ("a2-highgpu-8g", "nvidia-tesla-a100", 8, 29.39),
    ("a2-ultragpu-1g", "nvidia-a100-80gb", 1, 5.07),
    ("a2-ultragpu-8g", "nvidia-a100-80gb", 8, 40.55),
    ("a3-highgpu-8g", "nvidia-h100-80gb", 8, 88.25),
    ("n1-standard-4", None, 0, 0.19),
    ("n1-standard-8", None, 0, 0.38),
    ("n1-standard-16", None, 0, 0.76),
    ("n1-standard-32", None, 0, 1.52),
]
GPU_MACHINES: dict[str, GpuMachine] = {row[0]: GpuMachine(*row) for row in _MACHINES}

# Accelerators that attach to N1 machines, and how many one machine may carry.
ATTACHABLE = {"nvidia-tesla-t4": (1, 2, 4), "nvidia-tesla-v100": (1, 2, 4, 8)}

ZONE_ACCELERATORS: dict[str, frozenset[str]] = {
    zone: frozenset(accelerators)
    for zone, accelerators in {
        "us-central1-a": ("nvidia-l4", "nvidia-tesla-a100", "nvidia-tesla-t4", "nvidia-tesla-v100", "nvidia-h100-80gb"),
        "us-central1-b": ("nvidia-l4", "nvidia-tesla-a100", "nvidia-tesla-t4", "nvidia-tesla-v100"),
        "us-central1-c": ("nvidia-l4", "nvidia-tesla-a100", "nvidia-tesla-t4", "nvidia-a100-80gb", "nvidia-h100-80gb"),
        "us-central1-f": ("nvidia-tesla-a100", "nvidia-tesla-t4", "nvidia-tesla-v100"),
        "us-east1-b": ("nvidia-l4", "nvidia-tesla-a100", "nvidia-tesla-t4"),
        "us-east1-c": ("nvidia-l4", "nvidia-tesla-t4", "nvidia-tesla-v100"),
        "us-east1-d": ("nvidia-l4", "nvidia-tesla-t4"),
        "us-east4-a": ("nvidia-l4", "nvidia-tesla-t4", "nvidia-h100-80gb"),
        "us-east4-c": ("nvidia-l4", "nvidia-tesla-t4", "nvidia-a100-80gb", "nvidia-h100-80gb"),
        "us-west1-a": ("nvidia-l4", "nvidia-tesla-t4", "nvidia-tesla-v100", "nvidia-h100-80gb"),
        "us-west1-b": ("nvidia-l4", "nvidia-tesla-a100", "nvidia-tesla-t4", "nvidia-tesla-v100"),
        "europe-west4-a": (
            "nvidia-l4",
            "nvidia-tesla-a100",
            "nvidia-tesla-t4",
            "nvidia-tesla-v100",
            "nvidia-a100-80gb",
        ),
        "europe-west4-b": ("nvidia-l4", "nvidia-tesla-a100", "nvidia-tesla-t4", "nvidia-h100-80gb"),
        "europe-west4-c": ("nvidia-l4", "nvidia-tesla-t4", "nvidia-tesla-v100", "nvidia-h100-80gb"),
        "asia-southeast1-b": ("nvidia-l4", "nvidia-tesla-a100", "nvidia-tesla-t4"),
        "asia-southeast1-c": ("nvidia-l4", "nvidia-tesla-a100", "nvidia-tesla-t4", "nvidia-a100-80gb"),
    }.items()
}
# CPU machine types the system pool may use: a curated snapshot of general-purpose families, refused
# otherwise at validation rather than at `pulumi up`.
_CPU_SHAPES = {
    "e2-standard": (2, 4, 8, 16, 32),
    "e2-highmem": (2, 4, 8, 16),
    "e2-highcpu": (2, 4, 8, 16, 32),
    "n2-standard": (2, 4, 8, 16, 32, 48, 64, 80, 96, 128),
    "n2-highmem": (2, 4, 8, 16, 32, 48, 64, 80, 96, 128),
    "n2-highcpu": (2, 4, 8, 16, 32, 48, 64, 80, 96),
    "n2d-standard": (2, 4, 8, 16, 32, 48, 64, 80, 96, 128, 224),
    "n4-standard": (2, 4, 8, 16, 32, 48, 64, 80),
    "c3-standard": (4, 8, 22, 44, 88, 176),
    "t2d-standard": (1, 2, 4, 8, 16, 32, 48, 60),
}
CPU_MACHINES = frozenset(
    [f"{family}-{cpus}" for family, sizes in _CPU_SHAPES.items() for cpus in sizes]
    + [name for name, machine in GPU_MACHINES.items() if machine.gpus == 0]
)
CPU_MACHINE_FAMILIES = tuple(sorted({name.rsplit("-", 1)[0] for name in CPU_MACHINES}))

GCP_REGIONS = frozenset(zone.rsplit("-", 1)[0] for zone in ZONE_ACCELERATORS)


def accelerator_model(accelerator: str) -> str:
    """``nvidia-tesla-a100`` -> ``A100``, ``nvidia-a100-80gb`` -> ``A100-80GB``: the model in labels and reports."""
    return accelerator.removeprefix("nvidia-").removeprefix("tesla-").upper()
