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
