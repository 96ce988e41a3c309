"""Tests of snapcapi.settings: CLI.md's precedence (flag > environment > .env > mapping [settings] > default).

The environment is always a fake dict handed to `resolve`; the real `os.environ` is never read or changed.
Every test runs in an empty temporary working directory, so no stray `.env` is picked up.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from snapcapi import spec
from snapcapi.errors import ConfigError
from snapcapi.settings import Settings, default_state_dir, resolve
from snapcapi.spec import ActionSource

SECRET_TOKEN = "tok-0123456789-secret"
SECRET_CLIENT = "client-secret-abcdef"
SECRET_REFRESH = "refresh-token-ghijkl"


@pytest.fixture(autouse=True)
def empty_workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run each test in an empty directory of its own (the implicit `.env` is read from there)."""
    workdir = tmp_path / "work"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    return workdir


def env_file(tmp_path: Path, text: str, name: str = "custom.env") -> Path:
    """Write a .env file and return its path."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- precedence ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flag", "environ", "dotenv", "mapping", "expected"),
    [
        ("from-flag", "from-env", "from-dotenv", "from-mapping", "from-flag"),
        (None, "from-env", "from-dotenv", "from-mapping", "from-env"),
        (None, None, "from-dotenv", "from-mapping", "from-dotenv"),
        (None, None, None, "from-mapping", "from-mapping"),
        (None, None, None, None, None),
        ("from-flag", None, None, "from-mapping", "from-flag"),
        (None, "from-env", None, "from-mapping", "from-env"),
        ("   ", "from-env", None, None, "from-env"),
        (None, "", "from-dotenv", None, "from-dotenv"),
        (None, None, "", "from-mapping", "from-mapping"),
        ("  padded  ", None, None, None, "padded"),
    ],
    ids=[
        "flag-wins",
        "env-beats-dotenv",
        "dotenv-beats-mapping",
        "mapping-beats-default",
        "default",
        "flag-beats-mapping",
        "env-beats-mapping",
        "blank-flag-is-not-given",
        "empty-env-is-not-set",
        "empty-dotenv-is-not-set",
        "values-are-trimmed",
    ],
)
def test_precedence_is_flag_env_dotenv_mapping_default(
    tmp_path: Path,
    flag: str | None,
    environ: str | None,
    dotenv: str | None,
    mapping: str | None,
    expected: str | None,
) -> None:
    """Each setting takes the first non-blank layer: flag, environment, .env file, mapping [settings]."""
    path = env_file(tmp_path, "" if dotenv is None else f"SNAPCAPI_PIXEL_ID={dotenv}\n")
    settings = resolve(
        {"pixel_id": flag},
        {} if environ is None else {"SNAPCAPI_PIXEL_ID": environ},
        env_file=path,
        mapping_settings={} if mapping is None else {"pixel_id": mapping},
    )
    assert settings.pixel_id == expected


def test_layers_are_resolved_per_setting() -> None:
    """Precedence is decided setting by setting: each takes its own highest layer."""
    settings = resolve(
        {"pixel_id": "P-flag"},
        {"SNAPCAPI_SNAP_APP_ID": "S-env"},
        mapping_settings={"pixel_id": "P-map", "app_id": "A-map"},
    )
    assert (settings.pixel_id, settings.snap_app_id, settings.app_id) == ("P-flag", "S-env", "A-map")


def test_dotenv_in_the_working_directory_is_read(empty_workdir: Path) -> None:
    """Without --env-file, a `.env` in the working directory is read."""
    (empty_workdir / ".env").write_text("SNAPCAPI_PIXEL_ID=from-cwd\n", encoding="utf-8")
    assert resolve({}, {}).pixel_id == "from-cwd"


def test_env_file_option_replaces_the_working_directory_dotenv(tmp_path: Path, empty_workdir: Path) -> None:
    """--env-file PATH is read instead of the working directory's `.env`."""
    (empty_workdir / ".env").write_text("SNAPCAPI_PIXEL_ID=from-cwd\n", encoding="utf-8")
    path = env_file(tmp_path, "SNAPCAPI_PIXEL_ID=from-option\n")
    assert resolve({}, {}, env_file=path).pixel_id == "from-option"


def test_no_dotenv_is_fine() -> None:
    """Without a `.env` file and without --env-file, settings come from the other layers."""
    assert resolve({}, {"SNAPCAPI_PIXEL_ID": "P"}).pixel_id == "P"


def test_dotenv_understands_quotes_comments_and_export(tmp_path: Path) -> None:
    """The .env file is read with python-dotenv's syntax: quotes, comments and `export` work."""
    path = env_file(
        tmp_path,
        "# my settings\nexport SNAPCAPI_PIXEL_ID=\"P 1\"\nSNAPCAPI_APP_ID='123'  # the iOS app\n",
    )
    settings = resolve({}, {}, env_file=path)
    assert (settings.pixel_id, settings.app_id) == ("P 1", "123")


