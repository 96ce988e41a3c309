"""Settings, resolved once into one frozen object.

Precedence, per setting: command-line flag, then environment variable, then a `.env` file (in the working
directory, or `--env-file`), then the mapping file's `[settings]` table, then the default. This module is
the only one that looks at the environment, and only through the mapping it is handed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

from dotenv import dotenv_values

from snapcapi import spec
from snapcapi.errors import ConfigError
from snapcapi.spec import ActionSource

ENV_PREFIX = "SNAPCAPI_"
SECRET_SETTINGS = ("access_token", "client_secret", "refresh_token")


@dataclass(frozen=True, slots=True)
class Settings:
    """The settings of CLI.md's table. Secrets are kept out of `repr`."""

    access_token: str | None = field(default=None, repr=False)
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    pixel_id: str | None = None
    snap_app_id: str | None = None
    app_id: str | None = None
    api_url: str = spec.DEFAULT_API_URL
    oauth_url: str = spec.DEFAULT_OAUTH_URL
    conversion_type: ActionSource = ActionSource.WEB
    default_region: str = "US"
    state_dir: Path = Path("~/.local/state/snapcapi")
    timezone: str = "UTC"  # of times without an offset; checked where the build context is made
    event_type: str | None = None  # event name of rows without one

    @property
    def uses_oauth(self) -> bool:
        """True when the OAuth credentials are set (and no long-lived token, which wins)."""
        return not self.access_token and bool(self.client_id or self.client_secret or self.refresh_token)

    def secrets(self) -> tuple[str, ...]:
        """Return every secret value set, so that output can be scrubbed of them."""
        return tuple(v for v in (getattr(self, name) for name in SECRET_SETTINGS) if v)

    def check_credentials(self) -> None:
        """Raise ConfigError unless a long-lived token or a complete set of OAuth credentials is set."""
        if self.access_token:
            return
        oauth = {
            "--client-id": self.client_id,
            "--client-secret": self.client_secret,
            "--refresh-token": self.refresh_token,
        }
        if any(oauth.values()):
            missing = [flag for flag, value in oauth.items() if not value]
            if missing:
                names = ", ".join(
                    f"{flag} or {ENV_PREFIX}{flag[2:].upper().replace('-', '_')}" for flag in missing
                )
                raise ConfigError(f"OAuth needs all three credentials; missing: {names}")
            return
        raise ConfigError(
            "No credentials: set a Conversions API token (--access-token or SNAPCAPI_ACCESS_TOKEN),"
            " or OAuth credentials (--client-id, --client-secret, --refresh-token), or use --sandbox"
        )


def default_state_dir(environ: Mapping[str, str]) -> Path:
    """Return the user's state directory for snapcapi (XDG_STATE_HOME, else ~/.local/state)."""
    base = environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "snapcapi"


def resolve(
    flags: Mapping[str, str | None],
    environ: Mapping[str, str],
    *,
    env_file: Path | None = None,
    mapping_settings: Mapping[str, str] | None = None,
) -> Settings:
    """Return the settings in CLI.md's precedence order; raises ConfigError for unknown or bad values.

    `flags` maps setting names (`pixel_id`) to command-line values (None when not given). Without
    `env_file`, a `.env` in the working directory is read when there is one.
    """
    dotenv = _read_env_file(env_file)
    names = [f.name for f in fields(Settings)]
    unknown = set(mapping_settings or {}) - set(names)
    if unknown:
        raise ConfigError(
            f"mapping file [settings]: unknown setting(s) {', '.join(sorted(unknown))}; the settings are:"
            f" {', '.join(names)}"
        )
    values: dict[str, str] = {}
    for name in names:
        key = ENV_PREFIX + name.upper()
        for layer in (flags.get(name), environ.get(key), dotenv.get(key), (mapping_settings or {}).get(name)):
            if layer is not None and layer.strip():
                values[name] = layer.strip()
                break
    try:
        conversion = ActionSource(values.get("conversion_type", "WEB").upper().replace(" ", "_"))
    except ValueError:
        raise ConfigError(
            f"conversion type {values['conversion_type']!r} is not WEB, MOBILE_APP or OFFLINE"
        ) from None
    region = values.get("default_region", "US").upper()
    if len(region) != 2 or not region.isalpha():
        raise ConfigError(f"default region {region!r} is not a two-letter country code (US, GB, DE...)")
    for url_name in ("api_url", "oauth_url"):
        url = values.get(url_name)
        if url is not None and not url.startswith(("http://", "https://")):
            raise ConfigError(f"{url_name.replace('_', ' ')} {url!r} must start with http:// or https://")
    return Settings(
        access_token=values.get("access_token"),
        client_id=values.get("client_id"),
        client_secret=values.get("client_secret"),
        refresh_token=values.get("refresh_token"),
        pixel_id=values.get("pixel_id"),
        snap_app_id=values.get("snap_app_id"),
        app_id=values.get("app_id"),
        api_url=values.get("api_url", spec.DEFAULT_API_URL).rstrip("/"),
        oauth_url=values.get("oauth_url", spec.DEFAULT_OAUTH_URL),
        conversion_type=conversion,
        default_region=region,
        state_dir=Path(values["state_dir"]).expanduser()
        if "state_dir" in values
        else default_state_dir(environ),
        timezone=values.get("timezone", "UTC"),
        event_type=values.get("event_type"),
    )


def _read_env_file(path: Path | None) -> dict[str, str]:
    if path is None:
        path = Path(".env")
        if not path.is_file():
            return {}
    elif not path.is_file():
        raise ConfigError(f"--env-file {path}: no such file")
    try:
        return {k: v for k, v in dotenv_values(path).items() if v is not None}
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: cannot read the .env file ({err})") from None
