"""Outgoing HTTP requests to user-given URLs, under the SSRF policy of DESIGN.md (Security).

Only http/https; the host is resolved once and every address it resolves to must be public
(not loopback, private, link-local, cloud metadata, multicast, reserved, unspecified), unless
the host name, the address or a network containing it is listed in
`settings.allowed_url_hosts` (LABELGRAPH_ALLOWED_URL_HOSTS). The connection goes to the
address that was checked (no second DNS lookup an attacker could answer differently), every
redirect is checked again, and the body is limited in size (after decompression) and time."""
from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx

from core.config import Settings

MAX_REDIRECTS = 5
CHUNK_SIZE = 64 * 1024


class OutgoingUrlRefused(Exception):
    """The URL may not be fetched (policy) or could not be fetched (network, size, time)."""


@dataclass
class FetchedFile:
    path: Path
    size: int
    final_url: str
    content_type: str


def _allowed(settings: Settings, host: str, address: ipaddress._BaseAddress) -> bool:
    for entry in settings.allowed_url_hosts:
        if entry.lower() == host.lower():
            return True
        try:
            if address in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def _is_public(address: ipaddress._BaseAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def check_url(settings: Settings, url: str) -> tuple[str, str, int, ipaddress._BaseAddress]:
    """(scheme, host, port, address to connect to) or OutgoingUrlRefused."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise OutgoingUrlRefused(f"Invalid URL: {exc}")
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise OutgoingUrlRefused("Only http and https URLs are allowed.")
    host = parts.hostname
    if not host:
        raise OutgoingUrlRefused("The URL has no host.")
    if parts.username or parts.password:
        raise OutgoingUrlRefused("URLs with credentials are not allowed.")
    port = port or (443 if scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise OutgoingUrlRefused(f"Cannot resolve host {host}: {exc}")
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    for address in addresses:
        if not _is_public(address) and not _allowed(settings, host, address):
            raise OutgoingUrlRefused(
                f"URL host {host} resolves to {address}, a non-public address; "
                "allow it with LABELGRAPH_ALLOWED_URL_HOSTS if it is trusted."
            )
    return scheme, host, port, addresses[0]


def fetch_to_file(settings: Settings, url: str, target: Path, max_bytes: int) -> FetchedFile:
    """Download `url` into `target` under the policy; OutgoingUrlRefused on any refusal or failure."""
    deadline = time.monotonic() + settings.url_fetch_timeout_seconds
    timeout = httpx.Timeout(min(10.0, settings.url_fetch_timeout_seconds))
    with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
        for _ in range(MAX_REDIRECTS + 1):
            scheme, host, port, address = check_url(settings, url)
            parts = urlsplit(url)
            ip_host = f"[{address}]" if address.version == 6 else str(address)
            pinned = parts._replace(netloc=f"{ip_host}:{port}").geturl()
            host_header = host if port in (80, 443) else f"{host}:{port}"
            try:
                with client.stream(
                    "GET", pinned, headers={"Host": host_header, "Accept-Encoding": "identity"},
                    extensions={"sni_hostname": host} if scheme == "https" else {},
                ) as response:
                    if response.is_redirect and "location" in response.headers:
                        url = urljoin(url, response.headers["location"])
                        continue
                    if response.status_code >= 400:
                        raise OutgoingUrlRefused(f"Fetching {url} answered HTTP {response.status_code}.")
                    declared = response.headers.get("content-length", "")
                    if declared.isdigit() and int(declared) > max_bytes:
                        raise OutgoingUrlRefused(f"The file at {url} is larger than {max_bytes} bytes.")
                    size = 0
                    with open(target, "wb") as out:
                        # iter_bytes decodes any content encoding: the limit counts decompressed bytes.
                        for chunk in response.iter_bytes(CHUNK_SIZE):
                            size += len(chunk)
                            if size > max_bytes:
                                raise OutgoingUrlRefused(f"The file at {url} is larger than {max_bytes} bytes.")
                            if time.monotonic() > deadline:
                                raise OutgoingUrlRefused(f"Fetching {url} took longer than {settings.url_fetch_timeout_seconds:g} s.")
                            out.write(chunk)
                    return FetchedFile(target, size, url, response.headers.get("content-type", ""))
            except httpx.HTTPError as exc:
                raise OutgoingUrlRefused(f"Could not fetch {url}: {exc or type(exc).__name__}")
        raise OutgoingUrlRefused(f"Too many redirects fetching {url}.")
