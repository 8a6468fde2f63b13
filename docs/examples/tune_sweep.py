"""Ray Tune: a learning-rate sweep of the regression in train_mlflow.py, every trial a run in MLflow, the trials'
results kept under the team's storage prefix.

    python tune_sweep.py --gpus-per-trial 1       # inside a RayJob (rayplat team job-template --entrypoint ...)
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

import numpy as np
import ray
from ray import tune
from ray.air.integrations.mlflow import MLflowLoggerCallback
from ray.tune import RunConfig, TuneConfig, Tuner
from train_mlflow import TRUE_WEIGHTS, gradient, make_data

EXPERIMENT = "ray-tune-example"
LEARNING_RATES = (0.001, 0.01, 0.1, 0.3)


def trainable(config: dict[str, Any]) -> None:
    features, targets = make_data(config["samples"])
    params = np.zeros(len(TRUE_WEIGHTS) + 1)
    for epoch in range(config["epochs"]):
        grad, loss = gradient(params, features, targets)
        params -= config["lr"] * grad
        tune.report({"epoch": epoch, "loss": loss})


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--samples", type=int, default=1024)
    parser.add_argument("--gpus-per-trial", type=float, default=0)
    parser.add_argument("--name", default="lr-sweep")
    parser.add_argument("--tracking-uri", default=os.environ.get("MLFLOW_TRACKING_URI"))
    parser.add_argument("--storage", default=os.environ.get("RAYPLAT_STORAGE_URI"), help="default: the team's prefix")
    args = parser.parse_args(argv)
    if not args.storage:
        parser.error("--storage or RAYPLAT_STORAGE_URI: where Ray Tune keeps the trials' results")
    ray.init(ignore_reinit_error=True)
    callbacks = []
    if args.tracking_uri:
        callbacks.append(MLflowLoggerCallback(tracking_uri=args.tracking_uri, experiment_name=EXPERIMENT))
    tuner = Tuner(
        tune.with_resources(trainable, {"cpu": 1, "gpu": args.gpus_per_trial}),
        param_space={"lr": tune.grid_search(list(LEARNING_RATES)), "epochs": args.epochs, "samples": args.samples},
        tune_config=TuneConfig(metric="loss", mode="min"),
        run_config=RunConfig(
            name=args.name, storage_path=f"{args.storage.rstrip('/')}/tune-results", callbacks=callbacks
        ),
    )
    results = tuner.fit()
    if results.errors:
        raise RuntimeError(f"{len(results.errors)} trials failed: {results.errors[0]}")
    best = results.get_best_result()
    summary = {"best_lr": best.config["lr"], "loss": best.metrics["loss"], "trials": len(results)}
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
