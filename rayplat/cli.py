"""The rayplat command line."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from rayplat.heap import short_lived_heap
from rayplat.output import CliConsole
from rayplat.plan.engine import STACKS_DIR
from stackconfig.errors import ConfigError

app = typer.Typer(
    help="ray-platform tooling: offline plans of the Pulumi program.", no_args_is_help=True, add_completion=False
)
console = CliConsole()
errors = CliConsole(stderr=True)

StackOption = Annotated[str, typer.Option("--stack", "-s", help="Stack name: <stacks-dir>/Pulumi.<stack>.yaml")]
StacksDirOption = Annotated[Path, typer.Option("--stacks-dir", help="Where the stack files are")]


def run() -> None:
    """The console entry point."""
    with short_lived_heap():
        app()


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        console.print(f"rayplat {version('ray-platform')}", markup=False, highlight=False)
        raise typer.Exit()


@app.callback()
def main(
    _: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit")
    ] = False,
) -> None:
    """ray-platform tooling."""


@app.command()
def plan(
    stack: StackOption = "dev",
    stacks_dir: StacksDirOption = STACKS_DIR,
    json_file: Annotated[Path | None, typer.Option("--json", help="Write the plan as JSON to this file")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No summary")] = False,
) -> None:
    """Evaluate a stack's program offline (Pulumi mock engine) and show every resource it registers."""
    from rayplat.plan.summary import print_summary

    result = _plan_or_exit(stack, stacks_dir)
    if json_file is not None:
        result.write(json_file)
    if not quiet:
        print_summary(result, console)
        if json_file is not None:
            console.print(f"plan written to {json_file}", markup=False, highlight=False)


def _fail(message: object) -> typer.Exit:
    # The message is the user's text (key paths, patterns such as '[a-z]'), never markup; unwrapped, so
    # that a key path or pattern stays whole on one line.
    errors.print(f"[bold red]error:[/] {escape(str(message))}", highlight=False, soft_wrap=True)
    return typer.Exit(code=2)


def _plan_or_exit(stack: str, stacks_dir: Path):
    from rayplat.plan import plan_stack

    try:
        return plan_stack(stack, stacks_dir)
    except (ConfigError, FileNotFoundError) as exc:
        raise _fail(exc) from None


