"""The demo simulates the weeks up to today and exercises the portal: sign-in codes for every
member, a directory of names, a few members worth signing in as printed in "where to look"."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, timedelta
from pathlib import Path

import yaml
from rich.console import Console

from carectl.demo import DemoOptions, prepare_portal, save_position, weeks_up_to_today, where_to_look
from carectl.processes import Supervisor
from carectl.synth import SynthConfig, generate, iter_timeline
from services.portal.domain.signin import dev_signin_code


def test_the_simulated_month_ends_today_and_a_run_resumes_its_population(tmp_path):
    assert weeks_up_to_today(1, date(2026, 12, 6)) == date(2026, 11, 6)
    assert weeks_up_to_today(1, date(2026, 3, 31)) == date(2026, 2, 28)
    opts = DemoOptions(var_dir=tmp_path, members=50)
    assert opts.start == weeks_up_to_today(1)
    # a run started on an earlier day is resumed, not mixed with a new month
    earlier = DemoOptions(var_dir=tmp_path, members=50, start=date(2026, 10, 1))
    save_position(earlier, 10)
    assert DemoOptions(var_dir=tmp_path, members=50).start == date(2026, 10, 1)
    assert DemoOptions(var_dir=tmp_path, members=60).start == weeks_up_to_today(1)   # another population


def test_the_weeks_before_today_hold_this_weeks_discharges(tmp_path):
    today = date(2026, 12, 6)
    cfg = SynthConfig(members=400, seed=7, start=weeks_up_to_today(1, today), months=1)
    generate(cfg, tmp_path)
    items = list(iter_timeline(tmp_path))
    midnight = datetime.combine(today, datetime.min.time(), tzinfo=cfg.tz)
    assert all(i.at <= midnight for i in items)            # nothing in the future: tasks are not all overdue ...
    recent = [i for i in items if i.kind == "adt" and i.data.trigger == "A03" and i.at >= midnight - timedelta(days=7)]
    assert recent                                          # ... and discharges of the last week make calls due now


def test_codes_directory_and_examples_for_the_portal(tmp_path):
    opts = DemoOptions(var_dir=tmp_path, members=300, start=date(2026, 11, 6))
    generate(SynthConfig(members=300, seed=opts.seed, start=opts.start, months=1), opts.population_dir)
    examples = prepare_portal(opts)
    with open(opts.population_dir / "portal-codes.csv", newline="") as fh:
        codes = list(csv.DictReader(fh))
    assert len(codes) == 300 and all(r["code"] == dev_signin_code(r["member_id"]) for r in codes)
    assert all(r["code"] != r["member_id"] for r in codes)
    names = yaml.safe_load((tmp_path / "portal" / "directory.yaml").read_text())
    assert names["practices"]["P001"]["name"].startswith("Synthetic Family Medicine")
    assert names["facilities"]["MERCY"] == "Mercy Synthetic Hospital"
    assert len(examples) == 3 and examples[0]["why"] == "back from the hospital recently"
    assert json.loads((tmp_path / "demo" / "portal-examples.json").read_text()) == examples

    out = io.StringIO()
    where_to_look(Console(file=out, width=400), Supervisor({}, tmp_path).specs, var_dir=tmp_path)
    text = out.getvalue()
    assert "http://127.0.0.1:8080/" in text
    assert f"sign in as {examples[0]['member_id']} with code {examples[0]['code']}" in text
    assert "portal-worker:8081/metrics" in text
