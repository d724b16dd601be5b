"""``ccp``: the platform's operator CLI (typer + rich).

    ./ccp demo                 the platform with the demo feed (SQLite by default, DATABASE_URL for PostgreSQL)
    ./ccp test [pytest args]   the test suite on a real Kafka broker and a real PostgreSQL
    ./ccp up                   broker, topics and every service, until Ctrl-C
    ./ccp kafka start|stop|status|perf-test
    ./ccp pg start|stop|status|url
    ./ccp topics               create the registry's topics (idempotent)
    ./ccp roster load FILE [--full] · claims load FILE · hl7 send FILE · month close CONTRACT YYYY-MM
    ./ccp billing explain CONTRACT YYYY-MM FIGURE · billing held
    ./ccp dlq list [--topic T] · dlq replay --topic T [--offset N ...]
    ./ccp synth --members N --out DIR · bench [NAME ...] · feeds report [--json]
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
from .processes import PROCESSES, Supervisor, parse_workers, with_workers

REPO = Path(__file__).resolve().parent.parent
app = typer.Typer(help="Care-coordination platform operator CLI.", no_args_is_help=True, add_completion=False)
kafka_app = typer.Typer(help="The local Apache Kafka broker (KRaft, from Maven Central jars).", no_args_is_help=True)
pg_app = typer.Typer(help="The local PostgreSQL cluster (Debian packages).", no_args_is_help=True)
app.add_typer(kafka_app, name="kafka")
app.add_typer(pg_app, name="pg")
dlq_app = typer.Typer(help="Dead letters: list them with their reasons, replay them after a fix.", no_args_is_help=True)
roster_app = typer.Typer(help="Roster files (intake service loads).", no_args_is_help=True)
claims_app = typer.Typer(help="Claims files: X12 837P/837I, CSV, JSON (intake service loads).", no_args_is_help=True)
hl7_app = typer.Typer(help="HL7 v2 over MLLP.", no_args_is_help=True)
month_app = typer.Typer(help="Billing months.", no_args_is_help=True)
app.add_typer(dlq_app, name="dlq")
app.add_typer(roster_app, name="roster")
app.add_typer(claims_app, name="claims")
app.add_typer(hl7_app, name="hl7")
app.add_typer(month_app, name="month")
billing_app = typer.Typer(help="Billing figures explained; held claim corrections.", no_args_is_help=True)
app.add_typer(billing_app, name="billing")
from .feeds import feeds_app  # noqa: E402 - ccp feeds report (carectl/feeds.py)

app.add_typer(feeds_app, name="feeds")
console = Console(stderr=True)


# ---------------------------------------------------------------------------- infrastructure
BrokersOpt = Annotated[int, typer.Option("--brokers", min=1, max=5, envvar="KAFKA_NODES",
                                         help="KRaft nodes on 127.0.0.1 (3: RF 3, min.insync.replicas 2)")]


@kafka_app.command("start")
def kafka_start(brokers: BrokersOpt = 1) -> None:
    """Resolve the jars (once), format KRaft storage (once), start; returns when the broker answers."""
    os.environ["KAFKA_NODES"] = str(brokers)
    infra.kafkactl().start()


@kafka_app.command("stop")
def kafka_stop(brokers: BrokersOpt = 1) -> None:
    os.environ["KAFKA_NODES"] = str(brokers)
    infra.kafkactl().stop()


@kafka_app.command("status")
def kafka_status(brokers: BrokersOpt = 1) -> None:
    os.environ["KAFKA_NODES"] = str(brokers)
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


# ---------------------------------------------------------------------------- dead letters
def _settings(bootstrap: Optional[str], prefix: str):
    from shared.settings import CommonSettings

    return CommonSettings(kafka_bootstrap=bootstrap or os.environ.get("KAFKA_BOOTSTRAP", "127.0.0.1:9092"),
                          topic_prefix=prefix)


@dlq_app.command("list")
def dlq_list(
    topic: Annotated[Optional[str], typer.Option(help="one DLQ topic, e.g. adt.events.dlq (default: all)")] = None,
    limit: Annotated[int, typer.Option()] = 200,
    show_payload: Annotated[bool, typer.Option(help="print the original bytes (may contain PHI)")] = False,
    bootstrap: Annotated[Optional[str], typer.Option(envvar="KAFKA_BOOTSTRAP")] = None,
    prefix: Annotated[str, typer.Option(envvar="TOPIC_PREFIX")] = "",
) -> None:
    """Dead letters with where they came from and why."""
    from .deadletters import dlq_topics, read_dead_letters

    settings = _settings(bootstrap, prefix)
    topics_ = [settings.topic(topic)] if topic else dlq_topics(settings)
    letters = read_dead_letters(settings, topics_, limit=limit)
    table = Table("dlq", "offset", "when", "consumer", "source", "exception", "reason", "bytes")
    for dl in letters:
        table.add_row(dl.topic, f"{dl.partition}:{dl.offset}", dl.header("dlq.at")[:19], dl.header("dlq.consumer"),
                      f"{dl.source_topic}:{dl.header('dlq.source_partition')}:{dl.header('dlq.source_offset')}",
                      dl.header("dlq.exception"), dl.reason[:120], str(len(dl.value or b"")))
    Console().print(table)
    console.print(f"{len(letters)} dead letter(s)")
    if show_payload:
        for dl in letters:
            typer.echo(f"--- {dl.topic} {dl.partition}:{dl.offset}")
            typer.echo((dl.value or b"").decode("utf-8", "replace"))


@dlq_app.command("replay")
def dlq_replay(
    topic: Annotated[str, typer.Option(help="the DLQ topic, e.g. claims.events.dlq")],
    offset: Annotated[Optional[list[str]], typer.Option(help="partition:offset to replay (repeatable); default all")] = None,
    bootstrap: Annotated[Optional[str], typer.Option(envvar="KAFKA_BOOTSTRAP")] = None,
    prefix: Annotated[str, typer.Option(envvar="TOPIC_PREFIX")] = "",
) -> None:
    """Write dead letters' original bytes back to their source topic (after the cause is fixed)."""
    from .deadletters import read_dead_letters, replay

    settings = _settings(bootstrap, prefix)
    letters = read_dead_letters(settings, [settings.topic(topic)], limit=1_000_000)
    if offset:
        wanted = set(offset)
        letters = [dl for dl in letters if f"{dl.partition}:{dl.offset}" in wanted]
    n = replay(settings, letters)
    console.print(f"replayed {n} dead letter(s) to their source topics")


