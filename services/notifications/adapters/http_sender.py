"""Outbound HTTP (aiohttp) for webhooks, FHIR rest-hooks and Da Vinci ``$process-message``.

Every request passes the outbound policy (``domain/endpoints.py``): the URL is checked first
(scheme, port, IP literals); a host name is resolved by ``VettedResolver``, which refuses the
host unless every address it resolves to is allowed and hands the connector only those
addresses — the connection goes to what was checked (TLS still verifies the host name). The
connection pool is keyed by host and port; redirects are never followed; the subscription's
timeout bounds each attempt. Response bodies are read (bounded) and dropped, never logged.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from ..domain import topics as t
from ..domain.endpoints import HTTP_SCHEMES, EndpointRefused, OutboundPolicy
from ..domain.payloads import Payload
from ..domain.retry import Outcome
from ..domain.subscription import Subscription

MAX_RESPONSE_BYTES = 64 * 1024


class VettedResolver(AbstractResolver):
    def __init__(self, policy: OutboundPolicy) -> None:
        self.policy = policy

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
                      ) -> list[ResolveResult]:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, family=socket.AF_UNSPEC)
        except socket.gaierror as exc:
            raise OSError(f"the endpoint's host does not resolve ({exc.errno})") from None
        addresses = list(dict.fromkeys(info[4][0] for info in infos))
        self.policy.check_resolved(addresses)  # EndpointRefused (a ValueError): no connection is made
        return [ResolveResult(hostname=host, host=info[4][0], port=port, family=info[0], proto=info[2],
                              flags=socket.AI_NUMERICHOST) for info in infos]

    async def close(self) -> None:
        return None


class HttpSender:
    def __init__(self, policy: OutboundPolicy, *, pool_size: int = 200, ca_file: str | None = None,
                 user_agent: str = "ccp-notifications/1") -> None:
        self.policy = policy
        self.pool_size = pool_size
        self.ca_file = ca_file
        self.user_agent = user_agent
        self._session: aiohttp.ClientSession | None = None
        self._checked: dict[str, str | None] = {}  # URL -> why refused (None: allowed); the policy is fixed

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            ctx = ssl.create_default_context(cafile=self.ca_file)
            connector = aiohttp.TCPConnector(limit=self.pool_size, limit_per_host=self.pool_size, ssl=ctx,
                                             resolver=VettedResolver(self.policy), use_dns_cache=False,
                                             keepalive_timeout=30)
            self._session = aiohttp.ClientSession(connector=connector, auto_decompress=False,
                                                  headers={"User-Agent": self.user_agent})
        return self._session

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
        all_headers = {"Content-Type": payload.content_type, **headers}
        if sub.channel in (t.FHIR, t.DAVINCI):
            all_headers.setdefault("Accept", "application/fhir+json")
        timeout = aiohttp.ClientTimeout(total=sub.timeout_s)
        try:
            async with self._client().post(payload.url, data=payload.body, headers=all_headers, timeout=timeout,
                                           allow_redirects=False) as resp:
                await resp.content.read(MAX_RESPONSE_BYTES)
                return Outcome.http(resp.status, time.perf_counter() - started, resp.headers.get("Retry-After"))
        except EndpointRefused as exc:
            return Outcome.failed("refused", time.perf_counter() - started, str(exc))
        except aiohttp.ClientConnectorError as exc:
            cause = exc.os_error if isinstance(getattr(exc, "os_error", None), EndpointRefused) else None
            if cause is not None:
                return Outcome.failed("refused", time.perf_counter() - started, str(cause))
            return Outcome.failed("connect", time.perf_counter() - started, "connection failed")
        except (asyncio.TimeoutError, aiohttp.ServerTimeoutError):
            return Outcome.failed("timeout", time.perf_counter() - started, f"no answer within {sub.timeout_s:g} s")
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError, aiohttp.ClientPayloadError):
            return Outcome.failed("closed", time.perf_counter() - started, "the connection was closed")
        except aiohttp.ClientError as exc:
            return Outcome.failed("error", time.perf_counter() - started, exc.__class__.__name__)

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
