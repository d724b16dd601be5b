"""The live demo feed: a synthetic population streamed through the platform's real front doors.

1. a population (5,000 members by default) is generated once into ``var/demo/population``
   (deterministic: the same seed gives the same files; reused on the next run);
2. its timeline is replayed with simulated time compressed (a month in a few minutes):
   roster files and claims files (X12 837P/837I) through the intake service's loads (its CLI,
   ``python -m services.intake load-roster / load-claims``), ADT messages over MLLP to the
   admissions listener;
3. progress is kept in ``var/demo/progress.json``: running the demo again resumes where it
   stopped (``--reset`` starts from an empty platform instead). Re-sending something already
   accepted is harmless: ingest ids are deterministic and every consumer dedupes.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from rich.console import Console

from .processes import service_database_url, service_kafka_credentials
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

REPO = Path(__file__).resolve().parent.parent


def weeks_up_to_today(months: int, today: date | None = None) -> date:
    """The simulated period ends today (exclusive): a nurse opening the demo sees this week's work."""
    from .synth.config import add_months

    return add_months(today or date.today(), -months)


@dataclass
class DemoOptions:
    var_dir: Path
    members: int = 5000
    seed: int = 7
    start: date | None = None       # default: resume the population being fed, else the weeks up to today
    months: int = 1
    minutes: float = 3.0
    mllp_host: str = "127.0.0.1"
    mllp_port: int = 2575
    env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.start is None:
            self.start = _resumable_start(self) or weeks_up_to_today(self.months)

    @property
    def demo_dir(self) -> Path:
        return self.var_dir / "demo"

    @property
    def population_dir(self) -> Path:
        return self.demo_dir / f"population-{self.members}-{self.seed}-{self.start.isoformat()}-{self.months}"


