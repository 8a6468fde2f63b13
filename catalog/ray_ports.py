"""Ray's ports, declared on every Ray container the platform creates.

KubeRay declares the metrics port (8080) but not the head's autoscaler (44217) and dashboard (44227)
metrics ports; undeclared, a PodMonitor that names them scrapes nothing.
"""

RAY_METRICS_PORTS = {"metrics": 8080, "as-metrics": 44217, "dash-metrics": 44227}
RAY_SERVICE_PORTS = {"gcs": 6379, "dashboard": 8265, "client": 10001, "serve": 8000}
# The head's GCS, dashboard (and Jobs API) and client ports: no authentication by default.
RAY_HEAD_PORTS = tuple(RAY_SERVICE_PORTS[name] for name in ("gcs", "dashboard", "client"))


def head_container_ports() -> list[dict]:
    ports = {**RAY_SERVICE_PORTS, **RAY_METRICS_PORTS}
    return [{"name": name, "containerPort": port} for name, port in ports.items()]


def worker_container_ports() -> list[dict]:
    return [{"name": "metrics", "containerPort": RAY_METRICS_PORTS["metrics"]}]
