"""Outgoing HTTP requests to user-given URLs, under the SSRF policy of DESIGN.md (Security).

Only http/https; the host is resolved once and every address it resolves to must be public
(not loopback, private, link-local, cloud metadata, multicast, reserved, unspecified), unless
the host name, the address or a network containing it is listed in
`settings.allowed_url_hosts` (LABELGRAPH_ALLOWED_URL_HOSTS). The connection goes to the
address that was checked (no second DNS lookup an attacker could answer differently), every
redirect is checked again, and the body is limited in size (after decompression) and time."""
from __future__ import annotations

import ipaddress
import os
import json as jsonlib
import socket
import threading
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


@dataclass(frozen=True)
class PinnedUrl:
    """A checked URL rewritten to connect to the address that was checked: send the request to
    `url` with `headers` (Host) and `extensions` (TLS server name), so no second DNS lookup can
    lead elsewhere."""

    url: str
    headers: dict[str, str]
    extensions: dict[str, str]


def pin_url(settings: Settings, url: str) -> PinnedUrl:
    """check_url, then the request target pinned to the checked address; OutgoingUrlRefused."""
    scheme, host, port, address = check_url(settings, url)
    ip_host = f"[{address}]" if address.version == 6 else str(address)
    pinned = urlsplit(url)._replace(netloc=f"{ip_host}:{port}").geturl()
    host_header = host if port in (80, 443) else f"{host}:{port}"
    return PinnedUrl(pinned, {"Host": host_header}, {"sni_hostname": host} if scheme == "https" else {})


_shared: tuple[int, httpx.Client] | None = None
_shared_lock = threading.Lock()


def shared_client() -> httpx.Client:
    """One keep-alive client per process for pinned requests (pass `timeout=` per request).
    Building a client builds a TLS context, milliseconds of CPU: callers that send often (webhook
    deliveries, ML backend calls) share this one. Rebuilt after a fork."""
    global _shared
    with _shared_lock:
        if _shared is None or _shared[0] != os.getpid():
            _shared = (os.getpid(), httpx.Client(follow_redirects=False, trust_env=False,
                                                 limits=httpx.Limits(max_connections=100, max_keepalive_connections=20)))
        return _shared[1]


def fetch_to_file(settings: Settings, url: str, target: Path, max_bytes: int) -> FetchedFile:
    """Download `url` into `target` under the policy; OutgoingUrlRefused on any refusal or failure."""
    deadline = time.monotonic() + settings.url_fetch_timeout_seconds
    timeout = httpx.Timeout(min(10.0, settings.url_fetch_timeout_seconds))
    with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
        for _ in range(MAX_REDIRECTS + 1):
            pinned = pin_url(settings, url)
            try:
                with client.stream(
                    "GET", pinned.url, headers={**pinned.headers, "Accept-Encoding": "identity"},
                    extensions=pinned.extensions,
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


@dataclass
class JsonAnswer:
    """What a JSON endpoint answered: its status, the parsed body (None when it was not JSON)
    and how long it took."""

    status_code: int
    body: object
    text: str
    latency_ms: float


MAX_JSON_ANSWER_BYTES = 64 * 1024 * 1024


def request_json(settings: Settings, method: str, url: str, *, json: object = None, headers: dict | None = None,
                 auth: tuple[str, str] | None = None, timeout: float = 10.0,
                 max_bytes: int = MAX_JSON_ANSWER_BYTES) -> JsonAnswer:
    """One request (JSON body when given) to a user-given URL under the policy: the host is
    checked, the connection goes to the checked address, redirects are not followed (a 3xx is
    the answer) and the answer is limited in size. Any HTTP status is an answer; a refused URL,
    a network failure, a timeout or an oversized body is OutgoingUrlRefused."""
    pinned = pin_url(settings, url)
    request_headers = {**pinned.headers, "Accept": "application/json", **(headers or {})}
    started = time.monotonic()
    try:
        with shared_client().stream(method, pinned.url, json=json, headers=request_headers, auth=auth,
                                    timeout=httpx.Timeout(timeout), extensions=pinned.extensions) as response:
            chunks, size = [], 0
            for chunk in response.iter_bytes(CHUNK_SIZE):
                size += len(chunk)
                if size > max_bytes:
                    raise OutgoingUrlRefused(f"The answer of {url} is larger than {max_bytes} bytes.")
                chunks.append(chunk)
                if time.monotonic() - started > timeout:
                    raise OutgoingUrlRefused(f"{url} took longer than {timeout:g} s to answer.")
            status = response.status_code
    except httpx.HTTPError as exc:
        raise OutgoingUrlRefused(f"Could not reach {url}: {exc or type(exc).__name__}")
    raw = b"".join(chunks)
    text = raw.decode("utf-8", errors="replace")
    try:
        body = jsonlib.loads(raw) if raw.strip() else None
    except ValueError:
        body = None
    return JsonAnswer(status, body, text, (time.monotonic() - started) * 1000)
