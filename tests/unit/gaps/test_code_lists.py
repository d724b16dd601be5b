from pathlib import Path

import pytest

from services.gaps.codes import load_code_sets, read_manifest
from services.gaps.domain.codesets import PROC, Band


def test_every_value_set_has_a_source_and_the_lists_a_version(codes):
    manifest = read_manifest()
    assert manifest.version == codes.version
    assert codes.value_sets <= set(manifest.value_sets)
    for name, meta in manifest.value_sets.items():
        assert meta.get("source"), name


def test_ranges_and_prefixes(codes):
    assert "colonoscopy" in codes.tags(PROC, "45390") and "colonoscopy" not in codes.tags(PROC, "45399")
    assert "frailty_device" in codes.tags(PROC, "E0270")
    assert codes.tags("ICD10CM", "C183") == frozenset({"colorectal_cancer"})
    assert "pregnancy" in codes.tags("ICD10CM", "O9A119")
    assert "office_visit" in codes.tags(PROC, "99215") and "office_visit" not in codes.tags(PROC, "99210")


def test_a_user_extends_a_list_with_a_csv_file(tmp_path: Path):
    (tmp_path / "local.csv").write_text(
        "value_set,code_system,code,code_to,result,description\ncolonoscopy,HCPCS,S0000,,,local code\n")
    extended = load_code_sets([tmp_path])
    assert "colonoscopy" in extended.tags(PROC, "S0000")
    assert extended.version.startswith("2026.1+")


def test_unknown_value_set_in_an_extension_is_refused(tmp_path: Path):
    (tmp_path / "bad.csv").write_text("value_set,code_system,code\ncolonscopy,CPT,45378\n")
    with pytest.raises(ValueError, match="colonscopy"):
        load_code_sets([tmp_path])


def test_bands():
    assert Band.parse(">9").entirely_above(9) and not Band.parse("8-9").entirely_above(9)
    assert Band.parse("130-139").entirely_below(140) and not Band.parse(">=140").entirely_below(140)
    assert Band.parse("<80").sort_key() < Band.parse("80-89").sort_key()