@app.command()
def check(
    stack: Annotated[
        str | None, typer.Option("--stack", "-s", help="Stack name (default: the --plan's stack, else dev)")
    ] = None,
    stacks_dir: StacksDirOption = STACKS_DIR,
    output_format: Annotated[str, typer.Option("--format", "-f", help="text, json, sarif or junit")] = "text",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the report to this file")] = None,
    policy_config: Annotated[
        Path | None, typer.Option("--policy-config", help="Policy config (default: policies/config/<stack>.json)")
    ] = None,
    allow_missing_policy_config: Annotated[
        bool,
        typer.Option(
            "--allow-missing-policy-config", help="Check a stack that has no policy config with every rule advisory"
        ),
    ] = False,
    plan_file: Annotated[
        Path | None, typer.Option("--plan", help="Check this plan JSON (`rayplat plan --json`) instead of planning")
    ] = None,
    policies_from: Annotated[
        str | None,
        typer.Option(
            "--policies-from",
            help="Judge the working tree's plan by the policy pack and policy config of this git ref (a PR's base)",
        ),
    ] = None,
) -> None:
    """Plan a stack offline and run the policy pack on it, as `pulumi preview --policy-pack policies` would.
    Exits 1 when a mandatory policy is violated."""
    from rayplat.check import reports
    from rayplat.check.engine import PolicyConfigError, check_plan, load_policy_config, policy_config_path

    if output_format not in reports.FORMATS:
        raise _fail(f"--format must be one of {', '.join(reports.FORMATS)}, not '{output_format}'")
    planned = _read_plan_or_exit(plan_file) if plan_file is not None else None
    if planned is not None and stack is not None and planned.stack != stack:
        raise _fail(f"--plan {plan_file} is a plan of stack '{planned.stack}', not '{stack}'")
    stack = planned.stack if planned is not None else stack or "dev"
    if policies_from is not None:
        if policy_config is not None or planned is not None:
            raise _fail("--policies-from takes the policy config from the ref and plans the working tree itself")
        _check_with_policies_from(stack, stacks_dir, policies_from, output_format, output, allow_missing_policy_config)
        return
    if planned is None:  # the stack file's own errors come first
        planned = _plan_or_exit(stack, stacks_dir)
    config_file = policy_config or policy_config_path(stack)
    if policy_config is not None and not policy_config.is_file():
        raise _fail(f"policy config {policy_config} does not exist")
    if not config_file.is_file():
        if not allow_missing_policy_config:
            raise _fail(
                f"stack '{stack}' has no policy config: create {config_file} (levels and parameters per rule, "
                "see docs/policies.md), or pass --allow-missing-policy-config to check with every rule advisory"
            )
        errors.print(
            f"warning: no policy config {config_file}: every rule is advisory, nothing can fail this check",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    try:
        report = check_plan(planned, load_policy_config(config_file))
    except (PolicyConfigError, ValueError) as exc:
        raise _fail(f"{config_file}: {exc}") from None
    _emit(report, output_format, output, f"{stacks_dir.name}/Pulumi.{stack}.yaml")
    if report.mandatory_failures:
        raise typer.Exit(code=1)


def _read_plan_or_exit(path: Path):
    from rayplat.plan import Plan

    try:
        return Plan.read(path)
    except (OSError, ValueError) as exc:
        raise _fail(f"plan file {path}: {exc}") from None


def _check_with_policies_from(
    stack: str, stacks_dir: Path, ref: str, output_format: str, output: Path | None, allow_missing: bool
) -> None:
    """Plan the working tree, then let the ref's own `rayplat check --plan` judge that plan with its pack and
    its policy config, so a change cannot weaken the rules it is judged by."""
    import sys
    import tempfile

    from rayplat.diff.git import RUN_CLI, BasePlanError, run_in, worktree_at

    planned = _plan_or_exit(stack, stacks_dir)
    with tempfile.TemporaryDirectory(prefix="rayplat-head-") as tmp:
        plan_json = Path(tmp) / "plan.json"
        planned.write(plan_json)
        args = ["-c", RUN_CLI, "check", "--plan", str(plan_json), "--stack", stack, "--format", output_format]
        args += ["--output", str(output.resolve())] if output is not None else []
        args += ["--allow-missing-policy-config"] if allow_missing else []
        try:
            with worktree_at(ref) as worktree:
                result = run_in(worktree, *args)
        except BasePlanError as exc:
            raise _fail(f"--policies-from {ref}: {exc}") from None
    errors.print(f"judged by the policy pack and policy config of {ref}", markup=False, highlight=False)
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    if result.returncode != 0:
        raise typer.Exit(code=result.returncode)


def _emit(report, output_format: str, output: Path | None, stack_file: str) -> None:
    from rayplat.check import reports

    if output_format == "text":
        _print_report(lambda target: reports.print_text(report, target), output)
        return
    text = {
        "json": lambda: reports.to_json(report),
        "sarif": lambda: reports.to_sarif(report, stack_file),
        "junit": lambda: reports.to_junit(report),
    }[output_format]()
    _write_or_print(text, output)


@app.command()
def policies(
    markdown: Annotated[bool, typer.Option("--markdown", help="The catalog table of docs/policies.md")] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Each rule's name, default level and default parameters, as JSON")
    ] = False,
) -> None:
    """List the rules of the policy pack."""
    import json

    from policies import ALL_POLICIES
    from rayplat.check import reports
    from rayplat.diff.policyconfig import rule_listing

    if as_json:
        console.out(json.dumps(rule_listing(ALL_POLICIES), indent=2, sort_keys=True), highlight=False)
        return
    if markdown:
        console.out(reports.catalog_markdown(ALL_POLICIES), end="", highlight=False)
        return
    table = Table(title=f"{len(ALL_POLICIES)} rules", title_justify="left")
    for column in ("rule", "area", "severity", "description"):
        table.add_column(column)
    for policy in ALL_POLICIES:
        table.add_row(*map(Text, (policy.name, reports.area(policy), reports.severity(policy), policy.description)))
    console.print(table)


