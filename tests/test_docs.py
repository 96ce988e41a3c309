"""The README documents every command and option, and CI runs the README's own test command."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from snapcapi.cli.app import app
from snapcapi.emulator import build_parser

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _commands() -> dict[str, Any]:
    group: Any = typer.main.get_command(app)
    return dict(group.commands)


def test_every_command_is_in_the_readme() -> None:
    """Each `snapcapi` command appears in the README as `snapcapi NAME`."""
    missing = [name for name in _commands() if f"snapcapi {name}" not in README]
    assert missing == []


@pytest.mark.parametrize("command", ["upload", "validate", "event-types", "hash"])
def test_every_option_of_a_command_is_in_the_readme(command: str) -> None:
    """Each long option of each command is written in the README."""
    options = [
        name
        for param in _commands()[command].params
        for name in param.opts
        if name.startswith("--") and name != "--help"
    ]
    assert options
    missing = [name for name in options if f"`{name}" not in README and f"{name}`" not in README]
    assert missing == []


def test_every_emulator_option_is_in_the_readme_or_its_help() -> None:
    """The mock-server's fault options are named in the README (the rest are in `--help`)."""
    flags = {flag for action in build_parser()._actions for flag in action.option_strings}
    for flag in ("--host", "--port", "--latency", "--rate-429", "--rate-5xx", "--rate-drop", "--seed"):
        assert flag in flags
        assert flag in README


def _readme_test_command() -> str:
    blocks = re.findall(r"```sh\n(.*?)\n```", README, flags=re.DOTALL)
    commands = [str(block).strip() for block in blocks if "pytest" in block]
    assert len(commands) == 1, "the README should show exactly one test command"
    return commands[0]


def test_ci_runs_the_readme_test_command() -> None:
    """`.ci/run` runs the README's test command, character for character."""
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert _readme_test_command() in script.splitlines()


def test_the_readme_main_command_uses_a_sample_and_the_sandbox() -> None:
    """The README's first command needs no credentials: it uploads a bundled sample to the sandbox."""
    first = re.findall(r"```sh\n(.*?)\n```", README, flags=re.DOTALL)[0]
    sample = re.search(r"samples/\S+", first)
    assert sample is not None
    assert (ROOT / sample.group(0)).is_file()
    assert "--sandbox" in first


