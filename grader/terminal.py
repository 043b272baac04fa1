"""The CLI's own output: the score table and a progress bar, drawn with rich on a terminal and
plain text (reports.to_table, one line per notebook) anywhere else.

Every text a student could have written (file names, messages, errors) is escaped first
(reports.visible) and handed to rich as plain Text, never as markup, so a name such as
`[bold]x.ipynb` or an escape sequence is shown as it is and cannot restyle or move the terminal.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from grader.reports import SubmissionReport, failure_lines, score_rows, to_table, visible, warnings

if TYPE_CHECKING:
    from rich.progress import Progress

# rich is imported only where a terminal is drawn on: a batch writing to a file or a pipe does not pay its import


def show_table(reports: list[SubmissionReport], unit_names: list[str], stream: TextIO) -> None:
    """The table on `stream`: rich's on a terminal, else exactly reports.to_table's text."""
    if not stream.isatty():
        print(to_table(reports, unit_names), file=stream)
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(file=stream, highlight=False, markup=False, emoji=False)
    headers, rows = score_rows(reports, unit_names)
    table = Table(*headers, show_edge=False, header_style="bold")
    for i, row in enumerate(rows):
        is_max = i == len(rows) - 1 and row[0] == "(max)"
        table.add_row(*(Text(cell) for cell in row), style="dim" if is_max else None, end_section=i == len(rows) - 2)
    for line in warnings(reports):
        console.print(Text(line, style="bold red"))
    console.print(table)
    for line in failure_lines(reports):
        console.print(Text(line), soft_wrap=True)


class ProgressLine:
    """Notebooks graded so far, on stderr: a rich bar on a terminal, else one line per notebook."""

    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.total, self.count = total, 0
        self.bar: Progress | None = None
        if self.stream.isatty():  # refreshed by step(), not by a thread: the CLI forks its workers
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            console = Console(file=self.stream, highlight=False, markup=False, emoji=False)
            self.bar = Progress(BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[last]}", markup=False),
                                console=console, auto_refresh=False, transient=False)
            self.task = self.bar.add_task("grading", total=total, last="")
            self.bar.start()

    def step(self, path: Path, report: SubmissionReport) -> None:
        self.count += 1
        status = "error" if report.error else f"{report.score:g}/{report.max_score:g}"
        last = f"{visible(path.name)}: {status}"
        if self.bar is not None:
            self.bar.update(self.task, completed=self.count, last=last)
            self.bar.refresh()
            return
        width = 30
        filled = width * self.count // self.total
        print(f"[{'#' * filled}{'.' * (width - filled)}] {self.count}/{self.total} {last}", file=self.stream,
              flush=True)

    def done(self) -> None:
        if self.bar is not None:
            self.bar.stop()
