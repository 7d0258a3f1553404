"""Client ID metadata documents (draft-ietf-oauth-client-id-metadata-document).

A client may use an https URL as its ``client_id``: the document there is its RFC 7591
metadata, with ``client_id`` equal to the URL. We fetch it with a 2-second deadline, at
most 5 KiB, no redirects, only from public addresses (SSRF: the host's addresses are
resolved and checked first); check it like an anonymous registration (a public PKCE
client, web redirect URIs matched exactly, public scopes); keep it as a client row (its
codes, consents and refresh tokens refer to it; unused ones are pruned like other
self-registered clients) and in memory for its ``Cache-Control`` max-age, within
30 s..1 h. A failed or invalid document is never cached (the draft, §4.4) and is
answered with ``invalid_client`` and a sentence.

``SCOPEGATE_CLIENT_ID_DOCUMENTS_ALLOW_LOOPBACK`` (tests only) accepts http URLs on
127.0.0.1 and fetches from loopback addresses.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
import time
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from ...errors import InvalidClient, OAuthError, TemporarilyUnavailable
from ...store.repositories import ClientRecord
from ...store.repositories.clients import Registration
from ..admin.clients import find_client, register_client, replace_registered_client
from ..state import ServerState
from .metadata import read_metadata
from .policy import RegistrationPolicy

__all__ = ["FETCH_TIMEOUT_S", "MAX_DOCUMENT_BYTES", "MAX_FETCHING", "ClientDocuments"]

FETCH_TIMEOUT_S = 2.0
MAX_DOCUMENT_BYTES = 5 * 1024
MAX_URL_LENGTH = 255
MIN_TTL_S, DEFAULT_TTL_S, MAX_TTL_S = 30.0, 300.0, 3600.0
MAX_CACHED = 1000
MAX_FETCHING = 16  # documents fetched at once per process; more wait for the client's retry
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*(\d{1,10})\s*(?:,|$)", re.IGNORECASE)


def cache_ttl(cache_control: str | None) -> float:
    """Seconds to keep a document: its max-age within 30 s..1 h (5 min without one)."""
    if not cache_control:
        return DEFAULT_TTL_S
    if re.search(r"no-store|no-cache", cache_control, re.IGNORECASE):
        return MIN_TTL_S
    found = _MAX_AGE.search(cache_control)
    age = float(found.group(1)) if found else DEFAULT_TTL_S
    return min(MAX_TTL_S, max(MIN_TTL_S, age))


class ClientDocuments:
    """Resolves metadata-document URLs to clients; installed on ``state.clients``."""

    def __init__(self, state: ServerState, *, allow_loopback: bool = False,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.state = state
        self.allow_loopback = allow_loopback
        self._transport = transport
        self._tls = httpx.create_ssl_context()  # built once: a fetch makes only a client
        self._cache: dict[str, tuple[float, ClientRecord]] = {}
        self.fetching = 0

    @classmethod
    def from_state(cls, state: ServerState) -> ClientDocuments:
        """The resolver a server's settings ask for."""
        return cls(state, allow_loopback=state.settings.client_id_documents_allow_loopback)

    async def aclose(self) -> None:
        """Nothing to release: each fetch opens and closes its own connection."""

    def handles(self, client_id: str) -> bool:
        """Whether ``client_id`` is a URL (only a URL can be a document's id)."""
        return client_id.startswith("https://") or (
            self.allow_loopback and client_id.startswith("http://"))

    async def get(self, client_id: str) -> ClientRecord | None:
        """The client the document at ``client_id`` describes (fetched when not cached).

        :raises InvalidClient: the URL or the document is unusable, saying why.
        """
        now = time.monotonic()
        cached = self._cache.get(client_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        self._check_url(client_id)
        if self.fetching >= MAX_FETCHING:  # unknown URLs cost a fetch each: bound them
            raise TemporarilyUnavailable("too many client metadata documents are being "
                                         "fetched right now; try again in a moment")
        self.fetching += 1
        try:
            await self._check_addresses(urlsplit(client_id).hostname or "")
            document, ttl = await self._fetch(client_id)
        finally:
            self.fetching -= 1
        record = await run_in_threadpool(self._store, client_id, document)
        if len(self._cache) >= MAX_CACHED:
            self._cache.clear()
        self._cache[client_id] = (now + ttl, record)
        return record

    def invalidate(self, client_id: str) -> None:
        """Forget a cached document."""
        self._cache.pop(client_id, None)

    def _check_url(self, url: str) -> None:
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError:
            raise InvalidClient("the client_id URL is malformed") from None
        segments = parts.path.split("/")
        if (len(url) > MAX_URL_LENGTH or not parts.hostname or parts.fragment
                or "#" in url or parts.username is not None or parts.password is not None
                or parts.path in ("", "/") or "." in segments or ".." in segments
                or any(c.isspace() for c in url)):
            raise InvalidClient(
                f"a client_id URL must be an https URL of at most {MAX_URL_LENGTH} "
                "characters with a path, without fragment, user name or dot segments")
        if parts.scheme != "https" and not (self.allow_loopback and parts.scheme == "http"):
            raise InvalidClient("a client_id URL must use https")

    async def _check_addresses(self, host: str) -> None:
        """Refuse hosts that resolve to private, loopback or otherwise local addresses."""
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, None, type=socket.SOCK_STREAM)
        except OSError:
            raise InvalidClient(f"the client_id host {host[:100]!r} does not resolve") from None
        for info in infos:
            address = ipaddress.ip_address(str(info[4][0]).partition("%")[0])
            if address.is_loopback and self.allow_loopback:
                continue
            if not address.is_global or address.is_multicast:
                raise InvalidClient(f"the client_id host {host[:100]!r} is not on a public "
                                    "address; its metadata document is not fetched")

    async def _download(self, url: str) -> tuple[bytes, float]:
        """The document's bytes and cache lifetime; one total deadline, not per read."""
        async with asyncio.timeout(FETCH_TIMEOUT_S), httpx.AsyncClient(
                timeout=FETCH_TIMEOUT_S, follow_redirects=False, verify=self._tls,
                transport=self._transport, headers={"Accept": "application/json"}
        ) as http, http.stream("GET", url) as response:  # per fetch: a pool pins one loop
            if response.is_redirect:
                raise InvalidClient("the client_id URL redirects; redirects are not "
                                    "followed for metadata documents")
            if response.status_code != 200:
                raise InvalidClient(f"the client_id URL answered HTTP "
                                    f"{response.status_code}, not a metadata document")
            return (await self._read_capped(response),
                    cache_ttl(response.headers.get("cache-control")))

    async def _fetch(self, url: str) -> tuple[dict[str, Any], float]:
        try:
            body, ttl = await self._download(url)
        except (httpx.TimeoutException, TimeoutError):
            raise InvalidClient(f"the client_id URL did not answer within "
                                f"{FETCH_TIMEOUT_S:g} seconds") from None
        except httpx.HTTPError:
            raise InvalidClient("the client_id URL could not be fetched") from None
        try:
            document = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise InvalidClient("the client_id URL did not return JSON") from None
        if not isinstance(document, dict) or document.get("client_id") != url:
            raise InvalidClient("the metadata document's client_id is not its own URL")
        return document, ttl

    @staticmethod
    async def _read_capped(response: httpx.Response) -> bytes:
        declared = response.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > MAX_DOCUMENT_BYTES:
            raise InvalidClient(f"the metadata document is larger than "
                                f"{MAX_DOCUMENT_BYTES} bytes")
        chunks, size = [], 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > MAX_DOCUMENT_BYTES:
                raise InvalidClient(f"the metadata document is larger than "
                                    f"{MAX_DOCUMENT_BYTES} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    def _store(self, url: str, document: dict[str, Any]) -> ClientRecord:
        """Check the document as an anonymous registration; insert or refresh its row."""
        if "client_secret" in document or "client_secret_expires_at" in document:
            raise InvalidClient("a metadata document must not carry a client secret")
        try:
            metadata = read_metadata(document, self.state.catalog, anonymous=True)
            RegistrationPolicy.check_anonymous(metadata)
        except OAuthError as exc:
            raise InvalidClient(f"the metadata document is not valid: "
                                f"{exc.description}") from None
        state = self.state
        stored = {**metadata.stored(), "scopegate:document": True}
        existing = find_client(state.db, url)
        if existing is None:
            try:
                record, _ = register_client(state.db, state.pepper, metadata.spec,
                                            registration=Registration(None, stored),
                                            client_id=url)
                return record
            except IntegrityError:  # another request inserted it first: refresh that row
                if find_client(state.db, url) is None:
                    raise
        return replace_registered_client(state.db, url, metadata.spec, stored)
