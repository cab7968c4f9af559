"""Which proxy the load client (backends/http_stream.py) uses for a host: the environment's, read as httpx
reads it, with the exceptions that keep keys where they belong (see `proxy_for`)."""

from __future__ import annotations

import ipaddress
import os
import urllib.request
from base64 import b64encode
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from harness.config.redact import redact_url


@dataclass(frozen=True)
class Proxy:
    """An HTTP proxy: where it listens, and the Proxy-Authorization credentials for it."""

    host: str
    port: int
    auth: str | None  # base64 user:password for Proxy-Authorization, or None


def proxy_for(scheme: str, host: str) -> Proxy | None:
    """The proxy the environment names for this scheme and host, read as httpx reads it: `<scheme>_proxy`,
    else `all_proxy` (either case), skipped for `no_proxy` hosts; a loopback host is never proxied (the key
    of a local server has no business at a proxy). Only `http://` proxies are spoken: another scheme
    (`https://`, `socks5://`) is refused with a ValueError naming the variable, rather than sent a
    plain-text CONNECT with its credentials."""
    if is_loopback(host):
        return None
    proxies = urllib.request.getproxies()
    kind = scheme if proxies.get(scheme) else "all"
    url = proxies.get(kind)
    if not url or urllib.request.proxy_bypass(host):
        return None
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme != "http" or not parts.hostname:
        names = [n for n in os.environ if n.lower() == f"{kind}_proxy"] or [f"{kind}_proxy"]
        raise ValueError(f"{names[0]}: a {parts.scheme or 'schemeless'}:// proxy ({redact_url(url)}) is not supported "
                         "by the load client; give an http:// proxy, or add the host to no_proxy")
    auth = None
    if parts.username:
        auth = b64encode(f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()).decode()
    return Proxy(parts.hostname, parts.port or 80, auth)


def is_loopback(host: str) -> bool:
    """Whether `host` names this machine (localhost, 127.0.0.0/8, ::1)."""
    if host.lower() in ("localhost", "localhost.") or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
