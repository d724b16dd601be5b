"""No PHI where operators look: a synthetic population is run through the whole platform (roster
and 837 files through ingest, ADT over MLLP), then every log line of every process and every
Prometheus label value is scanned for the population's names, MRNs, member ids and birth dates.

At INFO nothing may appear in the logs; at any level nothing may appear in a metric label.
"""

from __future__ import annotations

import asyncio
import csv
import re
from datetime import date

import pytest
from rich.console import Console

from carectl.demo import DemoOptions, ensure_population, stream
from tests.support.platform import start_platform

LABEL_RE = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def phi_terms(roster_csv) -> dict[str, set[str]]:
    terms: dict[str, set[str]] = {"member id": set(), "name": set(), "mrn": set(), "birth date": set()}
    with open(roster_csv, newline="") as fh:
        for row in csv.DictReader(fh):
            terms["member id"].add(row["member_id"])
            terms["name"].update({row["given_name"], row["family_name"]})
            for pair in filter(None, row["mrns"].split(";")):
                terms["mrn"].add(pair.split(":", 1)[1])
            d = date.fromisoformat(row["birth_date"])
            terms["birth date"].update({d.isoformat(), d.strftime("%Y%m%d"), d.strftime("%m/%d/%Y")})
    return terms


def find_phi(text: str, terms: dict[str, set[str]]) -> list[tuple[str, str]]:
    hits = []
    for kind, values in terms.items():
        if not values:
            continue
        alternatives = "|".join(re.escape(v) for v in sorted(values, key=len, reverse=True))
        if kind == "birth date":  # 1960-08-15T00:00 or 19600815 inside other text still counts
            pattern = re.compile(r"(?<!\d)(" + alternatives + r")(?!\d)")
        else:
            pattern = re.compile(r"(?<![\w-])(" + alternatives + r")(?![\w-])")
        for m in pattern.finditer(text):
            hits.append((kind, m.group(1)))
    return hits


def run_population(kafka_bootstrap, var_dir, log_level: str):
    platform = start_platform(kafka_bootstrap, var_dir, log_level=log_level)
    try:
        opts = DemoOptions(var_dir=var_dir, members=300, seed=11, start=date(2026, 10, 1), minutes=0.05,
                           env=platform.env, mllp_port=platform.mllp_port)
        console = Console(quiet=True)
        manifest = ensure_population(opts, console)
        tally = asyncio.run(stream(opts, manifest, console))
        assert tally["ingest_failures"] == 0, tally
        assert tally["ack"].get("AA", 0) > 0, tally
        metrics = platform.metrics_text()
        logs = platform.logs()
    finally:
        platform.stop()
    logs.update(platform.logs())  # shutdown lines too
    return opts.population_dir / "roster.csv", logs, metrics, tally


def label_values(metrics: dict[int, str]) -> str:
    values = []
    for text in metrics.values():
        for line in text.splitlines():
            if line and not line.startswith("#"):
                values.extend(v for _k, v in LABEL_RE.findall(line.split(" ", 1)[0] if "{" not in line else
                                                               line[:line.rindex("}") + 1]))
    return "\n".join(values)


@pytest.mark.parametrize("log_level", ["INFO", "DEBUG"])
def test_no_phi_in_logs_at_info_and_none_in_metric_labels(kafka_bootstrap, tmp_path, log_level):
    roster, logs, metrics, tally = run_population(kafka_bootstrap, tmp_path, log_level)
    terms = phi_terms(roster)
    assert sum(len(v) for v in terms.values()) > 1000  # the scan has something to look for
    assert all(metrics.values()), "every process served /metrics"

    labels = label_values(metrics)
    assert "trigger" in "".join(metrics.values())  # labels were read
    label_hits = find_phi(labels, terms)
    assert not label_hits, f"PHI in metric labels: {label_hits[:10]}"

    if log_level == "INFO":
        hits = {name: find_phi(text, terms) for name, text in logs.items()}
        hits = {k: v for k, v in hits.items() if v}
        assert not hits, "PHI in INFO logs: " + "; ".join(f"{k}: {v[:5]}" for k, v in hits.items())
        assert sum(len(t) for t in logs.values()) > 1000  # the processes did log
