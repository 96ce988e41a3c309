"""No leaks: across failing runs, no secret and no raw personal data reaches any output snapcapi writes.

Each scenario is one upload (real processes: the emulator and `python -m snapcapi`) whose every output is
collected: standard output and error (with --verbose and --json), the report, the rejects file, and every
file of the state directory (the ledger, its journal and lock). The rejects file is the one output meant to
hold the user's own rows (to fix and upload again), so it is searched for secrets but not personal data.
"""

from __future__ import annotations

import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import (
    EMAIL,
    HEADER,
    PHONE,
    TOKEN,
    Emulators,
    Invoke,
    Workspace,
    closed_port,
    purchase,
    write_csv,
)

pytestmark = pytest.mark.e2e

CLIENT_ID = "client-7d1e"
CLIENT_SECRET = "csecret-41b0-SECRET-9e"
REFRESH_TOKEN = "rtoken-c2a8-SECRET-5f"
LEAKY_EMAIL = "leak.me@example.com"
LEAKY_PHONE = "+1 415 555 9999"
LEAKY_NAME = "Zebulon"
ROWS = 20
# An access token in a URL that is not redacted: the one snapcapi got from the OAuth grant, say.
UNREDACTED_TOKEN = re.compile(r"access_token=(?!REDACTED)[^&\s\"']+")


@dataclass(frozen=True)
class Scenario:
    """One failing (or partly failing) upload and the secrets it was given."""

    name: str
    emulator_args: tuple[str, ...] | None  # None: no emulator, the API is unreachable
    credentials: tuple[str, ...]  # the run's own flags
    env: tuple[tuple[str, str], ...] = ()
    oauth_unreachable: bool = False
    codes: tuple[int, ...] = (1, 4)  # refusals, and 5xx answers that may outlast the retries

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every secret the run was given."""
        given = {value for _, value in self.env} | set(self.credentials)
        return tuple(s for s in (TOKEN, CLIENT_SECRET, REFRESH_TOKEN) if s in given)


_OAUTH = ("--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET, "--refresh-token", REFRESH_TOKEN)
_OAUTH_EMULATOR = (
    "--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET, "--refresh-token", REFRESH_TOKEN,
)  # fmt: skip
_FAULTY = ("--reject-event-id", "ord-7", "--reject-event-id", "ord-17", "--rate-5xx", "0.25", "--seed", "1")

SCENARIOS = [
    # The token in the environment, refusals and 5xx answers along the way.
    Scenario("refusals", ("--access-token", TOKEN, *_FAULTY), (), env=(("SNAPCAPI_ACCESS_TOKEN", TOKEN),)),
    Scenario("wrong-token", ("--access-token", "another"), ("--access-token", TOKEN), codes=(3,)),
    Scenario("unreachable", None, ("--access-token", TOKEN), codes=(4,)),
    Scenario("oauth", (*_OAUTH_EMULATOR, "--access-token", "unused", *_FAULTY), _OAUTH),
    Scenario(
        "oauth-wrong-secret",
        ("--client-id", CLIENT_ID, "--client-secret", "the-right-one", "--refresh-token", REFRESH_TOKEN),
        _OAUTH,
        codes=(3,),
    ),
    Scenario("oauth-unreachable", _OAUTH_EMULATOR, _OAUTH, oauth_unreachable=True, codes=(4,)),
]


@dataclass(frozen=True)
class Outputs:
    """Everything one run wrote."""

    code: int
    texts: dict[str, str]  # where -> what, decoded leniently so that a stray byte cannot hide a match


@pytest.fixture(scope="module", params=SCENARIOS, ids=lambda s: s.name)
def scenario(request: pytest.FixtureRequest) -> Iterator[tuple[Scenario, Outputs]]:
    """Run one scenario's upload (once per module) and collect its outputs."""
    case: Scenario = request.param
    tmp: Path = request.getfixturevalue("tmp_path_factory").mktemp(case.name)
    emulators = Emulators()
    space = Workspace(tmp)
    try:
        if case.emulator_args is None:
            api = oauth = f"http://127.0.0.1:{closed_port()}"
        else:
            emu = emulators.start(*case.emulator_args)
            api, oauth = emu.url, emu.oauth_url
        if case.oauth_unreachable:
            oauth = f"http://127.0.0.1:{closed_port()}/login/oauth2/access_token"
        rows = [purchase(i) for i in range(ROWS)]
        rows.append(["ord-x", "NOPE", "now-2h", LEAKY_EMAIL, LEAKY_PHONE, LEAKY_NAME, "1", "USD"])
        path = write_csv(tmp / "events.csv", HEADER, rows)
        report, rejects = tmp / "report.jsonl", tmp / "rejects.csv"
        result = space.run(
            "upload", str(path), "--api-url", api, "--oauth-url", oauth, "--pixel-id", "px",
            "--conversion-type", "OFFLINE", "--batch-size", "5", "--max-retries", "1", "--verbose", "--json",
            "--report", str(report), "--rejects", str(rejects), *case.credentials,
            env=dict(case.env),
        )  # fmt: skip
        texts = {"stdout": result.stdout, "stderr": result.stderr}
        files = [report, rejects, *(sorted(space.state.iterdir()) if space.state.exists() else [])]
        texts |= {p.name: p.read_bytes().decode("utf-8", "replace") for p in files if p.is_file()}
        yield case, Outputs(result.code, texts)
    finally:
        space.close()
        emulators.close()


