"""A local receiver for the demo: prints one line per notification it gets.

    python -m carectl.demo_receiver [--port 8062] [--secret-file var/demo/receiver-secret]

Webhooks are verified with the subscription's secret (Standard Webhooks: HMAC-SHA256 over
``id.timestamp.body``), FHIR Bundles are named by type. Each line says what arrived — topic,
event number, the focus resource type, whether the signature verified — never a member id or a
name. ``./ccp demo`` starts it and subscribes it to every JSON topic (``demo_notifications.py``).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import sys
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def verify(secret: str, headers, body: bytes, tolerance_s: int = 300) -> bool:
    msg_id, ts, sigs = headers.get("webhook-id"), headers.get("webhook-timestamp"), headers.get("webhook-signature")
    if not (secret and msg_id and ts and sigs) or not ts.isdigit() or abs(time.time() - int(ts)) > tolerance_s:
        return False
    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = base64.b64encode(hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()).decode()
    return any(hmac.compare_digest(expected, s.split(",", 1)[1]) for s in sigs.split() if s.startswith("v1,"))


def describe(headers, body: bytes, secret: str) -> str:
    try:
        doc = json.loads(body)
    except ValueError:
        return f"{len(body)} bytes, not JSON"
    if headers.get("webhook-id"):
        data = doc.get("data", {})
        focus = str(data.get("focus", "")).split("/", 1)[0] or "-"
        ok = "signature ok" if verify(secret, headers, body) else "SIGNATURE NOT VERIFIED"
        return f"webhook {doc.get('type')} #{data.get('event_number')} focus={focus} id={headers['webhook-id']} ({ok})"
    if doc.get("resourceType") == "Bundle":
        kinds = [e.get("resource", {}).get("resourceType", e.get("fullUrl", "").split("/")[-2:-1] or "?")
                 for e in doc.get("entry", [])]
        return f"FHIR Bundle {doc.get('type')} id={doc.get('id')} entries={kinds}"
    return f"JSON {doc.get('resourceType') or type(doc).__name__}"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=8062)
    ap.add_argument("--secret-file", type=Path, default=Path("var/demo/receiver-secret"))
    args = ap.parse_args(argv)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_a):
            return

        def do_GET(self):  # noqa: N802 - the supervisor's health probe
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            secret = args.secret_file.read_text().strip() if args.secret_file.exists() else ""
            headers = {k.lower(): v for k, v in self.headers.items()}
            print(f"{datetime.now():%H:%M:%S} {describe(headers, body, secret)}", flush=True)
            self.send_response(204)
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(f"demo receiver listening on http://127.0.0.1:{args.port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