def test_the_readme_library_example_runs(tmp_path: Path) -> None:
    """The README's Python example runs as written, from a directory holding the samples, and prints what
    it says: the sample's counts and the one valid in-memory row."""
    section = README.split("## As a library", 1)[1].split("\n## ", 1)[0]
    code = re.findall(r"```python\n(.*?)\n```", section, flags=re.DOTALL)
    assert len(code) == 1
    shutil.copytree(ROOT / "samples", tmp_path / "samples")
    script = tmp_path / "example.py"
    script.write_text(code[0], encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SNAPCAPI_")}
    env["SNAPCAPI_STATE_DIR"] = str(tmp_path / "state")
    done = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "4 sent, 5 invalid of 10\n1 valid\n"
    assert len((tmp_path / "report.jsonl").read_text(encoding="utf-8").splitlines()) == 10


def _sample_commands() -> list[tuple[list[str], str]]:
    block = re.search(r"The samples, each uploaded.*?```sh\n(.*?)\n```", README, flags=re.DOTALL)
    assert block is not None, "the README should show how to run the samples"
    commands = []
    for line in block.group(1).splitlines():
        command, _, outcome = line.partition("#")
        words = shlex.split(command)
        assert words[0] == "snapcapi"
        commands.append((words[1:], outcome.strip()))
    return commands


def test_the_readme_shows_how_to_run_every_sample() -> None:
    """Every file in samples/ has its command in the README's samples block."""
    shown = {
        Path(word).name for args, _ in _sample_commands() for word in args if word.startswith("samples/")
    }
    assert shown == {path.name for path in (ROOT / "samples").iterdir()}


@pytest.mark.parametrize(
    ("args", "outcome"), [pytest.param(args, outcome, id=args[1]) for args, outcome in _sample_commands()]
)
@pytest.mark.usefixtures("clean_environment")
def test_each_samples_command_gives_what_the_readme_says(
    args: list[str], outcome: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run as the README writes it (from the project's root), each sample's command ends with the verdict
    its comment shows, and exits 0, or 1 when rows are refused."""
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(app, [*args, "--no-progress"])
    assert result.exit_code == (1 if "refused" in outcome else 0), result.output
    assert result.stderr.splitlines()[-1].startswith(outcome)


def test_the_readme_layout_names_every_folder_of_the_code() -> None:
    """The README's Layout tree lists each package folder of snapcapi, and only folders that exist."""
    section = README.split("## Layout", 1)[1].split("\n## ", 1)[0]
    block = re.findall(r"```text\n(.*?)\n```", section, flags=re.DOTALL)
    assert len(block) == 1
    listed = {line.split()[0].rstrip("/") for line in block[0].splitlines() if line.strip()}
    packages = {str(init.parent.relative_to(ROOT)) for init in (ROOT / "snapcapi").rglob("__init__.py")}
    assert {name for name in listed if name.startswith("snapcapi")} == packages
    assert all((ROOT / name).is_dir() for name in listed)


# --- every command's --help ---------------------------------------------------------------------------------

COMMANDS = ("upload", "validate", "inspect", "event-types", "hash", "mock-server")


def help_of(command: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """`snapcapi COMMAND --help` at 80 columns, as a terminal shows it."""
    monkeypatch.setenv("COLUMNS", "80")
    result = CliRunner().invoke(app, [command, "--help"])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_every_command_is_covered_here() -> None:
    """A new command gets its help checked too."""
    assert set(_commands()) == set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_help_ends_with_two_or_three_of_the_readmes_examples(
    command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The help of each command ends with "Examples:" and two or three commands, each in the README."""
    lines = [line.strip() for line in help_of(command, monkeypatch).splitlines()]
    while not lines[-1]:
        lines.pop()
    start = lines.index("Examples:")
    examples = lines[start + 1 :]
    assert 2 <= len(examples) <= 3
    for example in examples:
        assert example == f"snapcapi {command}" or example.startswith(f"snapcapi {command} ")
        assert f"\n{example}\n" in README


@pytest.mark.parametrize("command", COMMANDS)
def test_no_help_shows_a_type_for_flags(command: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """`--quiet` takes no value: no `<bool>` beside it (nor beside --help)."""
    text = help_of(command, monkeypatch)
    assert "<bool>" not in text
    assert "--help" in text


def test_validate_help_lists_no_sending_options_but_validate_takes_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """validate sends nothing: --batch-size, --concurrency, --max-retries, --timeout are left out of its
    help (upload lists them), and still taken, so that a script that passes them keeps working."""
    hidden = ("--batch-size", "--concurrency", "--max-retries", "--timeout")
    validate_help, upload_help = help_of("validate", monkeypatch), help_of("upload", monkeypatch)
    assert [flag for flag in hidden if flag in validate_help] == []
    assert [flag for flag in hidden if flag not in upload_help] == []
    sample = str(ROOT / "samples" / "web_events.csv")
    result = CliRunner().invoke(app, ["validate", sample, "--pixel-id", "px", "--batch-size", "10", "-q"])
    assert result.exit_code == 0, result.output


def test_mock_server_help_is_in_the_style_of_the_others(monkeypatch: pytest.MonkeyPatch) -> None:
    """`mock-server --help` is drawn as the other commands' help (usage, an options panel, examples),
    and lists every option of the emulator."""
    text = help_of("mock-server", monkeypatch)
    assert "Usage: snapcapi mock-server [OPTIONS]" in text
    assert "╭─ Options ─" in text
    flags = {flag for action in build_parser()._actions for flag in action.option_strings} - {"-h"}
    assert [flag for flag in sorted(flags) if flag not in text] == []


def test_the_map_option_says_where_the_fields_are_listed(monkeypatch: pytest.MonkeyPatch) -> None:
    """--map's help names where the list of fields is."""
    text = " ".join(help_of("upload", monkeypatch).replace("│", " ").split())
    assert "FIELD=COLUMN (repeatable). The fields are listed in the README, section Input;" in text
    assert "## Input" in README