def test_missing_env_file_is_a_config_error(tmp_path: Path) -> None:
    """--env-file naming a file that does not exist is a ConfigError that names it."""
    path = tmp_path / "absent.env"
    with pytest.raises(ConfigError, match="no such file") as caught:
        resolve({}, {}, env_file=path)
    assert str(path) in str(caught.value)


def test_unreadable_env_file_is_a_config_error(tmp_path: Path) -> None:
    """A .env file that is not UTF-8 is a ConfigError that names it, not a traceback."""
    path = tmp_path / "latin1.env"
    path.write_bytes("SNAPCAPI_PIXEL_ID=caf\xe9\n".encode("latin-1"))
    with pytest.raises(ConfigError, match=r"cannot read the \.env file") as caught:
        resolve({}, {}, env_file=path)
    assert str(caught.value).startswith(str(path))


@pytest.mark.parametrize(
    ("name", "variable", "value"),
    [
        ("access_token", "SNAPCAPI_ACCESS_TOKEN", "tok"),
        ("client_id", "SNAPCAPI_CLIENT_ID", "cid"),
        ("client_secret", "SNAPCAPI_CLIENT_SECRET", "cs"),
        ("refresh_token", "SNAPCAPI_REFRESH_TOKEN", "rt"),
        ("pixel_id", "SNAPCAPI_PIXEL_ID", "pix"),
        ("snap_app_id", "SNAPCAPI_SNAP_APP_ID", "snapapp"),
        ("app_id", "SNAPCAPI_APP_ID", "123"),
        ("api_url", "SNAPCAPI_API_URL", "http://127.0.0.1:9999"),
        ("oauth_url", "SNAPCAPI_OAUTH_URL", "http://127.0.0.1:9999/token"),
        ("default_region", "SNAPCAPI_DEFAULT_REGION", "GB"),
    ],
)
def test_each_setting_has_its_environment_variable(name: str, variable: str, value: str) -> None:
    """Every setting of CLI.md's table is read from its SNAPCAPI_ variable."""
    assert getattr(resolve({}, {variable: value}), name) == value


def test_conversion_type_has_its_environment_variable() -> None:
    """SNAPCAPI_CONVERSION_TYPE sets the conversion type."""
    assert resolve({}, {"SNAPCAPI_CONVERSION_TYPE": "OFFLINE"}).conversion_type is ActionSource.OFFLINE


def test_state_dir_has_its_environment_variable(tmp_path: Path) -> None:
    """SNAPCAPI_STATE_DIR sets the ledger's directory."""
    assert resolve({}, {"SNAPCAPI_STATE_DIR": str(tmp_path)}).state_dir == tmp_path


# --- defaults and checks ------------------------------------------------------------------------------------


def test_defaults() -> None:
    """With nothing set: Snap's URLs, WEB, region US, no credentials, no assets."""
    settings = resolve({}, {"XDG_STATE_HOME": "/xdg/state"})
    assert settings == Settings(
        api_url=spec.DEFAULT_API_URL,
        oauth_url=spec.DEFAULT_OAUTH_URL,
        conversion_type=ActionSource.WEB,
        default_region="US",
        state_dir=Path("/xdg/state/snapcapi"),
    )


def test_default_state_dir_follows_xdg_state_home() -> None:
    """The default state directory is $XDG_STATE_HOME/snapcapi, read from the environment given."""
    assert default_state_dir({"XDG_STATE_HOME": "/xdg"}) == Path("/xdg/snapcapi")


def test_default_state_dir_without_xdg_is_under_the_home_directory() -> None:
    """Without XDG_STATE_HOME, the state directory is ~/.local/state/snapcapi."""
    home = Path.home()
    assert default_state_dir({"HOME": str(home)}) == home / ".local" / "state" / "snapcapi"


def test_state_dir_flag_expands_the_home_directory() -> None:
    """`--state-dir ~/x` means the user's home directory."""
    assert resolve({"state_dir": "~/ledger"}, {}).state_dir == Path.home() / "ledger"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("WEB", ActionSource.WEB),
        ("web", ActionSource.WEB),
        ("MOBILE_APP", ActionSource.MOBILE_APP),
        ("mobile_app", ActionSource.MOBILE_APP),
        ("mobile app", ActionSource.MOBILE_APP),
        (" Offline ", ActionSource.OFFLINE),
    ],
)
def test_conversion_type_is_read_in_any_case(raw: str, expected: ActionSource) -> None:
    """--conversion-type takes WEB, MOBILE_APP or OFFLINE in any case (a space for the underscore too)."""
    assert resolve({"conversion_type": raw}, {}).conversion_type is expected


