"""docs/examples/: the manifests are what the platform generates and valid against the pinned KubeRay CRDs, and
the Python entrypoints (Ray Train to MLflow, a Tune sweep, a Serve deployment) run on a real local Ray,
CPU-only, on data they make. One Ray per module, with docs/examples/ as its working directory."""

from __future__ import annotations

import importlib
import json
import sys
import urllib.request
from pathlib import Path

import mlflow
import pytest
import ray
import yaml
from ray import serve

from rayplat.templates import EXAMPLES_DIR, examples
from tests.crd_support import validate_kuberay
from tests.processes import LOCALHOST, free_port

# MLflow 3 refuses its file store unless asked: the tests track to files, a stack to its tracking server.
FILE_STORE = {"MLFLOW_ALLOW_FILE_STORE": "true"}


@pytest.mark.parametrize("name", sorted(examples()))
def test_example_manifests_are_current_and_valid(name, upstream_dir):
    document = yaml.safe_load((EXAMPLES_DIR / name).read_text())
    assert document == examples()[name], f"docs/examples/{name} is stale: run python -m rayplat.templates"
    validate_kuberay(upstream_dir, document)


def test_every_example_manifest_names_code_that_exists():
    manifests = examples()
    scripts = [manifests[n]["spec"]["entrypoint"].split()[1] for n in ("rayjob-train.yaml", "rayjob-tune.yaml")]
    assert all((EXAMPLES_DIR / script).is_file() for script in scripts), scripts
    serve_config = yaml.safe_load(manifests["rayservice.yaml"]["spec"]["serveConfigV2"])
    module = serve_config["applications"][0]["import_path"].split(":")[0]
    assert (EXAMPLES_DIR / f"{module}.py").is_file()


@pytest.fixture(scope="module")
def local_ray():
    # Without RAY_AUTH_MODE, a local Ray 2.60 writes a token to ~/.ray/auth_token, and every later `ray start`
    # on the machine then demands it: this loopback-only Ray runs without, and leaves nothing behind.
    patch = pytest.MonkeyPatch()
    patch.setenv("RAY_AUTH_MODE", "disabled")
    sys.path.insert(0, str(EXAMPLES_DIR))
    ray.init(
        num_cpus=4,
        include_dashboard=False,
        _node_ip_address=LOCALHOST,
        runtime_env={"working_dir": str(EXAMPLES_DIR), "env_vars": FILE_STORE},
        log_to_driver=False,
    )
    try:
        yield
    finally:
        ray.shutdown()
        sys.path.remove(str(EXAMPLES_DIR))
        patch.undo()


@pytest.fixture
def tracking(tmp_path, monkeypatch):
    for key, value in FILE_STORE.items():
        monkeypatch.setenv(key, value)
    return f"file://{tmp_path}/mlruns"


def test_the_local_ray_left_no_token_that_would_lock_later_heads(local_ray):
    assert not (Path.home() / ".ray" / "auth_token").exists()


def _runs(tracking_uri: str, experiment: str):
    client = mlflow.MlflowClient(tracking_uri)
    return client, client.search_runs([client.get_experiment_by_name(experiment).experiment_id])


def test_ray_train_learns_checkpoints_to_storage_and_logs_to_mlflow(local_ray, tracking, tmp_path):
    train = importlib.import_module("train_mlflow")
    storage = tmp_path / "teams" / "vision"
    summary = train.main(["--workers", "2", "--epochs", "10", "--storage", str(storage), "--tracking-uri", tracking])
    assert summary["weights"] == pytest.approx(train.TRUE_WEIGHTS, abs=0.05)
    assert summary["bias"] == pytest.approx(train.TRUE_BIAS, abs=0.05)
    assert summary["checkpoint"].startswith(str(storage / "ray-results"))
    client, (run,) = _runs(tracking, train.EXPERIMENT)
    assert run.data.params["workers"] == "2" and run.data.params["epochs"] == "10"
    losses = [m.value for m in client.get_metric_history(run.info.run_id, "loss")]
    assert len(losses) == 10 and losses[-1] < losses[0] / 100
    model = json.loads(Path(client.download_artifacts(run.info.run_id, "model.json", str(tmp_path))).read_text())
    assert model == {"weights": summary["weights"], "bias": summary["bias"]}


def test_tune_sweeps_the_learning_rate_with_a_run_per_trial(local_ray, tracking, tmp_path):
    sweep = importlib.import_module("tune_sweep")
    summary = sweep.main(["--epochs", "10", "--storage", str(tmp_path), "--tracking-uri", tracking])
    assert summary["trials"] == len(sweep.LEARNING_RATES)
    assert summary["best_lr"] == max(sweep.LEARNING_RATES)
    assert (tmp_path / "tune-results" / "lr-sweep").is_dir()
    _, runs = _runs(tracking, sweep.EXPERIMENT)
    assert sorted(float(r.data.params["lr"]) for r in runs) == sorted(sweep.LEARNING_RATES)


def test_serve_answers_over_http_with_the_rayservice_settings(local_ray):
    (application,) = yaml.safe_load(examples()["rayservice.yaml"]["spec"]["serveConfigV2"])["applications"]
    (deployment,) = application["deployments"]
    module, attribute = application["import_path"].split(":")
    serve_app = importlib.import_module(module)
    assert isinstance(getattr(serve_app, attribute), serve.Application)
    port = free_port()
    serve.start(http_options={"host": LOCALHOST, "port": port})
    try:
        bound = serve_app.LinearModel.options(
            name=deployment["name"],
            autoscaling_config=deployment["autoscaling_config"],
            user_config=deployment["user_config"],
            ray_actor_options={**deployment["ray_actor_options"], "num_gpus": 0},  # the tests have no GPU
        ).bind()
        serve.run(bound, name=application["name"], route_prefix="/")
        request = urllib.request.Request(
            f"http://{LOCALHOST}:{port}/",
            data=json.dumps({"features": [[1.0, 1.0, 2.0], [0.0, 0.0, 0.0]]}).encode(),
            headers={"content-type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = json.loads(response.read())
        assert answer["predictions"] == pytest.approx([2.0 - 3.0 + 1.0 + 1.0, 1.0])
    finally:
        serve.shutdown()
