"""Outbound URLs of third-party subscriptions: no credentials, no private networks."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from services.common.errors import Unprocessable


class InvalidTarget(Unprocessable):
    code = "invalid-webhook-url"
    title = "The webhook URL is not allowed"


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    return ip.is_global and not ip.is_multicast


async def validate_target(
    url: str, *, allow_private: bool = False, allowed_hosts: list[str] | tuple[str, ...] = ()
) -> str:
    """Refuse URLs a third party must not point us at; return the URL unchanged."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidTarget(f"Not a URL: {exc}") from exc
    if parts.scheme not in ("http", "https"):
        raise InvalidTarget("Only http and https URLs are allowed")
    if parts.username or parts.password:
        raise InvalidTarget("Credentials in the URL are not allowed; use the signing secret")
    host = parts.hostname
    if not host:
        raise InvalidTarget("The URL has no host")
    if allow_private or host in allowed_hosts:
        return url
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port or (443 if parts.scheme == "https" else 80), type=socket.SOCK_STREAM
            )
        except OSError as exc:
            raise InvalidTarget(f"The host {host} does not resolve") from exc
        addresses = sorted({info[4][0] for info in infos})
    private = [a for a in addresses if not _is_public(a)]
    if private:
        raise InvalidTarget(
            f"The host {host} resolves to a private or reserved address ({private[0]})"
        )
    return url
