"""The proxies the environment names (`HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY`, `NO_PROXY`), read as httpx
reads them.

httpx's client reads them only when it builds its own transport. snapcapi gives it one (`DeadlineTransport`,
for a deadline on each whole request), so it reads them here, by httpx's rules (its `trust_env`, which
follow curl's), and mounts a transport for each: `environment_proxies()` gives the mount patterns
(`https://`, `all://*.example.com`) with the proxy's URL, or None for a host sent to directly.

Decision: loopback (`localhost`, `127.0.0.1`, `::1`) is always reached directly, as Go's HTTP client does:
a proxy elsewhere cannot reach this machine's emulator (`--sandbox`, `mock-server`).
"""

from __future__ import annotations

import ipaddress
import urllib.request

__all__ = ["environment_proxies"]


def environment_proxies() -> dict[str, str | None]:
    """Each httpx mount pattern the environment names, with its proxy's URL (None: no proxy there)."""
    named = urllib.request.getproxies()  # the *_proxy variables, either case (and the OS's settings)
    mounts: dict[str, str | None] = {}
    for scheme in ("http", "https", "all"):
        if url := named.get(scheme):
            mounts[f"{scheme}://"] = url if "://" in url else f"http://{url}"
    if mounts:
        mounts.update(dict.fromkeys(_LOOPBACK))
    for host in (part.strip() for part in named.get("no", "").split(",")):
        if host == "*":
            return {}
        if not host:
            continue
        if "://" in host:
            mounts[host] = None
        elif _is_ip(host.split("/")[0]) or host.lower() == "localhost":  # an address, or a network
            mounts[f"all://[{host}]" if ":" in host else f"all://{host}"] = None
        else:
            # `example.com` also covers its subdomains, `.example.com` only them: curl's rules.
            mounts[f"all://*{host}"] = None
    return mounts


_LOOPBACK = ("all://localhost", "all://127.0.0.1", "all://[::1]")


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
