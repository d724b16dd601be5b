"""Outbound HTTP for webhooks, FHIR rest-hooks and Da Vinci ``$process-message``.

Every request passes the outbound policy (``domain/endpoints.py``): the URL is checked first
(scheme, port, IP literals); a new connection resolves the host and refuses it unless every
address it resolves to is allowed, then connects to one of those addresses (TLS still verifies the
host name), so a second DNS answer cannot swap it. Connections are kept alive and pooled per
endpoint (``http_client.py``); redirects are never followed; the subscription's timeout bounds
each attempt, connecting included. Response bodies are read (bounded) and dropped, never logged.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import Callable

from ..domain import topics as t
from ..domain.endpoints import HTTP_SCHEMES, EndpointRefused, OutboundPolicy
from ..domain.payloads import Payload
from ..domain.retry import Outcome
from ..domain.subscription import Subscription
from .http_client import HttpClient, HttpFailure, Origin

FHIR_JSON = "application/fhir+json"
# names a subscription's channel headers cannot set (framing, connection handling, the host)
RESERVED = frozenset({"host", "content-length", "transfer-encoding", "connection", "keep-alive", "te", "upgrade",
                      "expect", "trailer", "proxy-connection"})


class VettedConnector:
    """Opens connections only to addresses the outbound policy allows."""

    def __init__(self, policy: OutboundPolicy) -> None:
        self.policy = policy

    async def __call__(self, origin: Origin, factory: Callable[[], asyncio.Protocol], ctx: ssl.SSLContext | None):
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(origin.host, origin.port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise HttpFailure("connect", f"the endpoint's host does not resolve ({exc.errno})") from None
        addresses = list(dict.fromkeys(info[4][0] for info in infos))
        self.policy.check_resolved(addresses)  # EndpointRefused (a ValueError): no connection is made
        last: OSError | None = None
        for address in addresses:
            try:
                _transport, protocol = await loop.create_connection(
                    factory, address, origin.port, ssl=ctx, server_hostname=origin.host if ctx else None)
                return protocol
            except OSError as exc:  # refused, unreachable, TLS handshake (ssl.SSLError is an OSError)
                last = exc
        raise HttpFailure("connect", "connection failed" + (" (TLS)" if isinstance(last, ssl.SSLError) else ""))


class HttpSender:
    def __init__(self, policy: OutboundPolicy, *, pool_size: int = 200, ca_file: str | None = None,
                 user_agent: str = "ccp-notifications/1") -> None:
        self.policy = policy
        self.pool_size = pool_size
        self.ca_file = ca_file
        self.user_agent = user_agent
        self._client: HttpClient | None = None
        self._checked: dict[str, str | None] = {}  # URL -> why refused (None: allowed); the policy is fixed

    def _http(self) -> HttpClient:
        if self._client is None:
            self._client = HttpClient(VettedConnector(self.policy), ssl_context=ssl.create_default_context(
                cafile=self.ca_file), pool_size=self.pool_size, user_agent=self.user_agent)
        return self._client

    async def send(self, sub: Subscription, payload: Payload, headers: dict[str, str]) -> Outcome:
        started = time.perf_counter()
        if payload.url not in self._checked:
            if len(self._checked) > 10_000:
                self._checked.clear()
            try:
                self.policy.check_url(payload.url, HTTP_SCHEMES)
                self._checked[payload.url] = None
            except EndpointRefused as exc:
                self._checked[payload.url] = str(exc)
        refused = self._checked[payload.url]
        if refused is not None:
            return Outcome.failed("refused", 0.0, refused)
        all_headers = {"content-type": payload.content_type}
        if sub.channel in (t.FHIR, t.DAVINCI):
            all_headers["accept"] = FHIR_JSON
        for name, value in headers.items():  # one value per name, whatever its case; framing is ours alone
            low = name.lower()
            if low not in RESERVED:
                all_headers[low] = value
        try:
            answer = await self._http().post(payload.url, payload.body, all_headers, sub.timeout_s)
        except EndpointRefused as exc:
            return Outcome.failed("refused", time.perf_counter() - started, str(exc))
        except TimeoutError:
            return Outcome.failed("timeout", time.perf_counter() - started, f"no answer within {sub.timeout_s:g} s")
        except HttpFailure as exc:
            status = {"connect": "connect", "closed": "closed"}.get(exc.kind, "error")
            return Outcome.failed(status, time.perf_counter() - started, str(exc))
        except OSError:
            return Outcome.failed("closed", time.perf_counter() - started, "the connection was closed")
        return Outcome.http(answer.status, time.perf_counter() - started, answer.headers.get("retry-after"))

    async def reachable(self, sub: Subscription) -> bool:
        url = sub.endpoint
        if sub.channel == t.DAVINCI:
            from ..domain.davinci import process_message_url

            url = process_message_url(url)
        return await self._http().reachable(url, min(sub.timeout_s, 5.0))

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