@app.command()
def cost(
    stack: StackOption = "dev",
    stacks_dir: StacksDirOption = STACKS_DIR,
    utilisation: Annotated[
        float, typer.Option("--utilisation", min=0.0, max=1.0, help="Share of each pool's range in use (expected)")
    ] = 0.3,
    output_format: Annotated[str, typer.Option("--format", "-f", help="text, json or markdown")] = "text",
    plan_file: Annotated[Path | None, typer.Option("--plan", help="A plan JSON (`rayplat plan --json`)")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the report to this file")] = None,
    all_stacks: Annotated[
        bool, typer.Option("--all", help="One markdown table of every stack's floor, expected and ceiling")
    ] = False,
) -> None:
    """What a stack costs a month: idle floor, expected and ceiling, per component, pool and team."""
    from rayplat.cost import report

    if output_format not in ("text", "json", "markdown"):
        raise _fail(f"--format must be text, json or markdown, not '{output_format}'")
    if all_stacks:
        names = sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in stacks_dir.glob("Pulumi.*.yaml"))
        _write_or_print(report.stacks_table([_plan_or_exit(n, stacks_dir) for n in names], utilisation), output)
        return
    planned = _read_plan_or_exit(plan_file) if plan_file is not None else _plan_or_exit(stack, stacks_dir)
    if output_format == "text":
        _print_report(lambda target: report.print_text(planned, target, utilisation), output)
        return
    render = report.to_json if output_format == "json" else report.to_markdown
    _write_or_print(render(planned, utilisation), output)


@app.command()
def diff(
    stack: StackOption = "dev",
    base: Annotated[str | None, typer.Option("--base", help="Git ref to compare the working tree with")] = None,
    base_plan: Annotated[Path | None, typer.Option("--base-plan", help="Plan JSON of the base")] = None,
    head_plan: Annotated[Path | None, typer.Option("--head-plan", help="Plan JSON of the head")] = None,
    output_format: Annotated[str, typer.Option("--format", "-f", help="markdown or json")] = "markdown",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the report to this file")] = None,
    policy_config: Annotated[
        Path | None, typer.Option("--policy-config", help="Policy config (default: policies/config/<stack>.json)")
    ] = None,
    base_policy_config: Annotated[
        Path | None,
        typer.Option("--base-policy-config", help="With --base-plan: the base's policy config, to show its changes"),
    ] = None,
    head_policy_config: Annotated[
        Path | None,
        typer.Option("--head-policy-config", help="With --head-plan: the head's policy config, to show its changes"),
    ] = None,
) -> None:
    """What a change does to a stack: the plan at a git ref (or a plan file) against the working tree (or a
    plan file), field by field, with what a reviewer must not miss, and the policy results that change."""
    from policies import ALL_POLICIES
    from rayplat.check.engine import PolicyConfigError, check_plan, load_policy_config, policy_config_path
    from rayplat.diff import report
    from rayplat.diff.cost import cost_change
    from rayplat.diff.engine import diff_plans, policy_changes
    from rayplat.diff.git import BasePlanError, base_at_ref
    from rayplat.diff.policyconfig import compare, read_config, rule_listing

    if output_format not in ("markdown", "json"):
        raise _fail(f"--format must be markdown or json, not '{output_format}'")
    if (base is None) == (base_plan is None):
        raise _fail("give either --base REF or --base-plan FILE")
    if base is not None and base_policy_config is not None:
        raise _fail("--base-policy-config goes with --base-plan; with --base the ref's own config is read")
    head_rules = rule_listing(ALL_POLICIES)
    try:
        if base_plan is not None:
            before = _read_plan_or_exit(base_plan)
            base_rules, base_config = head_rules, read_config(base_policy_config or policy_config_path(stack))
        else:
            state = base_at_ref(stack, str(base))
            before, base_rules, base_config = state.plan, state.rules, state.policy_config
        head_config = read_config(head_policy_config or policy_config_path(stack))
    except (BasePlanError, OSError, ValueError) as exc:
        raise _fail(exc) from None
    after = _read_plan_or_exit(head_plan) if head_plan is not None else _plan_or_exit(stack, STACKS_DIR)
    changes = diff_plans(before, after)
    changes.rule_changes = compare(base_rules, base_config, head_rules, head_config)
    config_file = policy_config or policy_config_path(changes.stack)
    try:
        config = load_policy_config(config_file)
        policy_changes(changes, check_plan(before, config), check_plan(after, config))
        changes.cost = cost_change(before, after, base_config)
    except PolicyConfigError as exc:
        raise _fail(f"{config_file}: {exc}") from None
    _write_or_print(report.to_markdown(changes) if output_format == "markdown" else report.to_json(changes), output)


