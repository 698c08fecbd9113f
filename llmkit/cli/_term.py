"""Terminal output: colour only for a human at a TTY, plain aligned tables everywhere.

Colour follows the NO_COLOR convention (https://no-color.org): any non-empty NO_COLOR turns it
off, and so does a pipe or a file, so scripts and `grep` always see plain text.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import IO, TextIO

__all__ = ["ProgressBar", "Style", "fmt_bytes", "fmt_int", "fmt_price", "render_table"]

_CODES = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "cyan": "36"}


class Style:
    """ANSI styling for one output stream, a no-op when that stream is not a colour terminal."""

    def __init__(self, stream: TextIO) -> None:
        isatty = getattr(stream, "isatty", None)
        self.enabled = bool(isatty and isatty()) and not os.environ.get("NO_COLOR")

    def __call__(self, text: str, *styles: str) -> str:
        if not self.enabled or not styles or not text:
            return text
        codes = ";".join(_CODES[s] for s in styles)
        return f"\x1b[{codes}m{text}\x1b[0m"


class ProgressBar:
    """A bar redrawn in place on one line of a terminal (`batch`, `ollama pull`).

    `tty` is False when the stream is a pipe or a file: callers then print plain lines of
    their own instead, so logs never fill with carriage returns.
    """

    WIDTH = 30

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        isatty = getattr(stream, "isatty", None)
        self.tty = bool(isatty and isatty())
        self.drawn = False

    def draw(self, done: int, total: int, label: str) -> None:
        if not self.tty:
            return
        filled = self.WIDTH * min(done, total) // total if total > 0 else 0
        self.stream.write(f"\r[{'#' * filled}{'.' * (self.WIDTH - filled)}] {label}\x1b[K")
        self.stream.flush()
        self.drawn = True

    def close(self) -> None:
        """End the bar's line (before any other output, and at the end)."""
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()
            self.drawn = False


def fmt_bytes(n: int) -> str:
    """A byte count as Ollama's CLI shows it: decimal units, one decimal ('2.0 GB', '512 B')."""
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"  # pragma: no cover - the loop always returns


def fmt_int(value: int | None) -> str:
    """A token count with thousands separators; '-' when the catalog does not know it."""
    return "-" if value is None else f"{value:,}"


def fmt_price(value: float | None) -> str:
    """USD per million tokens, as short as exact ('0.15', '10', '0.0375'); '-' when not public."""
    if value is None:
        return "-"
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return text or "0"


def render_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    style: Style,
    *,
    right: Sequence[int] = (),
    colours: Sequence[Sequence[str | None]] | None = None,
) -> str:
    """Columns padded to their widest cell, two spaces apart; `right` lists numeric columns.

    `colours[r][c]` optionally names a style for one cell. Padding is computed on the plain
    text, so coloured and plain output line up identically.
    """
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    last = len(headers) - 1

    def line(cells: Sequence[str], cell_styles: Sequence[str | None]) -> str:
        out = []
        for i, cell in enumerate(cells):
            pad = " " * (widths[i] - len(cell))
            name = cell_styles[i]
            styled = style(cell, name) if name else cell
            out.append(pad + styled if i in right else styled + ("" if i == last else pad))
        return "  ".join(out).rstrip()

    lines = [line(headers, ["bold"] * len(headers))]
    for r, row in enumerate(rows):
        lines.append(line(row, colours[r] if colours else [None] * len(row)))
    return "\n".join(lines)