def test_no_secret_given_to_a_run_appears_in_any_output(scenario: tuple[Scenario, Outputs]) -> None:
    """The token, the client secret and the refresh token are in no output, report, rejects or ledger file,
    and no access token (such as one from the OAuth grant) is left unredacted in a URL."""
    case, outputs = scenario
    assert outputs.code in case.codes, outputs.texts["stderr"]
    assert case.secrets
    assert {"stdout", "stderr", "report.jsonl", "rejects.csv"} <= set(outputs.texts)
    for where, text in outputs.texts.items():
        for secret in case.secrets:
            assert secret not in text, f"{secret} in {where}"
        assert not UNREDACTED_TOKEN.search(text), where


def test_no_raw_personal_data_appears_in_reports_logs_or_the_ledger(
    scenario: tuple[Scenario, Outputs],
) -> None:
    """Emails, phone numbers and names are in no output but the rejects file (the user's own rows)."""
    _, outputs = scenario
    raw = [LEAKY_EMAIL, LEAKY_PHONE, LEAKY_NAME, "Jane"]
    raw += [EMAIL.format(i) for i in range(ROWS)] + [PHONE.format(i) for i in range(ROWS)]
    for where, text in outputs.texts.items():
        if where == "rejects.csv":
            continue
        for value in raw:
            assert value not in text, f"{value} in {where}"


def mode(path: Path) -> int:
    """The permission bits of a file."""
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("report_name", ["report.jsonl", "report.csv"])
def test_report_and_rejects_files_are_readable_by_their_owner_only(
    invoke: Invoke, tmp_path: Path, report_name: str
) -> None:
    """--report and --rejects replace earlier world-readable files with files of mode 0600."""
    rows = [purchase(i) for i in range(3)] + [["ord-x", "NOPE", "now-2h", LEAKY_EMAIL, "", "", "1", "USD"]]
    path = write_csv(tmp_path / "events.csv", HEADER, rows)
    report, rejects = tmp_path / report_name, tmp_path / "rejects.csv"
    for earlier in (report, rejects):
        earlier.write_text("an earlier run's\n")
        earlier.chmod(0o644)
    result = invoke(
        "validate", str(path), "--pixel-id", "px", "--conversion-type", "OFFLINE",
        "--report", str(report), "--rejects", str(rejects),
    )  # fmt: skip
    assert result.exit_code == 1, result.stderr
    assert (mode(report), mode(rejects)) == (0o600, 0o600)
    assert LEAKY_NAME not in report.read_text()
    assert "NOPE" in rejects.read_text()
