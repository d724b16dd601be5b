"""``./ccp demo``'s notifications part: a local receiver (``carectl.demo_receiver``) subscribed,
as ops, to every topic a webhook carries, so the demo shows notifications leaving the platform.

The notifications processes refuse loopback and private endpoints by default (server-side
request forgery); the demo, and only the demo, allows 127.0.0.1 (``OUTBOUND_ALLOW_NETWORKS``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

RECEIVER_PORT = 8062
REPO = Path(__file__).resolve().parent.parent


def prepare_env(env: dict[str, str]) -> None:
    env.setdefault("OUTBOUND_ALLOW_NETWORKS", "127.0.0.1/32")
    env.setdefault("OUTBOUND_PORTS", "443,8443,2575,6661,1024-65535")


def start_receiver(env: dict[str, str], var_dir: Path) -> tuple[subprocess.Popen, int]:
    port = RECEIVER_PORT + int(env.get("PORT_OFFSET", "0") or 0)
    (var_dir / "logs").mkdir(parents=True, exist_ok=True)
    (var_dir / "demo").mkdir(parents=True, exist_ok=True)
    log = open(var_dir / "logs" / "demo-receiver.log", "ab")
    proc = subprocess.Popen([sys.executable, "-m", "carectl.demo_receiver", "--port", str(port),
                             "--secret-file", str(var_dir / "demo" / "receiver-secret")],
                            env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.2)
    return proc, port


def subscribe(env: dict[str, str], var_dir: Path, receiver_port: int) -> str | None:
    """Subscribe the receiver (once per demo database; the secret is kept in var/demo, mode 0600)."""
    api = f"http://127.0.0.1:{8060 + int(env.get('PORT_OFFSET', '0') or 0)}"
    endpoint = f"http://127.0.0.1:{receiver_port}/notify"
    secret_file = var_dir / "demo" / "receiver-secret"
    with httpx.Client(base_url=api, headers={"X-API-Key": "dev-ops"}, timeout=10) as c:
        existing = [s for s in c.get("/subscriptions").json() if s["endpoint"] == endpoint]
        if existing and secret_file.exists():
            return existing[0]["id"]
        for s in existing:
            c.delete(f"/subscriptions/{s['id']}")
        topics = [t["code"] for t in c.get("/topics").json() if "webhook" in t["channels"]]
        r = c.post("/subscriptions", json={"endpoint": endpoint, "topics": topics, "name": "demo receiver"})
        if r.status_code != 201:
            return None
        secret_file.write_text(r.json()["secret"])
        os.chmod(secret_file, 0o600)
        return r.json()["id"]
