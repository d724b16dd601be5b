#!/usr/bin/env python3
"""Run a local PostgreSQL cluster from Debian's packages, for tests, CI and benchmarks.

    python deploy/postgres/pgctl.py start    # install (apt) if absent, initdb, start; prints DATABASE_URL
    python deploy/postgres/pgctl.py stop
    python deploy/postgres/pgctl.py status
    python deploy/postgres/pgctl.py url      # the DATABASE_URL of the local cluster

Settings (environment): PG_PORT (55432), PG_DATA_DIR (/tmp/ccp-postgres-<port>: outside the
checkout, because the server runs as the unprivileged ``postgres`` user when started by root and
must be able to reach its directory), PG_USER / PG_PASSWORD (ccp / ccp), PG_DATABASE (ccp).
The cluster listens on 127.0.0.1 only. Standard library only.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path


def _env(name: str, default: str) -> str:
    return os.environ.get(name) or default


def settings() -> dict:
    port = int(_env("PG_PORT", "55432"))
    return {
        "port": port,
        "data": Path(_env("PG_DATA_DIR", f"/tmp/ccp-postgres-{port}")),
        "user": _env("PG_USER", "ccp"),
        "password": _env("PG_PASSWORD", "ccp"),
        "database": _env("PG_DATABASE", "ccp"),
    }


def log(msg: str) -> None:
    print(f"pgctl: {msg}", file=sys.stderr, flush=True)


def url(s: dict | None = None, database: str | None = None) -> str:
    s = s or settings()
    return f"postgresql+psycopg://{s['user']}:{s['password']}@127.0.0.1:{s['port']}/{database or s['database']}"


def bindir() -> Path | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if candidates:
        return Path(candidates[-1]).parent
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True).stdout.strip()
        if out and (Path(out) / "initdb").exists():
            return Path(out)
    return None


def install() -> Path:
    b = bindir()
    if b:
        return b
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise SystemExit(
            "pgctl: PostgreSQL server binaries not found. Install them (Debian: apt-get install postgresql) "
            "or set DATABASE_URL to an existing server."
        )
    log("installing PostgreSQL from Debian's packages (apt-get) ...")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-q"], check=True, env=env, stdout=subprocess.DEVNULL)
    subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends", "postgresql"],
                   check=True, env=env, stdout=subprocess.DEVNULL)
    b = bindir()
    if not b:
        raise SystemExit("pgctl: apt-get installed postgresql but initdb is still missing")
    return b


def _runas() -> list[str]:
    """Root may not run postgres: run the server tools as the 'postgres' user."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "postgres"], check=True)
    return ["runuser", "-u", "postgres", "--"]


def _chown(path: Path) -> None:
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        os.chown(path, pw.pw_uid, pw.pw_gid)


def answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def start() -> str:
    s = settings()
    b = install()
    data: Path = s["data"]
    pgdata = data / "pgdata"
    runas = _runas()
    if not (pgdata / "PG_VERSION").exists():
        data.mkdir(parents=True, exist_ok=True)
        _chown(data)
        pwfile = data / "pwfile"
        pwfile.write_text(s["password"] + "\n")
        _chown(pwfile)
        log(f"initdb {pgdata}")
        subprocess.run(
            runas + [str(b / "initdb"), "-D", str(pgdata), "-U", s["user"], "--pwfile", str(pwfile),
                     "-A", "scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8"],
            check=True, stdout=subprocess.DEVNULL,
        )
        pwfile.unlink()
        conf = pgdata / "postgresql.conf"
        with open(conf, "a") as f:
            f.write(
                "\n# ccp local cluster\nlisten_addresses = '127.0.0.1'\n"
                f"port = {s['port']}\nunix_socket_directories = '{data}'\n"
                "max_connections = 200\nshared_buffers = 256MB\n"
                "logging_collector = off\n"
            )
    if not answers(s["port"]):
        logfile = data / "server.log"
        if not logfile.exists():
            logfile.touch()
            _chown(logfile)
        subprocess.run(runas + [str(b / "pg_ctl"), "-D", str(pgdata), "-l", str(logfile), "-w", "-t", "60", "start"],
                       check=True, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while not answers(s["port"]) and time.monotonic() < deadline:
            time.sleep(0.1)
        log(f"PostgreSQL up on 127.0.0.1:{s['port']} (data {pgdata}, log {logfile})")
    else:
        log(f"PostgreSQL already answering on 127.0.0.1:{s['port']}")
    _ensure_database(s, b)
    return url(s)


def _ensure_database(s: dict, b: Path) -> None:
    env = dict(os.environ, PGPASSWORD=s["password"])
    psql = str(b / "psql") if (b / "psql").exists() else "psql"
    q = subprocess.run([psql, "-h", "127.0.0.1", "-p", str(s["port"]), "-U", s["user"], "-d", "postgres", "-tAc",
                        f"SELECT 1 FROM pg_database WHERE datname = '{s['database']}'"],
                       capture_output=True, text=True, env=env)
    if q.returncode != 0:
        raise SystemExit(f"pgctl: cannot connect: {q.stderr.strip()}")
    if q.stdout.strip() != "1":
        subprocess.run([psql, "-h", "127.0.0.1", "-p", str(s["port"]), "-U", s["user"], "-d", "postgres", "-qc",
                        f'CREATE DATABASE "{s["database"]}"'], check=True, env=env)


def stop() -> None:
    s = settings()
    b = bindir()
    pgdata = s["data"] / "pgdata"
    if b is None or not (pgdata / "postmaster.pid").exists():
        log("PostgreSQL not running")
        return
    subprocess.run(_runas() + [str(b / "pg_ctl"), "-D", str(pgdata), "-m", "fast", "-w", "stop"], check=False,
                   stdout=subprocess.DEVNULL)
    log("PostgreSQL stopped")


def main(argv: list[str]) -> int:
    cmd = argv[1] if len(argv) > 1 else "status"
    if cmd == "start":
        print(start())
    elif cmd == "stop":
        stop()
    elif cmd == "status":
        s = settings()
        up = answers(s["port"])
        log(f"{'up' if up else 'down'} on 127.0.0.1:{s['port']}")
        return 0 if up else 1
    elif cmd == "url":
        print(url())
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
