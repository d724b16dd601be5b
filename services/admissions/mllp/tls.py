"""TLS for the MLLP listener (server side; mutual TLS when client certificates are required)."""

from __future__ import annotations

import ssl
from pathlib import Path


def server_ssl_context(
    certfile: str | Path, keyfile: str | Path | None = None, *, client_ca_file: str | Path | None = None,
    require_client_cert: bool = False, minimum_version: ssl.TLSVersion = ssl.TLSVersion.TLSv1_2,
) -> ssl.SSLContext:
    """A server context with the listener's certificate. With ``require_client_cert`` (mutual
    TLS) a client must present a certificate signed by ``client_ca_file``."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = minimum_version
    ctx.load_cert_chain(str(certfile), str(keyfile) if keyfile else None)
    if client_ca_file:
        ctx.load_verify_locations(cafile=str(client_ca_file))
    if require_client_cert:
        if not client_ca_file:
            raise ValueError("mutual TLS needs client_ca_file to verify client certificates")
        ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx
