"""``ccp``: the platform's operator CLI (typer + rich).

    ./ccp demo                 the platform with the demo feed (SQLite by default, DATABASE_URL for PostgreSQL)
    ./ccp test [pytest args]   the test suite on a real Kafka broker and a real PostgreSQL
    ./ccp up                   broker, topics and every service, until Ctrl-C
    ./ccp kafka start|stop|status|perf-test
    ./ccp pg start|stop|status|url
    ./ccp topics               create the registry's topics (idempotent)
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from . import infra
from .processes import PROCESSES, Supervisor

REPO = Path(__file__).resolve().parent.parent
app = typer.Typer(help="Care-coordination platform operator CLI.", no_args_is_help=True, add_completion=False)
kafka_app = typer.Typer(help="The local Apache Kafka broker (KRaft, from Maven Central jars).", no_args_is_help=True)
pg_app = typer.Typer(help="The local PostgreSQL cluster (Debian packages).", no_args_is_help=True)
app.add_typer(kafka_app, name="kafka")
app.add_typer(pg_app, name="pg")
console = Console(stderr=True)


# ---------------------------------------------------------------------------- infrastructure
@kafka_app.command("start")
def kafka_start() -> None:
    """Resolve the jars (once), format KRaft storage (once), start; returns when the broker answers."""
    infra.kafkactl().start()


@kafka_app.command("stop")
def kafka_stop() -> None:
    infra.kafkactl().stop()


@kafka_app.command("status")
def kafka_status() -> None:
    raise typer.Exit(infra.kafkactl().status())


@kafka_app.command("perf-test")
def kafka_perf_test() -> None:
    """Kafka's own kafka-producer-perf-test (the raw ceiling for our ingest figures)."""
    raise typer.Exit(infra.kafkactl().perf_test())


@pg_app.command("start")
def pg_start() -> None:
    """Install PostgreSQL from Debian's packages if absent, initdb, start on 127.0.0.1; print its URL."""
    typer.echo(infra.pgctl().start())


@pg_app.command("stop")
def pg_stop() -> None:
    infra.pgctl().stop()


@pg_app.command("status")
def pg_status() -> None:
    raise typer.Exit(infra.pgctl().main(["pgctl", "status"]))


@pg_app.command("url")
def pg_url() -> None:
    typer.echo(infra.pgctl().url())


@app.command()
def topics(
    bootstrap: Annotated[Optional[str], typer.Option(envvar="KAFKA_BOOTSTRAP")] = None,
    prefix: Annotated[str, typer.Option(envvar="TOPIC_PREFIX")] = "",
) -> None:
    """Create every topic of the registry (with its .dlq twin); existing topics are left alone."""
    result = infra.create_topics(bootstrap or "127.0.0.1:9092", prefix)
    table = Table("topic", "result")
    for name, res in sorted(result.items()):
        table.add_row(name, res)
    console.print(table)


# ---------------------------------------------------------------------------- tests
@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def test(ctx: typer.Context) -> None:
    """Run the test suite against a real Kafka broker and a real PostgreSQL.

    Starts the local broker unless KAFKA_BOOTSTRAP is set, and the local PostgreSQL (installing
    it from Debian's packages when absent) unless DATABASE_URL/TEST_DATABASE_URL is set. Extra
    arguments go to pytest (e.g. ``./ccp test tests/unit -k calendar``).
    """
    env = dict(os.environ)
    t0 = time.monotonic()
    if not env.get("KAFKA_BOOTSTRAP"):
        infra.kafkactl().start()
        env["KAFKA_BOOTSTRAP"] = f"127.0.0.1:{infra.kafkactl().settings()['port']}"
    if not (env.get("TEST_DATABASE_URL") or env.get("DATABASE_URL")):
        env["TEST_DATABASE_URL"] = infra.pgctl().start()
    browser = infra.ensure_chromium()
    if browser:
        env.setdefault("CHROMIUM_PATH", browser)
    console.print(f"[dim]infrastructure ready in {time.monotonic() - t0:.1f}s "
                  f"(Kafka {env['KAFKA_BOOTSTRAP']}, PostgreSQL {_redact(env.get('TEST_DATABASE_URL') or env.get('DATABASE_URL', ''))})[/dim]")
    env.setdefault("ENVIRONMENT", "test")
    args = list(ctx.args) or []
    cmd = [sys.executable, "-m", "pytest", *args]
    raise typer.Exit(subprocess.call(cmd, env=env, cwd=REPO))


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.split("@", 1)
        return f"{scheme}://{creds.split(':')[0]}:***@{host}"
    return url


