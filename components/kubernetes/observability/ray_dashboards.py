"""Ray's own Grafana dashboards for the pinned Ray, committed as JSON beside this module.

They are generated from the `ray` package by `make dashboards`, never at plan time: importing Ray costs a
plan about half a second and 30 MiB, and Ray's dashboard factory reads `RAY_GRAFANA_*` variables from the
environment, so a developer's shell could change a plan. The generator runs without those variables, and
a test proves that generating again gives the same bytes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from catalog.versions import RAY_VERSION

DASHBOARDS_DIR = Path(__file__).with_name("ray-dashboards")
# Dashboard name -> the function of ray.dashboard.modules.metrics.grafana_dashboard_factory that builds it.
FACTORIES = {
    "ray-default": "generate_default_grafana_dashboard",
    "ray-data": "generate_data_grafana_dashboard",
    "ray-train": "generate_train_grafana_dashboard",
    "ray-serve": "generate_serve_grafana_dashboard",
    "ray-serve-deployment": "generate_serve_deployment_grafana_dashboard",
    "ray-serve-llm": "generate_serve_llm_grafana_dashboard",
}
# Ray's factory reads per-dashboard uid, filter and log-link overrides from these.
_OVERRIDE_PREFIXES = ("RAY_GRAFANA_", "RAY_PROMETHEUS_")


def ray_dashboards(version: str = RAY_VERSION) -> dict[str, str]:
    """Ray's dashboards for ``version``: name -> JSON, as committed."""
    folder = DASHBOARDS_DIR / version
    if not folder.is_dir():
        raise FileNotFoundError(f"no Ray dashboards for ray {version} in {folder}: run `make dashboards`")
    return {name: (folder / f"{name}.json").read_text() for name in FACTORIES}


def generate() -> dict[str, str]:
    """Ray's dashboards as the installed `ray` generates them, whatever the environment says."""
    import ray
    from ray.dashboard.modules.metrics import grafana_dashboard_factory as factory

    if ray.__version__ != RAY_VERSION:
        raise RuntimeError(f"ray {ray.__version__} is installed; the platform pins {RAY_VERSION}")
    with _without_overrides():
        return {name: getattr(factory, function)()[0] for name, function in FACTORIES.items()}


def write(root: Path = DASHBOARDS_DIR) -> Path:
    folder = root / RAY_VERSION
    folder.mkdir(parents=True, exist_ok=True)
    for name, dashboard in generate().items():
        (folder / f"{name}.json").write_text(dashboard)
    return folder


@contextmanager
def _without_overrides() -> Iterator[None]:
    saved = {k: v for k, v in os.environ.items() if k.startswith(_OVERRIDE_PREFIXES)}
    for key in saved:
        del os.environ[key]
    try:
        yield
    finally:
        os.environ.update(saved)


if __name__ == "__main__":
    print(f"wrote {write()}")