def _resumable_start(opts: DemoOptions) -> date | None:
    """The start of the population a previous run fed (a run resumes it rather than mixing another
    month into the platform; ``--reset`` forgets it); None when there is none."""
    try:
        data = json.loads((opts.var_dir / "demo" / "progress.json").read_text())
        name = str(data["population"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    prefix = f"population-{opts.members}-{opts.seed}-"
    if not name.startswith(prefix) or not name.endswith(f"-{opts.months}"):
        return None
    try:
        return date.fromisoformat(name[len(prefix):len(prefix) + 10])
    except ValueError:
        return None


def prepare_portal(opts: DemoOptions) -> list[dict]:
    """Sign-in codes and the directory of names for the patient portal; a few members to try."""
    from .synth.portal_codes import write_directory, write_examples, write_portal_codes

    write_portal_codes(opts.population_dir)
    write_directory(opts.population_dir, opts.var_dir / "portal" / "directory.yaml")
    return write_examples(opts.population_dir, opts.demo_dir / "portal-examples.json")


def ensure_population(opts: DemoOptions, console: Console) -> dict:
    from .synth import SynthConfig, generate, load_manifest

    out = opts.population_dir
    if (out / "manifest.json").exists():
        console.print(f"population: reusing {out}")
        prepare_portal(opts)
        return load_manifest(out)
    cfg = SynthConfig(members=opts.members, seed=opts.seed, start=opts.start, months=opts.months)
    with Progress(TextColumn("generating population: {task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console, transient=True) as progress:
        task = progress.add_task("start", total=None)

        def on(stage: str, done: int, total: int | None) -> None:
            progress.update(task, description=stage, completed=done, total=total)

        manifest = generate(cfg, out, progress=on)
    console.print(f"population: {opts.members} members generated into {out} "
                  f"(simulated {opts.start} to {manifest['period']['end']})")
    prepare_portal(opts)
    return manifest


def _progress_file(opts: DemoOptions) -> Path:
    return opts.demo_dir / "progress.json"


def load_position(opts: DemoOptions) -> int:
    try:
        data = json.loads(_progress_file(opts).read_text())
    except (OSError, ValueError):
        return 0
    return int(data.get("position", 0)) if data.get("population") == opts.population_dir.name else 0


def save_position(opts: DemoOptions, position: int) -> None:
    opts.demo_dir.mkdir(parents=True, exist_ok=True)
    tmp = _progress_file(opts).with_suffix(".tmp")
    tmp.write_text(json.dumps({"population": opts.population_dir.name, "position": position}))
    tmp.replace(_progress_file(opts))


def _service_cli(opts: DemoOptions, service: str, *args: str) -> tuple[int, str]:
    env = dict(opts.env)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env["CCP_NO_PROGRESS"] = "1"
    url = service_database_url(env, service)
    if url:
        env["DATABASE_URL"] = url
    env.update(service_kafka_credentials(env, service))  # --secure: as the service's own Kafka user
    proc = subprocess.run([sys.executable, "-m", f"services.{service}", *args], env=env, cwd=REPO,
                          capture_output=True, text=True)
    return proc.returncode, (proc.stdout + proc.stderr)[-2000:]


def _load_risk_segments(opts: DemoOptions, console: Console) -> None:
    """The risk service's segment inputs (dual / institutional status) for the population."""
    from datetime import date

    from .synth.segments import write_segments

    rc, text = _service_cli(opts, "risk", "segments", "load", str(write_segments(opts.population_dir, date.today())))
    if rc != 0:
        console.print(f"[yellow]risk segments not loaded[/yellow]: {text.strip().splitlines()[-1] if text.strip() else rc}")


async def stream(opts: DemoOptions, manifest: dict, console: Console) -> dict:
    """Replay the population's timeline into the running platform; returns the tallies."""
    from .mllp_client import MllpClient
    from .synth import iter_timeline, speedup_for
    from datetime import timedelta

    out = opts.population_dir
    items = list(iter_timeline(out))
    position = load_position(opts)
    if position:
        console.print(f"resuming the feed at item {position} of {len(items)} (--reset to start over)")
    todo = items[position:]
    counts = {"adt": 0, "roster": 0, "claims": 0}
    for it in items:
        counts[it.kind] += 1
    tally = {"ack": {}, "roster_files": 0, "claims_files": 0, "ingest_failures": 0}
    if not position:
        _load_risk_segments(opts, console)
    span = timedelta(days=31 * opts.months)
    speedup = speedup_for(span, max(opts.minutes, 0.1) * 60)

    with Progress(TextColumn("{task.description:<22}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console) as progress:
        t_adt = progress.add_task("ADT over MLLP", total=counts["adt"])
        t_claims = progress.add_task("claims files (837)", total=counts["claims"])
        t_roster = progress.add_task("roster files", total=counts["roster"])
        for it in items[:position]:
            progress.advance({"adt": t_adt, "claims": t_claims, "roster": t_roster}[it.kind])
        done = {"n": position}

        def on_result(result) -> None:
            code = result.code or (result.error or "error")
            tally["ack"][code] = tally["ack"].get(code, 0) + 1
            progress.advance(t_adt)

        async def adt_messages():
            from .synth import paced

            async for it in paced(todo, speedup=speedup, max_gap=2.0):
                if it.kind == "adt":
                    yield it.data.message
                elif it.kind == "roster":
                    rc, text = await asyncio.to_thread(
                        _service_cli, opts, "intake", "load-roster", str(it.data.path), *(["--full"] if it.data.full else []))
                    tally["roster_files"] += rc == 0
                    tally["ingest_failures"] += rc != 0
                    if rc != 0:
                        console.print(f"[red]roster load failed[/red]: {text.strip().splitlines()[-1] if text.strip() else rc}")
                    progress.advance(t_roster)
                else:
                    batch = it.data
                    ok = True
                    for path in (batch.path_837p, batch.path_837i):
                        if path is None:
                            continue
                        rc, text = await asyncio.to_thread(_service_cli, opts, "intake", "load-claims", str(path))
                        ok &= rc == 0
                        if rc != 0:
                            console.print(f"[red]claims load failed[/red]: {text.strip().splitlines()[-1] if text.strip() else rc}")
                    tally["claims_files"] += ok
                    tally["ingest_failures"] += not ok
                    progress.advance(t_claims)
                done["n"] += 1
                if done["n"] % 25 == 0:
                    save_position(opts, done["n"])

        client = MllpClient(opts.mllp_host, opts.mllp_port, connections=2, on_result=on_result)
        await client.send(adt_messages())
        save_position(opts, len(items))
    return tally


def where_to_look(console: Console, processes, *, port_offset: int = 0, var_dir: Path | None = None) -> None:
    """Where the running platform can be seen (ports shifted by PORT_OFFSET, as the processes are)."""
    def url(port: int, path: str = "") -> str:
        return f"http://127.0.0.1:{port + port_offset}{path}"

    console.print()
    console.print("[bold]Where to look[/bold]")
    console.print(f"  nurse page         {url(8030, '/')}          (log in with key dev-nurse-east1; "
                  "supervisors: dev-supervisor-east)")
    examples = _portal_examples(var_dir)
    console.print(f"  patient portal     {url(8080, '/')}          "
                  + (f"(sign in as {examples[0]['member_id']} with code {examples[0]['code']})" if examples else
                     "(sign-in codes: python -m services.portal dev-code MEMBER_ID)"))
    for e in examples[1:]:
        console.print(f"                     or {e['member_id']} / {e['code']}  ({e['why']})")
    console.print(f"                     FHIR: {url(8080, '/fhir/metadata')}  (Patient/<id>/$everything once signed in)")
    console.print(f"  API docs           {url(8010, '/docs')}  (admissions)   {url(8020, '/docs')}  (gaps)")
    console.print(f"                     {url(8030, '/docs')}  (outreach)     {url(8040, '/docs')}  (billing)")
    console.print(f"                     {url(8090, '/docs')}  (intake: roster and claims loads)")
    console.print(f"  extended hours     {url(8070, '/ops/extended-hours')}  (supervisors: dev-supervisor-east; "
                  f"risk API {url(8070, '/docs')})")
    console.print("                     API keys: dev-admin, dev-ops, dev-hospitalist-hg-north, ... (deploy/users.dev.yaml)")
    console.print(f"  MLLP listener      127.0.0.1:{2575 + port_offset}  (./ccp hl7 send FILE)")
    console.print(f"  hospitalist alerts {url(8010, '/hospitalist')}  (log in with key dev-hospitalist-hg-north)")
    console.print(f"  notifications      {url(8060, '/docs')}  (subscriptions, delivery log, FHIR at /fhir); the demo "
                  f"receiver prints what it gets in {(var_dir / 'logs') if var_dir else 'var/logs'}/demo-receiver.log")
    console.print("  metrics            " + "  ".join(f"{p.name}:{p.http_port + port_offset}/metrics" for p in processes))
    console.print("  dashboard          deploy/grafana/dashboards/care-coordination.json "
                  "(docker compose up: Grafana on :3000, Prometheus on :9090; locally: prometheus "
                  "--config.file=deploy/prometheus/prometheus.yml)")
    console.print("  dead letters       ./ccp dlq list")
    console.print(f"  logs               {(var_dir / 'logs') if var_dir else 'var/logs/'}")


def _portal_examples(var_dir: Path | None) -> list[dict]:
    try:
        return json.loads(((var_dir or REPO / "var") / "demo" / "portal-examples.json").read_text())
    except (OSError, ValueError):
        return []