prices_app = typer.Typer(help="The price catalogue (catalog/prices.json) the cost figures use.", no_args_is_help=True)
app.add_typer(prices_app, name="prices")


@prices_app.command("refresh")
def prices_refresh() -> None:
    """Rewrite the price catalogue from the AWS Price List API and the GCP Cloud Billing Catalog API, where
    credentials allow (AWS: boto3's credential chain; GCP: RAYPLAT_GCP_API_KEY)."""
    from rayplat.cost.refresh import NoCredentials, clients_from_environment, refresh

    aws, gcp_key = clients_from_environment()
    try:
        for line in refresh(aws_client=aws, gcp_api_key=gcp_key):
            console.print(line, markup=False, highlight=False)
    except NoCredentials as exc:
        raise _fail(exc) from None


@app.command()
def connect(
    stack: StackOption,
    what: Annotated[str, typer.Argument(help="dashboard, jobs (the Ray Jobs API) or grafana")] = "dashboard",
    team: Annotated[str | None, typer.Option("--team", "-t", help="The team whose Ray cluster to reach")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Local port (default 8265, Grafana 3000)")] = None,
    context: Annotated[str | None, typer.Option("--context", help="kubectl context (default: current)")] = None,
    kubectl: Annotated[str, typer.Option("--kubectl", help="The kubectl command to run")] = "kubectl",
    stacks_dir: StacksDirOption = STACKS_DIR,
) -> None:
    """Port-forward to a team's Ray head (dashboard, Jobs API) or to Grafana, with the team's Ray token fetched
    from its Secret into a private file, and print the `ray job submit` line that uses it. Holds the forward
    until Ctrl-C. Exits 2 on bad input or when the cluster cannot be reached."""
    import shlex

    from rayplat import connect as connecting
    from rayplat.plan.engine import read_stack_config
    from stackconfig.loading import parse_stack_config

    if what != "grafana" and team is None:
        raise _fail(f"--team is required for {what}")
    try:
        config = parse_stack_config(read_stack_config(stack, stacks_dir))
        code = connecting.connect(
            config,
            team or "",
            what,
            port=port,
            kubectl=connecting.Kubectl(shlex.split(kubectl), context),
            say=lambda line: console.print(line, highlight=False, markup=False, soft_wrap=True),
        )
    except (ConfigError, FileNotFoundError, connecting.ConnectError) as exc:
        raise _fail(exc) from None
    if code:
        raise _fail(f"the port-forward ended with exit code {code}")


runbook_app = typer.Typer(
    help="Runbooks a machine can run (docs/runbooks/): a Ray cluster smoke test, an AWS account audit.",
    no_args_is_help=True,
)
app.add_typer(runbook_app, name="runbook")

OutputsOption = Annotated[
    Path | None,
    typer.Option("--outputs", help="The stack's outputs: `pulumi stack output --json > FILE` (default: offline plan)"),
]


@runbook_app.command("smoke-test")
def smoke_test(
    address: Annotated[
        str | None, typer.Option("--address", help="Ray dashboard URL (default with --stack: http://127.0.0.1:8265)")
    ] = None,
    stack: Annotated[
        str | None, typer.Option("--stack", "-s", help="Take the storage defaults from this stack")
    ] = None,
    outputs: OutputsOption = None,
    stacks_dir: StacksDirOption = STACKS_DIR,
    expect_gpus: Annotated[int, typer.Option("--expect-gpus", help="GPUs the cluster must offer")] = 0,
    storage_uri: Annotated[
        str | None, typer.Option("--storage-uri", help="s3:// or gs://bucket/prefix (default: the stack's bucket)")
    ] = None,
    s3_endpoint: Annotated[
        str | None,
        typer.Option("--s3-endpoint", help="S3-compatible endpoint (MinIO); the job gets this shell's AWS_* keys"),
    ] = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds the job may take, GPU scale-up included")] = 300,
    json_file: Annotated[Path | None, typer.Option("--json", help="Write the result as JSON to this file")] = None,
) -> None:
    """Run a Ray job on a cluster through the Ray Jobs API: resources, tasks, an actor, the artifact store.
    Exits 1 when a step fails (unreachable, job failed, GPUs absent, storage denied), 2 on bad input."""
    from rayplat.runbooks import smoke
    from rayplat.runbooks.outputs import offline_outputs
    from rayplat.runbooks.progress import Progress

    stack_outputs = None
    if outputs is not None:
        stack_outputs = _read_outputs(outputs)
    elif stack is not None:
        stack_outputs = offline_outputs(_plan_or_exit(stack, stacks_dir))
    try:
        options = smoke.options_from(
            address=address,
            outputs=stack_outputs,
            expect_gpus=expect_gpus,
            storage_uri=storage_uri,
            s3_endpoint=s3_endpoint,
            timeout=timeout,
        )
    except ValueError as exc:
        raise _fail(exc) from None
    for name in ("ray", "ray.dashboard.modules.dashboard_sdk"):  # not Ray's notes on uploading the job's files
        logging.getLogger(name).setLevel(logging.WARNING)
    result = smoke.run_smoke_test(options, Progress(errors))
    if json_file is not None:
        result.write(json_file)
    if result.ok:
        console.print(f"[green]smoke test passed[/] in {result.seconds:.1f}s", highlight=False)
        return
    # The first line: the failed step above already showed the whole message (a job's logs, for one).
    first_line = (result.error or "").partition("\n")[0]
    console.print(f"[bold red]smoke test failed:[/] {escape(first_line)}", highlight=False)
    raise typer.Exit(code=1)


@runbook_app.command()
def audit(
    stack: Annotated[str, typer.Option("--stack", "-s", help="Stack name: <stacks-dir>/Pulumi.<stack>.yaml")],
    outputs: OutputsOption = None,
    stacks_dir: StacksDirOption = STACKS_DIR,
    output_format: Annotated[str, typer.Option("--format", "-f", help="text or json")] = "text",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the report to this file")] = None,
    skip: Annotated[
        list[str] | None, typer.Option("--skip", help="A check to leave out (repeatable): 'access entries', ...")
    ] = None,
) -> None:
    """Check the live AWS account against a stack: bucket hardening, cost tags on GPU instances and volumes,
    orphaned GPU instances and their hourly cost, node group drift, team access entries. AWS endpoint and
    credentials come from the usual AWS environment variables. Exits 1 on findings, 2 on bad input or when AWS
    cannot be audited."""
    from rayplat.runbooks import audit as runbook_audit
    from rayplat.runbooks.outputs import OutputsError, offline_outputs
    from rayplat.runbooks.progress import Progress

    if output_format not in ("text", "json"):
        raise _fail(f"--format must be text or json, not '{output_format}'")
    unknown = set(skip or ()) - set(runbook_audit.CHECKS)
    if unknown:
        raise _fail(f"--skip: no check {', '.join(sorted(unknown))} ({', '.join(runbook_audit.CHECKS)})")
    planned = _plan_or_exit(stack, stacks_dir)
    try:
        stack_outputs = _read_outputs(outputs) if outputs is not None else offline_outputs(planned)
        expected = runbook_audit.StackExpectation.from_stack(planned, stack_outputs)
    except OutputsError as exc:
        raise _fail(exc) from None
    result = runbook_audit.run_audit(expected, Progress(errors), skip=frozenset(skip or ()))
    if output_format == "json":
        _write_or_print(result.to_json(), output)
    else:
        _print_report(lambda target: runbook_audit.print_text(result, target), output)
    if result.error is not None:
        raise _fail(result.error)
    if result.findings:
        raise typer.Exit(code=1)


team_app = typer.Typer(
    help="What a team's ML engineers submit: manifests generated from the stack.", no_args_is_help=True
)
app.add_typer(team_app, name="team")


@team_app.command("job-template")
def job_template(
    stack: StackOption,
    team: Annotated[str, typer.Option("--team", "-t", help="The team's name (teams[].name)")],
    outputs: Annotated[
        Path | None,
        typer.Option("--outputs", help="The stack's outputs (`pulumi stack output --json > FILE`): the bucket"),
    ] = None,
    stacks_dir: StacksDirOption = STACKS_DIR,
    name: Annotated[str, typer.Option("--name", help="The RayJob's name")] = "train",
    pool: Annotated[str | None, typer.Option("--pool", help="GPU pool (default: the team's first)")] = None,
    workers: Annotated[int, typer.Option("--workers", help="GPU workers (one node each)")] = 1,
    entrypoint: Annotated[
        str | None, typer.Option("--entrypoint", help="Command (default: docs/examples/train_mlflow.py)")
    ] = None,
    tracking_uri: Annotated[str | None, typer.Option("--tracking-uri", help="MLflow tracking server URI")] = None,
) -> None:
    """Print a team's RayJob (YAML) with a GPU worker group, submitted through the team's Kueue queue."""
    from components.kubernetes.rayjob import to_yaml
    from rayplat.plan.engine import read_stack_config
    from rayplat.templates import BUCKET_PLACEHOLDER, JobOptions, TemplateError
    from rayplat.templates import job_template as build
    from stackconfig.loading import parse_config, project_keys

    try:
        config = parse_config(project_keys(read_stack_config(stack, stacks_dir)), source=f"stack '{stack}'")
    except (ConfigError, FileNotFoundError) as exc:
        raise _fail(exc) from None
    stack_outputs = _read_outputs(outputs) if outputs is not None else {}
    bucket = stack_outputs.get("artifactBucketUri")
    if bucket is None:
        _note(f"no artifactBucketUri (pass --outputs): the storage prefix says {BUCKET_PLACEHOLDER}")
    options = JobOptions(name=name, pool=pool, workers=workers, entrypoint=entrypoint, tracking_uri=tracking_uri)
    try:
        manifest = build(config, team, bucket or BUCKET_PLACEHOLDER, options, config.image_mirror(stack))
    except TemplateError as exc:
        raise _fail(exc) from None
    console.out(to_yaml(manifest), end="", highlight=False)


@team_app.command("notebook")
def notebook(
    stack: StackOption,
    team: Annotated[str, typer.Option("--team", "-t", help="The team's name (teams[].name)")],
    image_repository: Annotated[
        str,
        typer.Option(
            "--image-repository",
            help="Where the team pushed docs/examples/notebook/Dockerfile's image (registry/path, no tag)",
        ),
    ],
    stacks_dir: StacksDirOption = STACKS_DIR,
) -> None:
    """Print a JupyterLab Pod (YAML) for the team's namespace that submits to the team's Ray cluster with its
    token; reach it with kubectl port-forward."""
    from components.kubernetes.rayjob import to_yaml
    from rayplat.notebook import NotebookError, notebook_pod
    from rayplat.plan.engine import read_stack_config
    from stackconfig.loading import parse_config, project_keys

    try:
        config = parse_config(project_keys(read_stack_config(stack, stacks_dir)), source=f"stack '{stack}'")
        manifest = notebook_pod(config, team, image_repository)
    except (ConfigError, FileNotFoundError, NotebookError) as exc:
        raise _fail(exc) from None
    console.out(to_yaml(manifest), end="", highlight=False)


def _note(message: str) -> None:
    errors.print(f"note: {message}", markup=False, highlight=False, soft_wrap=True)


def _read_outputs(path: Path) -> dict:
    from rayplat.runbooks.outputs import OutputsError, read_outputs

    try:
        return read_outputs(path)
    except OutputsError as exc:
        raise _fail(exc) from None


def _write_or_print(text: str, output: Path | None) -> None:
    """A rendered report to ``output`` (its folder created), or to the console."""
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text)
    else:
        console.out(text, end="", highlight=False)


def _print_report(print_report: Callable[[Console], None], output: Path | None) -> None:
    """A report printed for a terminal, to ``output`` (its folder created) or to the console."""
    if output is None:
        print_report(console)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    with output.open("w") as file:
        print_report(Console(file=file, width=160))
