"""Ray Serve: the regression model of train_mlflow.py behind an autoscaled deployment.

The weights come from the deployment's user_config (in a RayService, serveConfigV2's `user_config`), so
that a new model is a config change that Serve applies to running replicas without a restart. The
autoscaling bounds and the GPUs per replica are set in the RayService (see rayservice.yaml).

    POST /  {"features": [[1.0, 2.0, 3.0]]}   ->   {"predictions": [...]}
"""

from __future__ import annotations

from typing import Any

import numpy as np
from ray import serve
from starlette.requests import Request


@serve.deployment(
    autoscaling_config={"min_replicas": 1, "max_replicas": 2, "target_ongoing_requests": 4},
    ray_actor_options={"num_cpus": 0.5},
)
class LinearModel:
    def __init__(self) -> None:
        self.weights: np.ndarray | None = None
        self.bias = 0.0

    def reconfigure(self, config: dict[str, Any]) -> None:
        self.weights = np.asarray(config["weights"], dtype=float)
        self.bias = float(config["bias"])

    def predict(self, features: list[list[float]]) -> list[float]:
        if self.weights is None:
            raise RuntimeError("no model: set the deployment's user_config to {weights: [...], bias: ...}")
        rows = np.asarray(features, dtype=float)
        if rows.ndim != 2 or rows.shape[1] != len(self.weights):
            raise ValueError(f"features must be rows of {len(self.weights)} numbers")
        return (rows @ self.weights + self.bias).tolist()

    async def __call__(self, request: Request) -> dict[str, Any]:
        body = await request.json()
        return {"predictions": self.predict(body["features"])}


app = LinearModel.bind()
