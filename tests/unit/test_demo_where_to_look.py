"""The demo's closing "where to look" names the ports the processes really listen on."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from carectl.demo import where_to_look
from carectl.processes import Supervisor


def test_where_to_look_shifts_every_address_by_the_port_offset(tmp_path):
    out = io.StringIO()
    specs = Supervisor({"PORT_OFFSET": "300"}, tmp_path).specs
    where_to_look(Console(file=out, width=400), specs, port_offset=300, var_dir=Path("/srv/ccp"))
    text = out.getvalue()
    assert "http://127.0.0.1:8330/ " in text and "127.0.0.1:2875" in text
    assert "admissions-worker:8311/metrics" in text and "/srv/ccp/logs" in text
    assert ":8030" not in text and ":2575" not in text
