"""A fresh broker always formats: the KRaft cluster id never reads as an option.

About one random id in 64 starts with ``-`` in base64url; StorageTool then read it as an option
("argument --cluster-id/-t: expected one argument") and a fresh clone's first broker failed to
start. The id generator now draws again (as Kafka's ``Uuid.randomUuid`` does), and the id is
passed as ``--cluster-id=<id>`` so even such an id could not be mistaken for an option.
"""

from __future__ import annotations

import base64
import itertools
import shutil

import pytest

from tests.support.infra import kafkactl


def test_an_id_that_would_start_with_a_dash_is_drawn_again() -> None:
    ctl = kafkactl()
    dash_first = bytes([0xF8]) + bytes(15)  # 0xF8 >> 2 == 62, base64url's '-'
    assert base64.urlsafe_b64encode(dash_first).decode().startswith("-")
    draws = iter([dash_first, dash_first, bytes(range(16))])
    cid = ctl._cluster_id(lambda: next(draws))
    assert not cid.startswith("-")
    assert cid == base64.urlsafe_b64encode(bytes(range(16))).decode().rstrip("=")
    assert len(cid) == 22


def test_many_random_ids_are_valid() -> None:
    ctl = kafkactl()
    ids = [ctl._cluster_id() for _ in range(4000)]  # ~60 would have started with '-' before
    assert all(len(i) == 22 and not i.startswith("-") for i in ids)
    assert len(set(ids)) == len(ids)


@pytest.mark.skipif(not shutil.which("java"), reason="needs Java 17 for Kafka's StorageTool")
def test_storage_tool_formats_with_an_id_that_starts_with_a_dash(tmp_path) -> None:
    """The real StorageTool accepts the way we pass the id, even for a leading '-'."""
    ctl = kafkactl()
    if not ctl.jars_present():
        ctl.resolve()
    s = dict(ctl.settings(), data=tmp_path / "kafka", port=19092, controller_port=19093)
    props = ctl.write_config(s)
    dash_id = next(
        c for c in (base64.urlsafe_b64encode(bytes([0xF8, i]) + bytes(14)).decode().rstrip("=") for i in itertools.count())
        if c.startswith("-")
    )
    ctl.format_storage(s, props, cluster_id=dash_id)
    meta = (tmp_path / "kafka" / "logs" / "meta.properties").read_text()
    assert f"cluster.id={dash_id}" in meta
