"""The X12 corpus files and SOURCES.md are what ``tests/corpus/x12/build_corpus.py`` writes from
``MANIFEST.yaml`` (a hand edit of a file, or a label without its file, is caught here)."""

import subprocess
import sys
from pathlib import Path

import yaml

CORPUS = Path(__file__).resolve().parents[2] / "corpus" / "x12"


def test_corpus_files_are_built_from_the_manifest():
    result = subprocess.run([sys.executable, str(CORPUS / "build_corpus.py"), "--check"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_every_label_names_its_outcome_in_both_modes():
    for item in yaml.safe_load((CORPUS / "MANIFEST.yaml").read_text()):
        assert item["sources"] and item["quirk"].strip()
        for mode in ("fast", "validate"):
            label = item[mode]
            assert label["status"] in ("done", "rejected") and label["accepted"] >= 0 and label["rejected"] >= 0
            if label["status"] == "rejected":
                assert label["accepted"] == 0
