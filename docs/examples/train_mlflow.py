"""Ray Train: data-parallel training on the job's GPU workers, tracked in MLflow, checkpointed to the team's
storage prefix.

The model is a linear regression in NumPy so that the example runs anywhere (the tests run it on CPUs);
the shape is that of a real job: each worker trains on its shard of the data, the gradients are averaged
across the workers every step, rank 0 logs to MLflow, and every epoch is reported with a checkpoint that
Ray Train keeps under RAYPLAT_STORAGE_URI. For a PyTorch model, use ray.train.torch.TorchTrainer and
prepare_model(): the all-reduce of DistributedDataParallel replaces the averaging actor.

    python train_mlflow.py --workers 2 --gpus-per-worker 1      # inside a RayJob (rayplat team job-template)
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import ray
import ray.train
import ray.train.collective
from ray.train import Checkpoint, RunConfig, ScalingConfig
from ray.train.v2.api.data_parallel_trainer import DataParallelTrainer

EXPERIMENT = "ray-train-example"
TRUE_WEIGHTS = (2.0, -3.0, 0.5)
TRUE_BIAS = 1.0


def make_data(samples: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A small regression problem with known weights, so that a test can tell that training worked."""
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(samples, len(TRUE_WEIGHTS)))
    targets = features @ np.array(TRUE_WEIGHTS) + TRUE_BIAS + rng.normal(scale=0.01, size=samples)
    return features, targets


def gradient(params: np.ndarray, features: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, float]:
    """The mean squared error and its gradient for weights params[:-1] and bias params[-1]."""
    errors = features @ params[:-1] + params[-1] - targets
    grad = np.append(2 * features.T @ errors, 2 * errors.sum()) / len(targets)
    return grad, float(np.mean(errors**2))


@ray.remote(num_cpus=0)
class GradientMean:
    """Averages one gradient per worker and step (what an all-reduce does in a real framework)."""

    def __init__(self, workers: int):
        self.workers = workers
        self.steps: dict[int, list[np.ndarray]] = {}

    def add(self, step: int, grad: np.ndarray) -> None:
        self.steps.setdefault(step, []).append(grad)

    def mean(self, step: int) -> np.ndarray | None:
        grads = self.steps.get(step, [])
        return np.mean(grads, axis=0) if len(grads) == self.workers else None


def train_loop(config: dict[str, Any]) -> None:
    context = ray.train.get_context()
    rank, workers = context.get_world_rank(), context.get_world_size()
    features, targets = make_data(config["samples"])
    features, targets = features[rank::workers], targets[rank::workers]
    params = np.zeros(len(TRUE_WEIGHTS) + 1)
    tracking = rank == 0 and config.get("tracking_uri")
    if tracking:
        mlflow.set_tracking_uri(config["tracking_uri"])
        mlflow.set_experiment(config["experiment"])
        mlflow.start_run(run_name=context.get_experiment_name())
        mlflow.log_params({k: config[k] for k in ("lr", "epochs", "samples")} | {"workers": workers})
    for epoch in range(config["epochs"]):
        grad, loss = gradient(params, features, targets)
        ray.get(config["averager"].add.remote(epoch, grad))
        ray.train.collective.barrier()
        params -= config["lr"] * ray.get(config["averager"].mean.remote(epoch))
        metrics = {"epoch": epoch, "loss": loss}
        if tracking:
            mlflow.log_metric("loss", loss, step=epoch)
        last = epoch == config["epochs"] - 1
        with tempfile.TemporaryDirectory() as folder:
            checkpoint = None
            if rank == 0 and (last or (epoch + 1) % config["checkpoint_every"] == 0):
                np.save(Path(folder) / "params.npy", params)
                checkpoint = Checkpoint.from_directory(folder)
            ray.train.report(metrics, checkpoint=checkpoint)
    if tracking:
        mlflow.log_dict({"weights": params[:-1].tolist(), "bias": float(params[-1])}, "model.json")
        mlflow.end_run()


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--gpus-per-worker", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--checkpoint-every", type=int, default=10)
    parser.add_argument("--lr", type=float, default=0.3)
    parser.add_argument("--samples", type=int, default=2048)
    parser.add_argument("--name", default="linear-regression")
    parser.add_argument("--tracking-uri", default=os.environ.get("MLFLOW_TRACKING_URI"))
    parser.add_argument("--storage", default=os.environ.get("RAYPLAT_STORAGE_URI"), help="default: the team's prefix")
    args = parser.parse_args(argv)
    if not args.storage:
        parser.error("--storage or RAYPLAT_STORAGE_URI: where Ray Train keeps checkpoints")
    ray.init(ignore_reinit_error=True)
    gpus = args.gpus_per_worker
    trainer = DataParallelTrainer(
        train_loop,
        train_loop_config={
            "lr": args.lr,
            "epochs": args.epochs,
            "samples": args.samples,
            "checkpoint_every": args.checkpoint_every,
            "tracking_uri": args.tracking_uri,
            "experiment": EXPERIMENT,
            "averager": GradientMean.remote(args.workers),
        },
        scaling_config=ScalingConfig(
            num_workers=args.workers, use_gpu=gpus > 0, resources_per_worker={"CPU": 1, "GPU": gpus} if gpus else None
        ),
        run_config=RunConfig(name=args.name, storage_path=f"{args.storage.rstrip('/')}/ray-results"),
    )
    result = trainer.fit()
    with result.checkpoint.as_directory() as folder:
        params = np.load(Path(folder) / "params.npy")
    summary = {
        "loss": result.metrics["loss"],
        "weights": params[:-1].tolist(),
        "bias": float(params[-1]),
        "checkpoint": result.checkpoint.path,
    }
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