@pytest.mark.parametrize("raw", ["TV", "webb", "APP_INSTALL"])
def test_bad_conversion_type_is_a_config_error(raw: str) -> None:
    """Another conversion type is a ConfigError that quotes it and lists the three."""
    with pytest.raises(ConfigError, match=f"conversion type '{raw}' is not WEB, MOBILE_APP or OFFLINE"):
        resolve({"conversion_type": raw}, {})


def test_bad_conversion_type_from_the_mapping_file_is_a_config_error() -> None:
    """The check applies whichever layer the value came from."""
    with pytest.raises(ConfigError, match="conversion type 'TV'"):
        resolve({}, {}, mapping_settings={"conversion_type": "TV"})


@pytest.mark.parametrize(("raw", "expected"), [("gb", "GB"), ("De", "DE"), (" fr ", "FR")])
def test_default_region_is_upper_cased(raw: str, expected: str) -> None:
    """--default-region is a two-letter code, kept in upper case."""
    assert resolve({"default_region": raw}, {}).default_region == expected


@pytest.mark.parametrize("raw", ["USA", "U", "1A", "U.", "united states"])
def test_bad_default_region_is_a_config_error(raw: str) -> None:
    """A region that is not two letters is a ConfigError."""
    with pytest.raises(ConfigError, match="is not a two-letter country code"):
        resolve({"default_region": raw}, {})


@pytest.mark.parametrize("name", ["api_url", "oauth_url"])
@pytest.mark.parametrize("raw", ["ftp://example.com", "tr.snapchat.com", "localhost:8080", "file:///tmp/x"])
def test_url_without_http_scheme_is_a_config_error(name: str, raw: str) -> None:
    """--api-url and --oauth-url must be http:// or https:// URLs."""
    with pytest.raises(ConfigError, match="must start with http:// or https://"):
        resolve({name: raw}, {})


def test_api_url_loses_its_trailing_slash() -> None:
    """A trailing `/` on --api-url is dropped, so that paths join cleanly."""
    assert resolve({"api_url": "http://127.0.0.1:8080/"}, {}).api_url == "http://127.0.0.1:8080"


def test_unknown_mapping_setting_is_a_config_error() -> None:
    """A [settings] name that is not a setting is a ConfigError that names it, and the settings there are."""
    with pytest.raises(ConfigError) as caught:
        resolve({}, {}, mapping_settings={"pixel": "P", "colour": "red"})
    assert str(caught.value) == (
        "mapping file [settings]: unknown setting(s) colour, pixel; the settings are: access_token,"
        " client_id, client_secret, refresh_token, pixel_id, snap_app_id, app_id, api_url, oauth_url,"
        " conversion_type, default_region, state_dir, timezone, event_type"
    )


# Valid values for every setting of the README's Settings table, by flag.
README_SETTING_VALUES = {
    "--access-token": "tok", "--client-id": "cid", "--client-secret": "cs", "--refresh-token": "rt",
    "--pixel-id": "P", "--snap-app-id": "S", "--app-id": "123", "--api-url": "http://127.0.0.1:1",
    "--oauth-url": "http://127.0.0.1:1/token", "--conversion-type": "OFFLINE", "--default-region": "FR",
    "--state-dir": "/srv/snapcapi/state", "--timezone": "Europe/Paris", "--event-type": "PURCHASE",
}  # fmt: skip


