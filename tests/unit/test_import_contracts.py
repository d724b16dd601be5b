"""The architecture rules in ``.importlinter`` hold: services never import each other, shared/
imports no service, every service's layers (outreach, admissions, risk, portal, billing, gaps,
intake, notifications: entry points > web | routes | adapters > app > domain; admissions' mllp/
intake beside its entry points, without database, Kafka or web imports), pure domains, use cases
without SQL/Kafka/HTTP, an API process without faust.

A rule broken on purpose shows the contracts bite (a temporary module importing across layers,
``lint_with_probe``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


# ``services`` is a namespace package: an editable install of another checkout (a worktree's
# shared virtualenv) would add that checkout's ``services/`` to it, and the graph would mix both.
ONLY_THIS_CHECKOUT = ("sys.meta_path[:] = [f for f in sys.meta_path if 'editable' not in repr(f)]\n"
                      "sys.path_hooks[:] = [h for h in sys.path_hooks if 'editable' not in repr(h)]\n"
                      "sys.path_importer_cache.clear()\n")


def lint(config: Path) -> subprocess.CompletedProcess:
    code = ("import sys\n" + ONLY_THIS_CHECKOUT + "from importlinter.cli import lint_imports\n"
            f"sys.exit(lint_imports(config_filename={str(config)!r}, no_cache=True, no_logo=True))")
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})


def test_the_import_contracts_are_kept():
    out = lint(REPO / ".importlinter")
    assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-2000:]
    assert "0 broken" in out.stdout
    for name in ("Services never import each other", "outreach use cases import no I/O library",
                 "outreach API process imports no faust", "admissions use cases import no I/O library",
                 "admissions API and MLLP processes import no faust", "admissions intake (mllp/"):
        assert f"{name}" in out.stdout and "KEPT" in out.stdout
    # the report wraps long names at the console's width (sometimes eating the space before KEPT)
    report = "".join(out.stdout.split())
    for name in ("portal: entry points on top, then web | routes | adapters, then app, then domain",
                 "portal domain imports no I/O library and no I/O part of shared/",
                 "portal use cases import no I/O library (no SQL, no Kafka, no HTTP)",
                 "portal API process imports no faust (nor the worker's wiring)",
                 "billing: entry points on top, then web | routes | adapters, then app, then domain",
                 "billing domain imports no I/O library and no I/O part of shared/",
                 "billing use cases import no I/O library (no SQL, no Kafka, no HTTP)",
                 "billing API process imports no faust (nor the worker's wiring)",
                 "gaps: entry points on top, then web | routes | adapters, then app, then domain",
                 "gaps domain imports no I/O library and no I/O part of shared/",
                 "gaps use cases import no I/O library (no SQL, no Kafka, no HTTP)",
                 "gaps API process imports no faust (nor the worker's wiring)",
                 "intake: entry points on top, then web | adapters, then app, then domain",
                 "intake domain imports no I/O library and no I/O part of shared/",
                 "intake use cases import no I/O library (no SQL, no Kafka, no HTTP)",
                 "intake API process imports no faust (intake has no worker)",
                 "notifications: entry points on top, then web | routes | adapters, then app, then domain",
                 "notifications domain imports no I/O library and no I/O part of shared/",
                 "notifications use cases import no I/O library (no SQL, no Kafka, no HTTP)",
                 "notifications API process imports no faust (nor the worker's wiring)"):
        assert "".join(f"{name} KEPT".split()) in report, name
    assert "ignored imports" not in out.stdout  # no contract holds only by listing its exceptions


def lint_with_probe(package: Path, text: str) -> subprocess.CompletedProcess:
    """The contracts linted with a temporary module ``_contract_probe.py`` in ``package`` (its
    import lines ``text``), removed afterwards whatever happens."""
    probe = package / "_contract_probe.py"
    probe.write_text(text)
    try:
        return lint(REPO / ".importlinter")
    finally:
        probe.unlink()


def test_a_use_case_importing_sqlalchemy_or_an_adapter_breaks_the_contracts():
    out = lint_with_probe(REPO / "services" / "outreach" / "app",
                          "import sqlalchemy  # noqa\nfrom ..adapters import tables  # noqa\n")
    assert out.returncode != 0
    assert "services.outreach.app._contract_probe -> sqlalchemy" in out.stdout
    assert "services.outreach.app._contract_probe -> services.outreach.adapters" in out.stdout


def test_the_admissions_intake_gateway_writing_to_kafka_itself_breaks_the_contracts():
    out = lint_with_probe(REPO / "services" / "admissions" / "mllp",
                          "import shared.kafka  # noqa\nfrom ..adapters import dedupe  # noqa\n")
    assert out.returncode != 0
    assert "services.admissions.mllp._contract_probe -> shared.kafka" in out.stdout
    assert "services.admissions.mllp is not allowed to import services.admissions.adapters" in out.stdout


def test_a_billing_page_reaching_the_adapters_or_the_worker_breaks_the_contracts():
    out = lint_with_probe(REPO / "services" / "billing" / "web",
                          "from ..adapters import tables  # noqa\nfrom .. import worker  # noqa\n")
    assert out.returncode != 0
    assert "services.billing.web._contract_probe -> services.billing.worker" in out.stdout
    assert "services.billing.web is not allowed to import services.billing.adapters" in out.stdout


def test_a_gaps_use_case_reaching_sqlalchemy_or_the_adapters_breaks_the_contracts():
    out = lint_with_probe(REPO / "services" / "gaps" / "app",
                          "import sqlalchemy  # noqa\nfrom ..adapters import tables  # noqa\n")
    assert out.returncode != 0
    assert "services.gaps.app._contract_probe -> sqlalchemy" in out.stdout
    assert "services.gaps.app is not allowed to import services.gaps.adapters" in out.stdout


def test_an_intake_use_case_writing_sql_or_reaching_the_adapters_breaks_the_contracts():
    out = lint_with_probe(REPO / "services" / "intake" / "app",
                          "import sqlalchemy  # noqa\nfrom ..adapters import tables  # noqa\n")
    assert out.returncode != 0
    assert "services.intake.app._contract_probe -> sqlalchemy" in out.stdout
    assert "services.intake.app._contract_probe -> services.intake.adapters" in out.stdout


def test_a_notifications_use_case_writing_sql_or_reaching_the_adapters_breaks_the_contracts():
    out = lint_with_probe(REPO / "services" / "notifications" / "app",
                          "import sqlalchemy  # noqa\nfrom ..adapters import tables  # noqa\n")
    assert out.returncode != 0
    report = "".join(out.stdout.split())  # the longer module names wrap at the console's width
    assert "services.notifications.app._contract_probe->sqlalchemy" in report
    assert "services.notifications.appisnotallowedtoimportservices.notifications.adapters" in report
    assert "services.notifications.app._contract_probe->services.notifications.adapters.tables" in report
