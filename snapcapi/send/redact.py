"""Redaction: every secret out of a text before it is printed, logged, or put in an error or report.

The one place that knows what a secret looks like in snapcapi's messages: the token-like parameters of a
URL or a form (`access_token=...`), their JSON form, and every secret a token source holds, also in its
URL-encoded forms.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

__all__ = ["REDACTED", "redact", "redact_url"]

REDACTED = "REDACTED"
# Secrets shorter than this are replaced only where they stand apart from letters and digits. A real token
# is far longer; a short one (a test token, `any`) inside ordinary words made messages unreadable.
_SHORT = 16
_SECRET_PARAM = re.compile(r"((?:access_token|refresh_token|client_secret)=)[^&\s\"'<>#]+", re.IGNORECASE)
_USERINFO = re.compile(r"(//[^/?#@\s:]*):[^/?#@\s]*@")
_SECRET_JSON = re.compile(r"(\"(?:access_token|refresh_token|client_secret)\"\s*:\s*\")[^\"]*", re.IGNORECASE)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Return `text` with token-like parameters and every given secret (also URL-encoded) replaced."""
    text = _SECRET_PARAM.sub(rf"\1{REDACTED}", text)
    text = _SECRET_JSON.sub(rf"\1{REDACTED}", text)
    forms = {
        form for secret in secrets if secret for form in (secret, quote(secret, safe=""), quote_plus(secret))
    }
    # Longest first, so that a secret containing another is replaced whole.
    for form in sorted(forms, key=len, reverse=True):
        if len(form) >= _SHORT:
            text = text.replace(form, REDACTED)
        elif form in text:
            # A short secret (a test token such as `t`) is replaced where it stands on its own, not inside
            # every word that happens to contain it ("cannot" stays "cannot").
            text = re.sub(rf"(?<![A-Za-z0-9]){re.escape(form)}(?![A-Za-z0-9])", REDACTED, text)
    return text


def redact_url(url: str) -> str:
    """Return `url` without its query (where the token travels) and with any password replaced."""
    url = _USERINFO.sub(rf"\1:{REDACTED}@", url)
    return url.split("?", 1)[0]
