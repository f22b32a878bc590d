"""Plain tables of text cells, built once and rendered for the terminal, Markdown and HTML.

A report builds :class:`RowTable` objects (header, rows, an optional total row) and every
renderer draws the same cells. In the terminal no cell is ever cut with "…": columns fold
instead, and when stdout is not a terminal (a pipe, a log file) :func:`print_wide` widens the
console to the table's natural width, so every cell stays on one line.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any, List, Optional, Tuple

from rich import box
from rich.console import Console, RenderableType
from rich.table import Table


#: the width a table is measured at off a terminal (its natural width is what it uses)
UNLIMITED = 100_000


@dataclass
class RowTable:
    """``header`` names the columns; the first column is the row's name. Columns in ``left``
    are left-aligned (text), the others right-aligned (numbers). ``total`` is drawn bold after a
    rule. ``table_id`` names the HTML table; ``note`` is printed under it."""

    title: str
    header: List[str]
    rows: List[List[Any]] = field(default_factory=list)
    total: Optional[List[Any]] = None
    table_id: str = ""
    note: str = ""
    left: Tuple[int, ...] = (0,)


def to_rich(t: RowTable, caption: Any = None) -> Table:
    """A rich table whose columns fold (never "…") when the console is too narrow."""
    table = Table(title=t.title or None, title_justify="left", box=box.SIMPLE_HEAD, caption=caption,
                  caption_justify="left", show_edge=False)
    for i, name in enumerate(t.header):
        table.add_column(name, justify="left" if i in t.left else "right", overflow="fold")
    for row in t.rows:
        table.add_row(*(str(c) for c in row))
    if t.total is not None:
        table.add_section()
        table.add_row(*(f"[bold]{c}[/]" for c in t.total))
    return table


def _md(s: Any) -> str:
    return str(s).replace("|", "\\|")


def to_markdown(t: RowTable, level: int = 2) -> str:
    """The table as a Markdown section (title as a heading, note under the table)."""
    out = [f"{'#' * level} {t.title}", ""] if t.title else []
    out += ["| " + " | ".join(_md(h) for h in t.header) + " |",
            "|" + "".join("---|" if i in t.left else "---:|" for i in range(len(t.header)))]
    out += ["| " + " | ".join(_md(c) for c in row) + " |" for row in t.rows]
    if t.total is not None:
        out.append("| " + " | ".join(f"**{_md(c)}**" for c in t.total) + " |")
    if t.note:
        out += ["", t.note]
    return "\n".join(out) + "\n"


def to_html(t: RowTable) -> str:
    """The table as an HTML ``<table>`` (cells escaped), title as ``<h2>`` and note as ``<p>``."""
    def cells(row: List[Any], tag: str) -> str:
        left = ' style="text-align:left"'
        return "".join(f"<{tag}{left if i in t.left else ''}>{html.escape(str(c))}</{tag}>" for i, c in enumerate(row))
    body = "".join(f"<tr>{cells(r, 'td')}</tr>" for r in t.rows)
    if t.total is not None:
        body += f'<tr class="total">{cells(t.total, "td")}</tr>'
    ident = f' id="{t.table_id}"' if t.table_id else ""
    title = f"<h2>{html.escape(t.title)}</h2>" if t.title else ""
    note = f"<p><small>{html.escape(t.note)}</small></p>" if t.note else ""
    return f"{title}<table{ident}><thead><tr>{cells(t.header, 'th')}</tr></thead><tbody>{body}</tbody></table>{note}"


def print_wide(console: Console, renderable: RenderableType) -> None:
    """Print ``renderable``; off a terminal, at its natural width, so that no table column is
    folded or cut and no line wraps (a terminal keeps its width, and columns fold)."""
    if console.is_terminal:
        console.print(renderable)
        return
    width = console.width
    natural = console.measure(renderable, options=console.options.update_width(UNLIMITED)).maximum
    console.width = max(width, natural)
    try:
        console.print(renderable)
    finally:
        console.width = width
