"""Where a run's report and rejects files may go: never over an input, never both in one file, never
round a loop of symbolic links."""

from __future__ import annotations

import errno
import os
from collections.abc import Sequence
from pathlib import Path

from snapcapi.errors import ConfigError
from snapcapi.outputs.atomic import STDOUT, is_stream


def check_output_paths(files: Sequence[object], report: Path | None, rejects: Path | None) -> None:
    """Refuse a report or rejects path that is one of the inputs, or both the same file: it would be
    overwritten."""
    # os.path.realpath, not Path.resolve: a loop of symbolic links is not an error here (the input's own
    # reader says so in its words), where Path.resolve raises RuntimeError.
    inputs = {_real(f) for f in files if isinstance(f, str | os.PathLike) and f != "-"}
    for flag, path in (("--report", report), ("--rejects", rejects)):
        if path is None:
            continue
        if _loops(path):
            raise ConfigError(f"{flag} {path}: a loop of symbolic links; give a path to a file")
        if _real(path) in inputs:
            raise ConfigError(f"{flag} {path} is one of the input files; it would be overwritten")
    same = report is not None and rejects is not None and _real(report) == _real(rejects)
    if same and report is not None and not is_stream(report):  # two streams to one pipe may be meant
        where = "both standard output (-)" if str(report) == STDOUT else f"the same file, {report}"
        raise ConfigError(f"--report and --rejects are {where}; give each its own")


def _real(path: str | os.PathLike[str]) -> Path:
    return Path(os.path.realpath(path))


def _loops(path: Path) -> bool:
    """True when `path` is a symbolic link that leads round in a loop."""
    try:
        path.stat()
    except OSError as err:
        return err.errno == errno.ELOOP
    return False
