"""Timed runbook steps: a live status line while a step runs, one result line when it ends."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.status import Status


class StepFailed(Exception):
    """Ends the running step, and the runbook, with a message for the operator."""


@dataclass
class Step:
    name: str
    ok: bool
    seconds: float
    detail: str = ""
    # Not run, for the reason in detail (neither passed nor failed).
    skipped: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RunningStep:
    """What a step's body may set while it runs: its result detail, whether it found a problem (it ran to its
    end, but what it found fails the runbook), and the live status text."""

    name: str
    status: Status | None
    detail: str = ""
    ok: bool = True

    def update(self, text: str) -> None:
        if self.status is not None:
            self.status.update(f"{escape(self.name)}: {escape(text)}")


@dataclass
class Progress:
    console: Console | None = None
    steps: list[Step] = field(default_factory=list)

    @contextmanager
    def step(self, name: str) -> Iterator[RunningStep]:
        """Run the body as step ``name``; a :class:`StepFailed` from it is recorded, then raised on."""
        start = time.monotonic()
        status = self.console.status(f"{escape(name)} ...") if self.console else None
        running = RunningStep(name, status)
        if status is not None:
            status.start()
        try:
            yield running
        except StepFailed as exc:
            self._stop(status)
            self.record(Step(name, False, time.monotonic() - start, str(exc)))
            raise
        except BaseException:
            self._stop(status)
            raise
        self._stop(status)
        self.record(Step(name, running.ok, time.monotonic() - start, running.detail))

    def skip(self, name: str, reason: str) -> None:
        self.record(Step(name, True, 0.0, reason, skipped=True))

    def record(self, step: Step) -> None:
        self.steps.append(step)
        if self.console is not None:
            if step.skipped:
                self.console.print(f"- {escape(step.name)} skipped: {escape(step.detail)}", highlight=False)
                return
            mark = "[green]✓[/]" if step.ok else "[bold red]✗[/]"
            detail = f"  {escape(step.detail)}" if step.detail else ""
            self.console.print(f"{mark} {escape(step.name)} [dim]{step.seconds:.1f}s[/]{detail}", highlight=False)

    @staticmethod
    def _stop(status: Status | None) -> None:
        if status is not None:
            status.stop()