# ---------------------------------------------------------------------------- ingest and operations
def _service_cli(service: str, *args: str) -> None:
    from carectl.processes import service_database_url

    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    url = service_database_url(env, service)  # the database (and schema) its processes use under ccp
    if url:
        env["DATABASE_URL"] = url
    raise typer.Exit(subprocess.call([sys.executable, "-m", f"services.{service}", *args], env=env, cwd=REPO))


@roster_app.command("load")
def roster_load(file: Path, full: Annotated[bool, typer.Option(help="members absent from the file are termed")] = False) -> None:
    """Load a roster CSV into members.roster (report: accepted, rejected with line and reason)."""
    _service_cli("intake", "load-roster", str(file), *(["--full"] if full else []))


@claims_app.command("load")
def claims_load(file: Path, validate: Annotated[bool, typer.Option(help="full X12 validation with a 999")] = False) -> None:
    """Load an 837P/837I, claims CSV or JSON file into claims.events (per-file report)."""
    _service_cli("intake", "load-claims", str(file), *(["--validate"] if validate else []))


@month_app.command("close")
def month_close(contract: str, month: str) -> None:
    """Close a contract's month: later events for it post as adjustments in the next open month."""
    _service_cli("billing", "close-month", contract, month)


@billing_app.command("explain")
def billing_explain(
    contract: str, month: str, figure: str,
    member: Annotated[Optional[str], typer.Option(help="list only this member's items")] = None,
    limit: Annotated[int, typer.Option(help="items listed per section")] = 50,
    json_out: Annotated[bool, typer.Option("--json", help="the whole explanation as JSON")] = False,
) -> None:
    """A statement figure traced to its inputs: member months, claims counted and excluded with the
    reason, the arithmetic with the contract clause (FIGURE: fees[:tier], cost_of_care,
    carve_outs[:category], bonus:<id>, shared_savings)."""
    _service_cli("billing", "explain", contract, month, figure, "--limit", str(limit),
                 *(["--member", member] if member else []), *(["--json"] if json_out else []))


