"""The CLI's consoles. Without a terminal (a CI log, a pipe) rich would cut tables at 80 columns: there the
output is as wide as its widest line, unless COLUMNS says otherwise."""

from __future__ import annotations

import os

from rich.console import Console, ConsoleDimensions

# Wide enough that no table of the CLI is cut or wrapped; tables and text stay as wide as their content.
UNBOUNDED_WIDTH = 1000


class CliConsole(Console):
    """A console whose width is the terminal's, or COLUMNS, or unbounded where there is neither."""

    @property
    def size(self) -> ConsoleDimensions:
        size = super().size
        if self.is_terminal or (os.environ.get("COLUMNS") or "").isdigit():
            return size
        return ConsoleDimensions(UNBOUNDED_WIDTH, size.height)

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        self._width, self._height = new_size
