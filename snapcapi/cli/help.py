"""How the commands' `--help` reads: no type shown for flags (`<bool>`), each command's examples at the
end (the README's), and `mock-server`'s help (argparse options, the emulator's own) in the same style as
the others."""

from __future__ import annotations

import copy
import inspect
from typing import Annotated, Any, Final, get_args

import typer
import typer.main
from typer.core import TyperCommand

# Each command's examples, as the README shows them (tests/test_docs.py checks that it does).
EXAMPLES: Final[dict[str, tuple[str, ...]]] = {
    "upload": (
        "snapcapi upload samples/web_events.csv --sandbox",
        "snapcapi upload crm.csv --conversion-type OFFLINE --rejects rejects.csv",
        "snapcapi upload events.csv --quiet --report report.jsonl",
    ),
    "validate": (
        "snapcapi validate samples/offline_purchases.csv --conversion-type OFFLINE",
        "snapcapi validate export.csv --mapping map.toml --report report.csv",
        "snapcapi validate events.jsonl --remote --pixel-id PIXEL",
    ),
    "inspect": (
        "snapcapi inspect export.csv",
        "snapcapi inspect export.csv --write-mapping map.toml",
    ),
    "event-types": (
        "snapcapi event-types",
        "snapcapi event-types --json",
    ),
    "hash": (
        'snapcapi hash phone "+44 844 412 4653"',
        'snapcapi hash phone "06 12 34 56 78" --country FR',
        'snapcapi hash city "Menlo Park"',
    ),
    "mock-server": (
        "snapcapi mock-server --port 8765",
        "snapcapi mock-server --port 8765 --rate-429 0.2 --latency 0.05",
    ),
}


def epilog(command: str) -> str:
    """Return the end of `command`'s help: its examples, one a line."""
    return "Examples:\n" + "\n".join(f"  {example}" for example in EXAMPLES[command])


class Command(TyperCommand):
    """A command whose help shows no type for flags and arguments: `--quiet` takes no value, and
    `FILE...` says what it is."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            _untyped(param)

    def get_help_option(self, ctx: Any) -> Any:
        option = super().get_help_option(ctx)
        if option is not None:
            option.metavar = ""
        return option


def _untyped(param: Any) -> None:
    if getattr(param, "is_flag", False):
        param.metavar = ""
    elif param.param_type_name == "argument":
        param.display_type_rich = lambda ctx: None


MOCK_SERVER_HELP: Final = (
    "Serve a local emulator of Snap's v3 events, validate and OAuth endpoints, for pipelines and tests;"
    " it prints its URL first, and injects faults on request."
)


def print_mock_server_help(prog: str) -> None:
    """Print `mock-server --help` as the other commands print theirs, from the emulator's own options
    (imported only now: the product needs the emulator only for the mock server and --sandbox)."""
    from snapcapi.emulator import DEFAULT_HOST, OPTIONS

    kinds: dict[str, Any] = {"text": str | None, "texts": list[str] | None, "int": int | None}
    parameters = [
        _option("host", str, DEFAULT_HOST, "--host", "HOST", "Address to listen on."),
        _option("port", int, 0, "--port", "N", "Port to listen on; 0 picks a free one."),
    ]
    for option in OPTIONS:
        kind = bool if option.kind == "switch" else kinds.get(option.kind, float | None)
        default = False if option.kind == "switch" else None
        text = option.help[0].upper() + option.help[1:] + "."
        parameters.append(_option(option.dest, kind, default, option.flag, option.metavar or None, text))

    def mock_server(**values: Any) -> None:
        """The emulator's options, for its help only."""

    setattr(mock_server, "__signature__", inspect.Signature(parameters))  # noqa: B010
    mock_server.__annotations__ = {p.name: p.annotation for p in parameters}
    helper = typer.Typer(add_completion=False)
    helper.command(cls=Command, help=MOCK_SERVER_HELP, epilog=epilog("mock-server"))(mock_server)
    command = typer.main.get_command(helper)
    command.main(["--help"], prog_name=prog, standalone_mode=False)


def _option(
    name: str, kind: Any, default: Any, flag: str, metavar: str | None, text: str
) -> inspect.Parameter:
    info = typer.Option(flag, metavar=metavar, help=text, show_default=default not in (None, False))
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=Annotated[kind, info]
    )


def hidden(annotation: Any) -> Any:
    """Return an `Annotated[type, typer.Option(...)]` annotation with the option hidden from `--help`
    (it is still taken)."""
    kind, info = get_args(annotation)[:2]
    quiet = copy.copy(info)
    quiet.hidden = True
    return Annotated[kind, quiet]
