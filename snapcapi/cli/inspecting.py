"""`snapcapi inspect FILE`: what snapcapi makes of a file, printed as tables (or JSON), and optionally a
mapping file that states every choice."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from snapcapi.cli.command import ExitCode
from snapcapi.errors import ConfigError, InputError
from snapcapi.inspection import Inspection, inspect_file, mapping_toml
from snapcapi.outputs.report import print_error, stderr_console


def run_inspect(path: str, *, write_mapping: Path | None, as_json: bool, **options: object) -> int:
    """Inspect `path` with `options` (those of `inspection.inspect_file`); print, write the mapping file
    if asked; return the exit code (2 for a file that cannot be read or a bad option)."""
    console = stderr_console()
    try:
        found = inspect_file(path, **options)  # type: ignore[arg-type]
        if write_mapping is not None:
            if write_mapping.exists() and write_mapping.resolve() == Path(path).resolve():
                raise ConfigError(
                    f"--write-mapping {write_mapping} is the input file; it would be overwritten"
                )
            try:
                write_mapping.write_text(mapping_toml(found), encoding="utf-8")
            except OSError as err:
                raise ConfigError(f"cannot write {write_mapping}: {err.strerror or err}") from None
    except (ConfigError, InputError) as err:
        print_error(console, str(err))
        if as_json:
            sys.stdout.write(json.dumps({"error": str(err), "exit_code": int(ExitCode.USAGE)}) + "\n")
        return ExitCode.USAGE
    if as_json:
        document = found.as_json()
        if write_mapping is not None:
            document["mapping_written"] = str(write_mapping)
        sys.stdout.write(json.dumps(document, ensure_ascii=False) + "\n")
    else:
        render(found, Console(highlight=False, soft_wrap=False))
        if write_mapping is not None:
            console.print(f"mapping written to {escape(str(write_mapping))}: edit it, then pass --mapping")
    return ExitCode.OK


def render(found: Inspection, console: Console) -> None:
    """Print an inspection: the file, its columns and samples, what is missing, the options to pass."""
    export = found.export_title or "none (plain columns)"
    facts = Table(show_header=False, show_edge=False, box=None)
    facts.add_row("file", escape(found.file))
    facts.add_row("format", found.format)
    facts.add_row("encoding", found.encoding)
    if found.delimiter is not None:
        facts.add_row("delimiter", repr(found.delimiter))
    if found.preamble:
        facts.add_row("above the header", escape(" | ".join(found.preamble)))
    facts.add_row(
        "recognized export", escape(export + (f" (--preset {found.export})" if found.export else ""))
    )
    for name, text in found.readings.items():
        facts.add_row(f"{name} read as", text)
    console.print(facts)
    table = Table(title="Columns", title_justify="left", show_edge=False)
    table.add_column("column", overflow="fold")
    table.add_column("field")
    table.add_column("samples (masked)", overflow="fold")
    for view in found.columns:
        table.add_row(escape(view.column), view.field or "[dim]-[/dim]", escape(", ".join(view.samples)))
    console.print()
    console.print(table)
    console.print()
    console.print(f"event types: {escape(', '.join(found.event_types) or 'none found')}")
    for item in found.missing:
        console.print(f"[yellow]missing:[/yellow] {escape(item)}")
    for item in found.suggestions:
        console.print(f"suggested: {escape(item)}")
    if found.ambiguous:
        console.print(f"[red]ambiguous:[/red] {escape(found.ambiguous)}", soft_wrap=True)
    for note in found.notes:
        console.print(f"[dim]{escape(note)}[/dim]", soft_wrap=True)
