"""Where the access token comes from: a long-lived token (`StaticToken`) or Snap's OAuth grant (`OAuthToken`).

Both are `TokenSource`s: the client asks for the token to send, asks for a refresh after a 401, and asks
for every secret held so that no message shows one.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Protocol

import httpx

from snapcapi.errors import AuthError, DeliveryError
from snapcapi.send.answers import REASON_CHARS, json_object
from snapcapi.send.redact import REDACTED, redact

__all__ = ["OAuthToken", "StaticToken", "TokenSource"]

# Refresh an OAuth token this long before it expires, so that no request leaves with a dying token.
_OAUTH_MARGIN = 60.0
# (decision) Snap's grant answer usually says expires_in ~3600; assume that when it says nothing usable.
_OAUTH_DEFAULT_LIFETIME = 3600.0


class TokenSource(Protocol):
    """Where the access token comes from: a long-lived token, or an OAuth grant."""

    def token(self) -> str:
        """Return the access token to send now. Raises AuthError or DeliveryError."""
        ...

    def refresh(self) -> bool:
        """After a 401: return True if a fresh token was obtained, False if there is nothing to refresh."""
        ...

    def secrets(self) -> tuple[str, ...]:
        """Return every secret this source holds, for redaction."""
        ...


class StaticToken:
    """A long-lived Conversions API token: nothing to refresh."""

    __slots__ = ("_token",)

    def __init__(self, token: str) -> None:
        self._token = token

    def __repr__(self) -> str:
        return f"StaticToken({REDACTED})"

    def token(self) -> str:
        """Return the token."""
        return self._token

    def refresh(self) -> bool:
        """Return False: a long-lived token cannot be refreshed."""
        return False

    def secrets(self) -> tuple[str, ...]:
        """Return the token."""
        return (self._token,)


class OAuthToken:
    """Short-lived access tokens from Snap's OAuth refresh-token grant (SPEC section 2). Thread-safe."""

    def __init__(
        self,
        http: httpx.Client,
        oauth_url: str,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self._url = oauth_url
        self._host = httpx.URL(oauth_url).host or "the OAuth server"
        self._client_id = client_id
        self._client_secret = client_secret
        self._refresh_token = refresh_token
        self._clock = clock
        self._access: str | None = None
        self._refresh_at = 0.0
        # Every secret ever held: a replaced one may still sit in a message being built by another thread.
        self._secrets = {client_secret, refresh_token}
        # Several requests are in flight at once; one grant at a time, and everyone waits for it.
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"OAuthToken(client_id={self._client_id!r}, oauth_url={self._url!r})"

    def token(self) -> str:
        """Return a valid access token, granting a new one when none is held or it is about to expire.

        Raises AuthError if the OAuth server refuses the grant, DeliveryError if it cannot be reached.
        """
        with self._lock:
            if self._access is None or self._clock() >= self._refresh_at:
                self._grant()
            assert self._access is not None
            return self._access

    def refresh(self) -> bool:
        """Grant a new access token now (Snap said 401) and return True. Raises as `token` does."""
        with self._lock:
            self._grant()
            return True

    def secrets(self) -> tuple[str, ...]:
        """Return the client secret, refresh tokens and access tokens held so far."""
        with self._lock:
            return tuple(self._secrets)

    def _post(self, form: dict[str, str]) -> httpx.Response:
        try:
            return self._http.post(self._url, data=form)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            detail = redact(str(exc) or type(exc).__name__, self._secrets)
        # Raised outside the handler, so that the httpx exception is not even kept as __context__.
        raise DeliveryError(f"could not reach the OAuth server {self._host}: {detail}")

    def _grant(self) -> None:
        form = {
            "grant_type": "refresh_token",
            "refresh_token": self._refresh_token,
            "client_id": self._client_id,
            "client_secret": self._client_secret,
        }
        response = self._post(form)
        body = json_object(response)
        if response.status_code == 429 or response.status_code >= 500:
            raise DeliveryError(f"the OAuth server {self._host} answered HTTP {response.status_code}")
        access = body.get("access_token")
        if response.status_code != 200 or not isinstance(access, str) or not access:
            described = " ".join(str(body[key]) for key in ("error", "error_description") if body.get(key))
            detail = redact(described, self._secrets)[:REASON_CHARS] or "no access token in the answer"
            raise AuthError(
                f"the OAuth server {self._host} refused the refresh token (HTTP {response.status_code}: "
                f"{detail}); check the client id, client secret and refresh token",
                response.status_code,
            )
        self._access = access
        self._secrets.add(access)
        rotated = body.get("refresh_token")
        if isinstance(rotated, str) and rotated:
            self._refresh_token = rotated
            self._secrets.add(rotated)
        lifetime = _number(body.get("expires_in"))
        if lifetime is None or not math.isfinite(lifetime) or lifetime <= 0:
            lifetime = _OAUTH_DEFAULT_LIFETIME
        # A token that lives less than twice the margin is refreshed at half its life instead.
        self._refresh_at = self._clock() + lifetime - min(_OAUTH_MARGIN, lifetime / 2)


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return float(value)
    except ValueError:
        return None
