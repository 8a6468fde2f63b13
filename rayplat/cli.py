"""The rayplat command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from infra.config import ConfigError
from rayplat.plan.engine import STACKS_DIR

app = typer.Typer(
    help="ray-platform tooling: offline plans of the Pulumi program.", no_args_is_help=True, add_completion=False
)
console = Console()
errors = Console(stderr=True)

StackOption = Annotated[str, typer.Option("--stack", "-s", help="Stack name: <stacks-dir>/Pulumi.<stack>.yaml")]
StacksDirOption = Annotated[Path, typer.Option("--stacks-dir", help="Where the stack files are")]


@app.callback()
def main() -> None:
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
            console.print(f"plan written to {json_file}")


def _fail(message: object) -> typer.Exit:
    errors.print(f"[bold red]error:[/] {message}", markup=True, highlight=False)
    return typer.Exit(code=2)


def _plan_or_exit(stack: str, stacks_dir: Path):
    from rayplat.plan import plan_stack

    try:
        return plan_stack(stack, stacks_dir)
    except (ConfigError, FileNotFoundError) as exc:
        raise _fail(exc) from None


@app.command()
def check(
    stack: StackOption = "dev",
    stacks_dir: StacksDirOption = STACKS_DIR,
    output_format: Annotated[str, typer.Option("--format", "-f", help="text, json, sarif or junit")] = "text",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the report to this file")] = None,
    policy_config: Annotated[
        Path | None, typer.Option("--policy-config", help="Policy config (default: policies/config/<stack>.json)")
    ] = None,
) -> None:
    """Plan a stack offline and run the policy pack on it, as `pulumi preview --policy-pack policies` would.
    Exits 1 when a mandatory policy is violated."""
    from rayplat.check import reports
    from rayplat.check.engine import PolicyConfigError, check_plan, load_policy_config, policy_config_path

    if output_format not in reports.FORMATS:
        raise _fail(f"--format must be one of {', '.join(reports.FORMATS)}, not '{output_format}'")
    config_file = policy_config or policy_config_path(stack)
    if policy_config is not None and not policy_config.is_file():
        raise _fail(f"policy config {policy_config} does not exist")
    planned = _plan_or_exit(stack, stacks_dir)
    try:
        report = check_plan(planned, load_policy_config(config_file))
    except (PolicyConfigError, ValueError) as exc:
        raise _fail(f"{config_file}: {exc}") from None
    _emit(report, output_format, output, f"{stacks_dir.name}/Pulumi.{stack}.yaml")
    if report.mandatory_failures:
        raise typer.Exit(code=1)


def _emit(report, output_format: str, output: Path | None, stack_file: str) -> None:
    from rayplat.check import reports

    if output_format == "text":
        target = Console(file=output.open("w"), width=160) if output else console
        reports.print_text(report, target)
        return
    text = {
        "json": lambda: reports.to_json(report),
        "sarif": lambda: reports.to_sarif(report, stack_file),
        "junit": lambda: reports.to_junit(report),
    }[output_format]()
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text)
    else:
        console.out(text, end="", highlight=False)


@app.command()
def policies(
    markdown: Annotated[bool, typer.Option("--markdown", help="The catalog table of docs/policies.md")] = False,
) -> None:
    """List the rules of the policy pack."""
    from policies import ALL_POLICIES
    from rayplat.check import reports

    if markdown:
        console.out(reports.catalog_markdown(ALL_POLICIES), end="", highlight=False)
        return
    table = Table(title=f"{len(ALL_POLICIES)} rules", title_justify="left")
    for column in ("rule", "area", "severity", "description"):
        table.add_column(column)
    for policy in ALL_POLICIES:
        table.add_row(policy.name, reports.area(policy), reports.severity(policy), policy.description)
    console.print(table)


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
) -> None:
    """What a change does to a stack: the plan at a git ref (or a plan file) against the working tree (or a
    plan file), field by field, with what a reviewer must not miss, and the policy results that change."""
    from rayplat.check.engine import PolicyConfigError, check_plan, load_policy_config, policy_config_path
    from rayplat.diff import report
    from rayplat.diff.engine import diff_plans, policy_changes
    from rayplat.diff.git import BasePlanError, plan_at_ref
    from rayplat.plan import Plan

    if output_format not in ("markdown", "json"):
        raise _fail(f"--format must be markdown or json, not '{output_format}'")
    if (base is None) == (base_plan is None):
        raise _fail("give either --base REF or --base-plan FILE")
    try:
        before = Plan.read(base_plan) if base_plan is not None else plan_at_ref(stack, str(base))
    except (BasePlanError, OSError, ValueError) as exc:
        raise _fail(exc) from None
    after = Plan.read(head_plan) if head_plan else _plan_or_exit(stack, STACKS_DIR)
    changes = diff_plans(before, after)
    config_file = policy_config or policy_config_path(changes.stack)
    try:
        config = load_policy_config(config_file)
        policy_changes(changes, check_plan(before, config), check_plan(after, config))
    except PolicyConfigError as exc:
        raise _fail(f"{config_file}: {exc}") from None
    text = report.to_markdown(changes) if output_format == "markdown" else report.to_json(changes)
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text)
    else:
        console.out(text, end="", highlight=False)
