"""Shell completion (Typer's): the installed `snapcapi` completes commands and options."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SNAPCAPI = Path(sys.executable).parent / "snapcapi"


def _complete(*words: str) -> list[str]:
    """What bash completion offers after `snapcapi WORDS...` (the last word being typed)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SNAPCAPI_")}
    env |= {"_SNAPCAPI_COMPLETE": "complete_bash", "COMP_WORDS": " ".join(["snapcapi", *words])}
    env["COMP_CWORD"] = str(len(words))
    done = subprocess.run([str(SNAPCAPI)], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_a_command_is_completed() -> None:
    """`snapcapi up<TAB>` gives `upload`; `snapcapi <TAB>` every command."""
    assert _complete("up") == ["upload"]
    assert {"upload", "validate", "event-types", "hash", "mock-server"} <= set(_complete(""))


def test_an_option_of_a_command_is_completed() -> None:
    """`snapcapi upload --pix<TAB>` gives `--pixel-id`; validate has no `--sandbox`."""
    assert _complete("upload", "--pix") == ["--pixel-id"]
    assert _complete("validate", "--sand") == []


def test_show_completion_prints_a_script_for_the_shell() -> None:
    """`--show-completion bash` prints the bash function that calls snapcapi back."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SNAPCAPI_")}
    done = subprocess.run(
        [str(SNAPCAPI), "--show-completion", "bash"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "_SNAPCAPI_COMPLETE=complete_bash" in done.stdout
    assert "complete -o default -F _snapcapi_completion snapcapi" in done.stdout