def test_the_mapping_file_takes_every_setting_the_readme_lists() -> None:
    """The README says [settings] takes any setting of its Settings table: each flag of that table, as a
    [settings] key, is taken, and comes out in the settings (timezone included)."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Settings", 1)[1].split("\n\n| flag |", 1)[1].split("\n\n", 1)[0]
    flags = [
        flag for row in table.splitlines()[2:] for flag in re.findall(r"`(--[a-z-]+)", row.split("|")[1])
    ]
    assert sorted(flags) == sorted(README_SETTING_VALUES)
    given = {flag[2:].replace("-", "_"): README_SETTING_VALUES[flag] for flag in flags}
    settings = resolve({}, {}, mapping_settings=given)
    taken = {name: str(getattr(settings, name)) for name in given}
    assert taken == {**given, "conversion_type": str(ActionSource.OFFLINE)}


@pytest.mark.parametrize(
    ("flag", "environ", "mapping", "expected"),
    [
        (None, {}, {}, "UTC"),
        (None, {}, {"timezone": "Asia/Tokyo"}, "Asia/Tokyo"),
        (None, {"SNAPCAPI_TIMEZONE": "Europe/Paris"}, {"timezone": "Asia/Tokyo"}, "Europe/Paris"),
        (
            "America/New_York",
            {"SNAPCAPI_TIMEZONE": "Europe/Paris"},
            {"timezone": "Asia/Tokyo"},
            "America/New_York",
        ),
    ],
)
def test_timezone_is_a_setting_in_the_usual_precedence(
    flag: str | None, environ: dict[str, str], mapping: dict[str, str], expected: str
) -> None:
    """--timezone, then SNAPCAPI_TIMEZONE, then [settings] timezone, then UTC."""
    assert resolve({"timezone": flag}, environ, mapping_settings=mapping).timezone == expected


# --- secrets and credentials --------------------------------------------------------------------------------

ALL_SECRETS = Settings(
    access_token=SECRET_TOKEN,
    client_id="client-id-1",
    client_secret=SECRET_CLIENT,
    refresh_token=SECRET_REFRESH,
    pixel_id="PIXEL-1",
)


@pytest.mark.parametrize("show", [repr, str], ids=["repr", "str"])
def test_secrets_are_not_in_repr(show: Callable[[object], str]) -> None:
    """The token, client secret and refresh token never appear in repr or str; other settings do."""
    text = show(ALL_SECRETS)
    for secret in (SECRET_TOKEN, SECRET_CLIENT, SECRET_REFRESH):
        assert secret not in text
    assert "PIXEL-1" in text


def test_secrets_lists_every_secret_set() -> None:
    """secrets() returns the secret values set, so output can be scrubbed of them."""
    assert set(ALL_SECRETS.secrets()) == {SECRET_TOKEN, SECRET_CLIENT, SECRET_REFRESH}


def test_secrets_is_empty_without_credentials() -> None:
    """Without credentials there is nothing to scrub."""
    assert Settings().secrets() == ()


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (Settings(access_token="t"), False),
        (Settings(client_id="c", client_secret="s", refresh_token="r"), True),
        (Settings(access_token="t", client_id="c", client_secret="s", refresh_token="r"), False),
        (Settings(), False),
    ],
    ids=["token", "oauth", "token-wins", "nothing"],
)
def test_uses_oauth_only_without_a_long_lived_token(settings: Settings, expected: bool) -> None:
    """OAuth is used when its credentials are set and no long-lived token is."""
    assert settings.uses_oauth is expected


@pytest.mark.parametrize(
    "settings",
    [
        Settings(access_token="t"),
        Settings(client_id="c", client_secret="s", refresh_token="r"),
        Settings(access_token="t", client_id="c"),
    ],
    ids=["token", "oauth", "token-with-partial-oauth"],
)
def test_complete_credentials_pass_the_check(settings: Settings) -> None:
    """A token, or all three OAuth credentials, are enough."""
    settings.check_credentials()


def test_no_credentials_is_a_config_error_naming_the_ways_to_give_them() -> None:
    """Without any credential the message names the token flag and variable, OAuth, and --sandbox."""
    with pytest.raises(ConfigError, match="No credentials") as caught:
        Settings().check_credentials()
    message = str(caught.value)
    for part in ("--access-token", "SNAPCAPI_ACCESS_TOKEN", "--client-id", "--refresh-token", "--sandbox"):
        assert part in message


@pytest.mark.parametrize(
    ("given", "missing"),
    [
        ({"client_id": "c"}, ["--client-secret", "--refresh-token"]),
        ({"client_secret": SECRET_CLIENT}, ["--client-id", "--refresh-token"]),
        ({"client_id": "c", "client_secret": SECRET_CLIENT}, ["--refresh-token"]),
        ({"refresh_token": SECRET_REFRESH, "client_secret": SECRET_CLIENT}, ["--client-id"]),
    ],
)
def test_partial_oauth_is_a_config_error_naming_what_is_missing(
    given: dict[str, str], missing: list[str]
) -> None:
    """With some OAuth credentials, the message names each missing one by flag and variable."""
    with pytest.raises(ConfigError, match="OAuth needs all three credentials") as caught:
        Settings(
            client_id=given.get("client_id"),
            client_secret=given.get("client_secret"),
            refresh_token=given.get("refresh_token"),
        ).check_credentials()
    message = str(caught.value)
    for flag in ("--client-id", "--client-secret", "--refresh-token"):
        variable = "SNAPCAPI_" + flag[2:].upper().replace("-", "_")
        assert (flag in message, variable in message) == (flag in missing, flag in missing)


def test_credential_messages_never_contain_a_secret() -> None:
    """The partial-OAuth message names what is missing without echoing what was given."""
    with pytest.raises(ConfigError, match="OAuth") as caught:
        Settings(client_secret=SECRET_CLIENT, refresh_token=SECRET_REFRESH).check_credentials()
    assert SECRET_CLIENT not in str(caught.value)
    assert SECRET_REFRESH not in str(caught.value)


def test_resolved_settings_are_frozen() -> None:
    """Settings are resolved once into a frozen object."""
    settings = resolve({}, {})
    with pytest.raises(AttributeError):
        settings.pixel_id = "changed"  # type: ignore[misc]
