"""Real receivers the notifications tests deliver to, started by the tests on 127.0.0.1:

- ``HttpReceiver``: an HTTP server that checks every webhook's signature with the
  ``standardwebhooks`` library and parses every FHIR body with ``fhir.resources`` (R4B models:
  Bundle, and each entry's resource), keeps what it accepted, and can be told to answer 500,
  be slow, close connections without answering, or go down and come back on the same port;
- ``MllpReceiver``: an MLLP server that answers each message with an ACK (AA, or AE/AR on
  demand), echoing MSH-10 in MSA-2.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from fhir.resources.R4B import get_fhir_model_class
from standardwebhooks import Webhook, WebhookVerificationError


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    doc: dict
    at: float


@dataclass
class HttpReceiver:
    secrets: list[str] = field(default_factory=list)
    mode: str = "ok"  # ok | fail (500) | slow | close | gone (410)
    slow_s: float = 3.0
    port: int = 0
    received: list[Received] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)  # what failed validation, and why
    requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    def start(self) -> "HttpReceiver":
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_a):
                return

            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                with owner.lock:
                    owner.requests += 1
                    mode = owner.mode
                if mode == "close":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if mode == "slow":
                    time.sleep(owner.slow_s)
                if mode in ("fail", "gone"):
                    self.send_response(500 if mode == "fail" else 410)
                    self.send_header("content-length", "0")
                    self.end_headers()
                    return
                problem, doc = owner.validate(self.path, dict(self.headers), body)
                with owner.lock:
                    if problem:
                        owner.rejected.append(problem)
                    else:
                        owner.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()},
                                                       body, doc, time.monotonic()))
                self.send_response(400 if problem else 200)
                self.send_header("content-length", "0")
                self.end_headers()

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def restart(self) -> None:
        self.stop()
        deadline = time.monotonic() + 10
        while True:
            try:
                self.start()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def validate(self, path: str, headers: dict[str, str], body: bytes) -> tuple[str | None, dict]:
        lower = {k.lower(): v for k, v in headers.items()}
        try:
            doc = json.loads(body)
        except ValueError:
            return "body is not JSON", {}
        if "webhook-id" in lower:
            if not self.secrets:
                return "signed webhook but the receiver has no secret", doc
            for secret in self.secrets:
                try:
                    Webhook(secret).verify(body, lower)
                    break
                except (WebhookVerificationError, ValueError):
                    continue
            else:
                return "webhook signature did not verify with any secret", doc
            return None, doc
        try:
            validate_fhir(doc)
        except Exception as exc:  # noqa: BLE001 - any model error is a rejection with its text
            return f"FHIR validation: {exc}", doc
        return None, doc

    def webhooks(self) -> list[dict]:
        with self.lock:
            return [r.doc for r in self.received if "webhook-id" in r.headers]

    def ids(self) -> list[str]:
        with self.lock:
            return [r.headers.get("webhook-id") or r.doc.get("id") for r in self.received]


def validate_fhir(doc: dict) -> None:
    """Parse the document with fhir.resources (R4B), and each Bundle entry's resource on its own."""
    rtype = doc.get("resourceType")
    cls = get_fhir_model_class(rtype)
    cls.model_validate(doc)
    if rtype == "Bundle":
        for entry in doc.get("entry", []):
            if "resource" in entry:
                validate_fhir(entry["resource"])


@dataclass
class MllpReceiver:
    ack_code: str = "AA"
    port: int = 0
    messages: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _sock: socket.socket | None = None

    def start(self) -> "MllpReceiver":
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        s.listen(8)
        self.port = s.getsockname()[1]
        self._sock = s
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def _accept(self) -> None:
        while self._sock is not None:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        buf = b""
        with conn:
            while True:
                try:
                    chunk = conn.recv(65536)
                except OSError:
                    return
                if not chunk:
                    return
                buf += chunk
                while b"\x1c\r" in buf:
                    frame, buf = buf.split(b"\x1c\r", 1)
                    message = frame.lstrip(b"\x0b").decode()
                    msh = message.split("\r", 1)[0].split("|")
                    control = msh[9] if len(msh) > 9 else ""
                    with self.lock:
                        code = self.ack_code
                        if code == "AA":
                            self.messages.append(message)
                    ack = (f"MSH|^~\\&|RCV|RCV|{msh[2] if len(msh) > 2 else ''}|{msh[3] if len(msh) > 3 else ''}|"
                           f"20260101000000||ACK|A{control}|P|2.5.1\rMSA|{code}|{control}\r")
                    conn.sendall(b"\x0b" + ack.encode() + b"\x1c\r")

    def stop(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    @property
    def url(self) -> str:
        return f"mllp://127.0.0.1:{self.port}"
