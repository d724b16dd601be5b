"""Outbound endpoint policy (server-side request forgery).

Subscribers choose the URL, so the sender could be steered at internal services, localhost or
cloud metadata. The rules, checked when a subscription is made and again on every connection:

- scheme: ``https`` (``http`` only outside production), ``mllp``/``mllps`` for HL7 v2 forward;
  no user info in the URL, no fragment;
- port: one of the allowed ports (``OUTBOUND_PORTS``; ``*`` allows any);
- address: every address the host name resolves to must be public — ``is_global`` and not
  multicast (CPython reports 224.0.0.1 as global) — unless it lies in a network the operator
  allowed (``OUTBOUND_ALLOW_NETWORKS``, e.g. ``127.0.0.1/32`` for tests, an interface engine's
  subnet); loopback, private, link-local (169.254.169.254 metadata), CGNAT, IPv4-mapped and the
  metadata host names are refused. The connection then goes to the vetted address (the
  resolver hands only those to the connector), so a second DNS answer cannot swap it.
- redirects are never followed (3xx is a failed attempt).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata", "instance-data", "metadata.azure.com"})
HTTP_SCHEMES = ("https", "http")
MLLP_SCHEMES = ("mllp", "mllps")
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class EndpointRefused(ValueError):
    """The endpoint breaks the outbound policy (the message says which rule)."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str

    @property
    def tls(self) -> bool:
        return self.scheme in ("https", "mllps")


@dataclass(frozen=True)
class OutboundPolicy:
    require_tls: bool = True
    ports: frozenset[int] | None = frozenset({443})  # None: any port
    allow_networks: tuple[Network, ...] = ()

    @classmethod
    def parse(cls, *, require_tls: bool, ports: str, networks: str) -> "OutboundPolicy":
        port_set: frozenset[int] | None
        if ports.strip() == "*":
            port_set = None
        else:
            acc: set[int] = set()
            for part in (p.strip() for p in ports.split(",") if p.strip()):
                if "-" in part:
                    lo, hi = (int(x) for x in part.split("-", 1))
                    acc.update(range(lo, hi + 1))
                else:
                    acc.add(int(part))
            port_set = frozenset(acc)
        nets = tuple(ipaddress.ip_network(n.strip(), strict=False) for n in networks.split(",") if n.strip())
        return cls(require_tls=require_tls, ports=port_set, allow_networks=nets)

    # ------------------------------------------------------------------ URL
    def check_url(self, url: str, schemes: tuple[str, ...]) -> Target:
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise EndpointRefused("the endpoint is not a valid URL") from None
        scheme = parts.scheme.lower()
        if scheme not in schemes:
            raise EndpointRefused(f"the endpoint's scheme must be {' or '.join(schemes)}")
        if self.require_tls and scheme in ("http", "mllp"):
            raise EndpointRefused(f"{scheme} is refused in production: use {'https' if scheme == 'http' else 'mllps'}")
        if parts.username or parts.password:
            raise EndpointRefused("credentials in the endpoint URL are refused (use channel headers)")
        if parts.fragment:
            raise EndpointRefused("the endpoint URL must not have a fragment")
        host = (parts.hostname or "").rstrip(".").lower()
        if not host:
            raise EndpointRefused("the endpoint has no host")
        if host in METADATA_HOSTS or host == "localhost" or host.endswith(".localhost"):
            raise EndpointRefused("the endpoint's host is a local or metadata name")
        if port is None:
            port = {"https": 443, "http": 80, "mllp": 2575, "mllps": 2575}[scheme]
        if self.ports is not None and port not in self.ports:
            raise EndpointRefused(f"port {port} is not an allowed outbound port")
        literal = _ip(host)
        if literal is not None:
            self.check_address(str(literal))
        return Target(scheme, host, port, parts.path or "/")

    # ------------------------------------------------------------------ addresses
    def address_allowed(self, address: str) -> bool:
        ip = _ip(address)
        if ip is None:
            return False
        if any(ip in net for net in self.allow_networks):
            return True
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            return False
        return ip.is_global and not ip.is_multicast

    def check_address(self, address: str) -> None:
        if not self.address_allowed(address):
            raise EndpointRefused("the endpoint resolves to a non-public address (private, loopback, link-local, "
                                  "multicast or reserved) that is not on the outbound allow-list")

    def check_resolved(self, addresses: Iterable[str]) -> None:
        """Every resolved address must pass: one bad answer refuses the host."""
        found = list(addresses)
        if not found:
            raise EndpointRefused("the endpoint's host does not resolve")
        for a in found:
            self.check_address(a)


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip("[]").split("%", 1)[0])
    except ValueError:
        return None
