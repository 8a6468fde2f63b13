"""The rayplat command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from infra.config import ConfigError

app = typer.Typer(
    help="ray-platform tooling: offline plans of the Pulumi program.", no_args_is_help=True, add_completion=False
)
console = Console()
errors = Console(stderr=True)

StackOption = Annotated[str, typer.Option("--stack", "-s", help="Stack name: stacks/Pulumi.<stack>.yaml")]


@app.callback()
def main() -> None:
    """ray-platform tooling."""


@app.command()
def plan(
    stack: StackOption = "dev",
    json_file: Annotated[Path | None, typer.Option("--json", help="Write the plan as JSON to this file")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No summary")] = False,
) -> None:
    """Evaluate a stack's program offline (Pulumi mock engine) and show every resource it registers."""
    from rayplat.plan import plan_stack
    from rayplat.plan.summary import print_summary

    try:
        result = plan_stack(stack)
    except (ConfigError, FileNotFoundError) as exc:
        errors.print(f"[bold red]error:[/] {exc}", markup=True, highlight=False)
        raise typer.Exit(code=2) from None
    if json_file is not None:
        result.write(json_file)
    if not quiet:
        print_summary(result, console)
        if json_file is not None:
            console.print(f"plan written to {json_file}")