# ---------------------------------------------------------------------------- platform
def _platform_env(var_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("KAFKA_BOOTSTRAP", "127.0.0.1:9092")
    env.setdefault("VAR_DIR", str(var_dir))
    env.setdefault("ENVIRONMENT", "development")
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def bring_up(var_dir: Path) -> Supervisor:
    """Broker, topics, schema, every service process; returns when all report healthy."""
    env = _platform_env(var_dir)
    if env["KAFKA_BOOTSTRAP"] == "127.0.0.1:9092" and not os.environ.get("KAFKA_BOOTSTRAP"):
        with console.status("starting the Kafka broker (KRaft, 127.0.0.1:9092) ..."):
            infra.kafkactl().start()
    with console.status("creating topics from the registry ..."):
        created = infra.create_topics(env["KAFKA_BOOTSTRAP"], env.get("TOPIC_PREFIX", ""))
    console.print(f"topics: {sum(v == 'created' for v in created.values())} created, "
                  f"{sum(v == 'exists' for v in created.values())} already there")
    sup = Supervisor(env, var_dir)
    if not sup.specs:
        console.print("[yellow]no services are installed yet[/yellow]")
        return sup
    with console.status("creating each service's schema ..."):
        sup.migrate()
    sup.start()
    with console.status("waiting for every process to report healthy ...") as st:
        status = sup.wait_healthy(on_tick=lambda s: st.update(
            f"healthy: {sum(s.values())}/{len(s)} processes"))
    table = Table("process", "port", "health")
    for spec in sup.specs:
        table.add_row(spec.name, str(spec.http_port), "[green]ok[/green]" if status.get(spec.name) else "[red]down[/red]")
    console.print(table)
    if not all(status.values()):
        sup.stop()
        bad = [n for n, ok in status.items() if not ok]
        raise typer.Exit(_fail(f"not healthy: {', '.join(bad)} (logs in {var_dir / 'logs'})"))
    return sup


def _fail(msg: str) -> int:
    console.print(f"[red]{msg}[/red]")
    return 1


def _serve_until_interrupted(sup: Supervisor) -> None:
    stop = {"flag": False}

    def handler(signum, frame):
        stop["flag"] = True

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    try:
        while not stop["flag"]:
            for name in sup.restart_dead():
                console.print(f"[yellow]{name} exited; restarted[/yellow]")
            time.sleep(1)
    finally:
        with console.status("stopping every process ..."):
            sup.stop()
        console.print("stopped.")


@app.command()
def up(var_dir: Annotated[Path, typer.Option(envvar="VAR_DIR")] = REPO / "var") -> None:
    """Start the broker, create topics and run every service until Ctrl-C."""
    sup = bring_up(var_dir.resolve())
    console.print("platform running; Ctrl-C stops every process")
    _serve_until_interrupted(sup)


@app.command()
def demo(
    var_dir: Annotated[Path, typer.Option(envvar="VAR_DIR")] = REPO / "var",
    once: Annotated[bool, typer.Option(help="stop after the feed instead of serving until Ctrl-C")] = False,
) -> None:
    """The platform with a demo feed: broker, topics, every service, then a synthetic population."""
    sup = bring_up(var_dir.resolve())
    console.print("[bold]platform is up[/bold]")
    for spec in PROCESSES:
        if spec in sup.specs:
            console.print(f"  {spec.name:<20} http://127.0.0.1:{spec.http_port}/healthz  /metrics")
    if once:
        sup.stop()
        return
    _serve_until_interrupted(sup)


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
