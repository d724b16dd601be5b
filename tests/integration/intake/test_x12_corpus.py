"""Every file of the X12 837 corpus (``tests/corpus/x12``) through the real ingest, fast and
validating, against its label in ``MANIFEST.yaml``: the load's terminal state and counts, the
claims on ``claims.events`` (real broker), the dead letters, the load row in PostgreSQL, the
999 beside the file, the reasons and warnings - and no person's name, id or birth date in a
report or a log line.

The loads run in this process (the code path of ``load-claims`` and of the API); each file is
loaded under a name of its own per mode so the events can be told apart by their source.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
from pathlib import Path

import pytest
import yaml

from services.intake.adapters.wiring import database as open_database, load_context
from services.intake.app import load_claims
from shared.kafka import EventProducer

CORPUS = Path(__file__).resolve().parents[2] / "corpus" / "x12"
MANIFEST = yaml.safe_load((CORPUS / "MANIFEST.yaml").read_text())
MODES = ("fast", "validate")
TERMINAL = {"done", "rejected", "failed"}


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture(scope="module")
def corpus(intake_infra, tmp_path_factory):
    env = intake_infra
    db = open_database(env.settings)
    producer = EventProducer(env.settings, client_id="intake-corpus-test")
    ctx = load_context(env.settings, db, producer)
    tmp = tmp_path_factory.mktemp("x12corpus")
    logs = _Lines()
    root = logging.getLogger()
    root.addHandler(logs)
    old_level = root.level
    root.setLevel(logging.INFO)
    results = {}
    try:
        for item in MANIFEST:
            for mode in MODES:
                path = tmp / f"{mode}-{item['file']}"
                shutil.copyfile(CORPUS / item["file"], path)
                report = load_claims(ctx, path, validate=mode == "validate", force=True)
                results[(item["file"], mode)] = (path, report)
    finally:
        root.removeHandler(logs)
        root.setLevel(old_level)
        producer.close()
    events: dict[str, int] = {}
    for e in env.events("claims.events"):
        events[e.source] = events.get(e.source, 0) + 1
    dead: dict[str, int] = {}
    for m in env.events("claims.events.dlq"):
        load_id = dict(m.headers() or []).get("intake.load_id", b"").decode()
        dead[load_id] = dead.get(load_id, 0) + 1
    rows = {r.load_id: (r.status, r.report) for r in env.rows("SELECT load_id, status, report FROM ingest_loads")}
    yield results, events, dead, rows, logs.lines
    db.dispose()


def _planted(text: str) -> set[str]:
    """The people in a corpus file: member ids, names, birth dates (whatever its delimiters)."""
    values = set(re.findall(r"CRP\d{6}|OTH\d{5}", text))
    for m in re.finditer(r"NM1.(?:IL|QC).1.([A-Za-z]+).([A-Za-z]+)", text):
        values.update(v for v in m.groups() if len(v) > 3)
    values.update(re.findall(r"DMG.D8.(\d{8})", text))
    return values


CASES = [(item, mode) for item in MANIFEST for mode in MODES]


@pytest.mark.parametrize(("item", "mode"), CASES, ids=[f"{i['file'][:2]}-{m}" for i, m in CASES])
def test_corpus_file_meets_its_label(corpus, item, mode):
    results, events, dead, rows, _logs = corpus
    path, report = results[(item["file"], mode)]
    label = item[mode]
    where = f"{item['file']} ({mode}): {json.dumps(report.as_dict(), default=str)[:3000]}"

    assert report.status in TERMINAL, where
    assert (report.status, report.accepted, report.rejected) == (label["status"], label["accepted"],
                                                                  label["rejected"]), where
    reasons = " | ".join(r["reason"] for r in report.rejections)
    for text in label.get("reasons", []):
        assert text in reasons, where
    warnings = " | ".join(report.warnings)
    for text in label.get("warnings", []):
        assert text in warnings, where
    if report.status == "rejected":
        assert report.error, where  # the reason a whole file was refused is in the report

    # What the broker holds: the accepted claims, and every rejection not covered by another one
    assert events.get(f"claims:{path.name}", 0) == label["accepted"], where
    assert dead.get(report.load_id, 0) == report.dead_lettered == report.rejected, where

    # The load row in PostgreSQL ended in the same terminal state, with its report
    status, stored = rows[report.load_id]
    assert status == report.status and json.loads(stored)["status"] == report.status, where

    # The 999 (validating mode): written beside the file, echoing the sender's own versions
    ack = label.get("ack")
    if mode == "validate" and ack not in (None, "none"):
        assert report.ack_999_file, where
        text = Path(report.ack_999_file).read_text()
        assert text.startswith("ISA") and "ST*999*" in text, where
        for part in ack:
            assert part in text, f"{part!r} not in the 999 of {item['file']}:\n{text}"
    elif mode == "validate":
        assert report.ack_999_file is None and not Path(str(path) + ".999").exists(), where
    else:
        assert report.ack_999_file is None and report.validation is None, where

    # No patient data in the report (the JSON beside the file and the stored one)
    planted = _planted((CORPUS / item["file"]).read_text(encoding="utf-8", errors="replace"))
    assert planted or item["file"].startswith("29"), "the file has no people to look for"
    for text in (Path(report.report_file).read_text(), stored):
        found = sorted(v for v in planted if v in text)
        assert not found, f"{item['file']} ({mode}): the report holds {found}"


def test_no_log_line_names_a_person(corpus):
    *_, lines = corpus
    assert lines, "the loads logged nothing at INFO"
    planted = set()
    for item in MANIFEST:
        planted |= _planted((CORPUS / item["file"]).read_text(encoding="utf-8", errors="replace"))
    joined = "\n".join(lines)
    assert not sorted(v for v in planted if v in joined)


def test_the_corpus_covers_what_the_issue_asks():
    kinds = {item["kind"] for item in MANIFEST}
    sources = {src.split()[0] for item in MANIFEST for src in item["sources"]} - {"issue"}
    assert len(MANIFEST) >= 25 and {"837P", "837I"} <= kinds
    assert len(sources) >= 5, sources
    statuses = {item[mode]["status"] for item in MANIFEST for mode in MODES}
    assert statuses == {"done", "rejected"}
