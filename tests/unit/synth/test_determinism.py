"""Same seed → the same bytes in every file; another seed → other data."""

from __future__ import annotations

from pathlib import Path

from carectl.synth import SynthConfig, generate


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_gives_byte_identical_output(tmp_path):
    cfg = SynthConfig(members=400, seed=42, months=2, malformed_rate=0.05)
    generate(cfg, tmp_path / "a")
    generate(cfg, tmp_path / "b")
    a, b = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert a.keys() == b.keys()
    assert len(a) > 10
    for name in a:
        assert a[name] == b[name], name


def test_other_seed_gives_other_people(tmp_path):
    generate(SynthConfig(members=200, seed=1, months=1), tmp_path / "a")
    generate(SynthConfig(members=200, seed=2, months=1), tmp_path / "b")
    assert (tmp_path / "a" / "roster.csv").read_bytes() != (tmp_path / "b" / "roster.csv").read_bytes()


def test_rerun_into_the_same_directory_replaces_old_files(tmp_path):
    generate(SynthConfig(members=100, seed=3, months=3), tmp_path)
    generate(SynthConfig(members=100, seed=3, months=1), tmp_path)
    assert sorted(p.name for p in (tmp_path / "adt").glob("*.hl7")) == ["adt-2026-01.hl7"]
    assert not (tmp_path / ".tmp").exists()


def test_cli_in_another_process_writes_the_same_bytes(tmp_path):
    import json
    import os
    import subprocess
    import sys

    cfg = SynthConfig(members=150, seed=77, months=1)
    generate(cfg, tmp_path / "here")
    env = dict(os.environ, PYTHONHASHSEED="12345")
    run = subprocess.run([sys.executable, "-m", "carectl.synth", "--members", "150", "--seed", "77", "--months", "1",
                          "--out", str(tmp_path / "cli"), "--quiet"], capture_output=True, text=True, env=env,
                         check=True)
    assert json.loads(run.stdout)["members"] == 150
    assert _files(tmp_path / "here") == _files(tmp_path / "cli")


def test_cli_refuses_bad_settings(tmp_path):
    from carectl.synth.__main__ import main

    assert main(["--out", str(tmp_path), "--members", "0", "--quiet"]) == 2
    assert main(["--out", str(tmp_path), "--malformed-kinds", "nonsense", "--quiet"]) == 2


def test_manifest_config_rebuilds_the_run(tmp_path):
    from carectl.synth import load_manifest

    cfg = SynthConfig(members=50, seed=5, months=1, hospitals=("MERCY", "VALLEY"), claim_batch="month")
    generate(cfg, tmp_path)
    m = load_manifest(tmp_path)
    assert SynthConfig.from_dict(m["config"]) == cfg
    assert m["seed"] == 5 and m["period"] == {"start": "2026-01-01", "end": "2026-02-01", "end_exclusive": True,
                                              "months": 1, "timezone": "America/Chicago"}