@billing_app.command("held")
def billing_held(json_out: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Claim corrections (replacements, voids) waiting for their original claim."""
    _service_cli("billing", "held", *(["--json"] if json_out else []))


@hl7_app.command("send")
def hl7_send(
    file: Path,
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[Optional[int], typer.Option(help="default 2575 + PORT_OFFSET, as ./ccp up starts it")] = None,
    connections: Annotated[int, typer.Option()] = 1,
    rate: Annotated[Optional[float], typer.Option(help="messages per second across connections")] = None,
) -> None:
    """Send an HL7 file (one message per line, CR between segments) over MLLP; print the ACK tally."""
    import asyncio

    from .mllp_client import MllpClient
    from .synth import read_hl7_file

    messages = list(read_hl7_file(file))
    if port is None:
        port = 2575 + int(os.environ.get("PORT_OFFSET", "0") or 0)
    client = MllpClient(host, port, connections=connections, rate=rate)
    summary = asyncio.run(client.send(messages))
    d = summary.as_dict()
    table = Table("sent", "ACK codes", "errors", "p50 ms", "p99 ms", "msg/s")
    table.add_row(str(d["sent"]), ", ".join(f"{k}={v}" for k, v in d["acked"].items()), str(d["errors"]),
                  str(d["latency_ms"]["p50"]), str(d["latency_ms"]["p99"]), f"{summary.throughput:.0f}")
    Console().print(table)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def synth(ctx: typer.Context) -> None:
    """Generate a synthetic population (python -m carectl.synth --help)."""
    raise typer.Exit(subprocess.call([sys.executable, "-m", "carectl.synth", *ctx.args], cwd=REPO))


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def bench(ctx: typer.Context) -> None:
    """Run the benchmark suite (bench/run_all.py) and print the figures table."""
    raise typer.Exit(subprocess.call([sys.executable, str(REPO / "bench" / "run_all.py"), *ctx.args], cwd=REPO))


# ---------------------------------------------------------------------------- tests
@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def test(ctx: typer.Context) -> None:
    """Run the whole test suite (slow tests included; --fast skips them) against a real Kafka broker
    and a real PostgreSQL.

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
    infra.ensure_apt_tool("prometheus", "prometheus")  # the observability test runs a real Prometheus
    browser = infra.ensure_chromium()
    if browser:
        env.setdefault("CHROMIUM_PATH", browser)
    console.print(f"[dim]infrastructure ready in {time.monotonic() - t0:.1f}s "
                  f"(Kafka {env['KAFKA_BOOTSTRAP']}, PostgreSQL {_redact(env.get('TEST_DATABASE_URL') or env.get('DATABASE_URL', ''))})[/dim]")
    env.setdefault("ENVIRONMENT", "test")
    args = list(ctx.args) or []
    fast = "--fast" in args or env.get("CCP_FAST", "").lower() in ("1", "true", "yes")
    args = [a for a in args if a != "--fast"]
    # The whole proof by default (CI runs exactly this): the slow tests too — crash cycles, fuzz,
    # schemathesis, broker failover, worker scaling. ``--fast`` (or CCP_FAST=1) leaves them out;
    # a -m of your own still wins (pytest takes the last one).
    marker = [] if fast else ["-m", "slow or not slow"]
    console.print("[dim]" + ("skipping the slow tests (--fast)" if fast else
                             "running every test, the slow ones too (./ccp test --fast skips them)") + "[/dim]")
    cmd = [sys.executable, "-m", "pytest", *marker, *args]
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


def bring_up(var_dir: Path, *, brokers: int = 1, workers: Optional[list[str]] = None,
             secure: bool = False) -> Supervisor:
    """Broker(s), topics, schema, every service process; returns when all report healthy."""
    env = _platform_env(var_dir)
    services = sorted({p.service for p in PROCESSES if not p.module})
    try:
        counts = parse_workers(workers, services)
    except ValueError as exc:
        raise typer.Exit(_fail(str(exc))) from None
    topic_settings = None
    if secure or brokers > 1 or not os.environ.get("KAFKA_BOOTSTRAP"):
        if os.environ.get("KAFKA_BOOTSTRAP") and (secure or brokers > 1):
            raise typer.Exit(_fail("--brokers/--secure start local brokers: unset KAFKA_BOOTSTRAP (it points the "
                                   "platform at brokers of your own)"))
        what = f"{brokers} KRaft nodes" if brokers > 1 else "the Kafka broker (KRaft)"
        with console.status(f"starting {what}{' with SASL and ACLs' if secure else ''} ..."):
            kafka_env, topic_settings = infra.start_kafka(brokers, secure, env.get("TOPIC_PREFIX", ""))
        env.update(kafka_env)
        console.print(f"kafka: {env['KAFKA_BOOTSTRAP']}" + (" (SASL SCRAM-SHA-512; each service its own user, "
                                                            "ACLs from the registry)" if secure else ""))
    with console.status("creating topics from the registry ..."):
        created = infra.create_topics(env["KAFKA_BOOTSTRAP"], env.get("TOPIC_PREFIX", ""), topic_settings)
    console.print(f"topics: {sum(v == 'created' for v in created.values())} created, "
                  f"{sum(v == 'exists' for v in created.values())} already there")
    sup = Supervisor(env, var_dir, with_workers(PROCESSES, counts))
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
        table.add_row(spec.name, str(spec.http_port + sup.port_offset), "[green]ok[/green]" if status.get(spec.name) else "[red]down[/red]")
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


WorkersOpt = Annotated[Optional[list[str]], typer.Option(
    "--workers", help="worker processes per service: N for every service or SERVICE=N (repeatable), "
                      "1-7; one consumer group per service shares the partitions")]
SecureOpt = Annotated[bool, typer.Option("--secure", help="SASL (SCRAM) on the local broker(s); each service "
                                                          "its own user, ACLs from the registry")]


@app.command()
def up(var_dir: Annotated[Path, typer.Option(envvar="VAR_DIR")] = REPO / "var", brokers: BrokersOpt = 1,
       workers: WorkersOpt = None, secure: SecureOpt = False) -> None:
    """Start the broker(s), create topics and run every service until Ctrl-C."""
    sup = bring_up(var_dir.resolve(), brokers=brokers, workers=workers, secure=secure)
    console.print("platform running; Ctrl-C stops every process")
    _serve_until_interrupted(sup)


@app.command()
def demo(
    var_dir: Annotated[Path, typer.Option(envvar="VAR_DIR")] = REPO / "var",
    members: Annotated[int, typer.Option(help="size of the synthetic population")] = 5000,
    minutes: Annotated[float, typer.Option(help="wall-clock minutes to replay the simulated month in")] = 3.0,
    seed: Annotated[int, typer.Option()] = 7,
    reset: Annotated[bool, typer.Option(help="start from an empty platform: drop the demo's databases and topics")] = False,
    once: Annotated[bool, typer.Option(help="stop every process after the feed instead of serving until Ctrl-C")] = False,
    brokers: BrokersOpt = 1,
    workers: WorkersOpt = None,
    secure: SecureOpt = False,
) -> None:
    """The platform with a live demo feed.

    Starts the broker, creates topics, starts every service (SQLite files under var/ by default,
    PostgreSQL when DATABASE_URL is set), then streams a simulated month of a synthetic
    population through the real front doors: roster and 837 files through ingest, ADT over
    MLLP. Running it again resumes the feed; --reset starts over.
    """
    import asyncio

    from .demo import DemoOptions, ensure_population, stream, where_to_look

    var_dir = var_dir.resolve()
    if reset:
        _reset(var_dir, brokers, secure)
    env = _platform_env(var_dir)
    opts = DemoOptions(var_dir=var_dir, members=members, seed=seed, minutes=minutes, env=env,
                       mllp_port=2575 + int(env.get("PORT_OFFSET", "0") or 0))
    manifest = ensure_population(opts, console)
    from . import demo_notifications

    demo_notifications.prepare_env(os.environ)  # the demo's receiver listens on 127.0.0.1
    sup = bring_up(var_dir, brokers=brokers, workers=workers, secure=secure)
    opts.env = sup.env  # the feed's ingest commands talk to the same broker(s), as their service's user
    receiver, receiver_port = demo_notifications.start_receiver(env, var_dir)
    demo_notifications.subscribe(env, var_dir, receiver_port)
    console.print("[bold]platform is up[/bold]; streaming the demo feed ...")
    try:
        tally = asyncio.run(stream(opts, manifest, console))
    except KeyboardInterrupt:
        sup.stop()
        receiver.terminate()
        console.print("stopped (run ./ccp demo again to resume the feed)")
        raise typer.Exit(130)
    acks = ", ".join(f"{k}={v}" for k, v in sorted(tally["ack"].items()))
    console.print(f"feed done: ADT ACKs {acks or 'none'}; roster files {tally['roster_files']}, "
                  f"claims deliveries {tally['claims_files']}, ingest failures {tally['ingest_failures']}")
    where_to_look(console, sup.specs, port_offset=sup.port_offset, var_dir=var_dir)
    if once:
        sup.stop()
        receiver.terminate()
        return
    console.print("platform running; Ctrl-C stops every process")
    try:
        _serve_until_interrupted(sup)
    finally:
        receiver.terminate()


def _drop_service_tables() -> None:
    """With DATABASE_URL (or <SERVICE>_DATABASE_URL) set, drop each service's own tables there
    (only the tables its schema step creates; nothing else in that database is touched)."""
    import importlib
    import importlib.util

    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    from carectl.processes import database_services, service_database_url

    for service in database_services():
        url = service_database_url(os.environ, service)
        if not url:
            continue
        shaped = importlib.util.find_spec(f"services.{service}.adapters") is not None  # the new shape: adapters/tables.py
        module = f"services.{service}.adapters.tables" if shaped else f"services.{service}.store"
        metadata = importlib.import_module(module).metadata
        engine = create_engine(url)
        try:
            metadata.drop_all(engine)
        finally:
            engine.dispose()
        console.print(f"reset: {service} tables dropped in {make_url(url).render_as_string(hide_password=True)}")


def _reset(var_dir: Path, brokers: int = 1, secure: bool = False) -> None:
    """Drop what the demo wrote: the services' SQLite files (or, with DATABASE_URL, the services'
    tables in PostgreSQL), the feed position, the topics."""
    import shutil

    for db in var_dir.glob("*.db*"):
        db.unlink()
    _drop_service_tables()
    shutil.rmtree(var_dir / "demo" / "progress.json", ignore_errors=True)
    (var_dir / "demo" / "progress.json").unlink(missing_ok=True)
    from shared.kafka_admin import delete_topics
    from shared.settings import CommonSettings
    from shared.topics import all_topics

    prefix = os.environ.get("TOPIC_PREFIX", "")
    if os.environ.get("KAFKA_BOOTSTRAP") and not (secure or brokers > 1):
        settings = CommonSettings(kafka_bootstrap=os.environ["KAFKA_BOOTSTRAP"], topic_prefix=prefix)
    else:
        _, settings = infra.start_kafka(brokers, secure, prefix)
    delete_topics(settings, [settings.topic(t.name) for t in all_topics()])
    time.sleep(2)  # let the broker finish deleting before the topics are created again
    console.print("reset: databases, feed position and topics dropped")


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
