"""Pure rules: the outbound (SSRF) policy, filters, retry policy, webhook signatures (checked with
the standardwebhooks library), HL7 forward and ACKs."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks import Webhook

from services.notifications.domain import hl7_forward, webhooks
from services.notifications.domain.endpoints import EndpointRefused, OutboundPolicy
from services.notifications.domain.filters import FilterError, Filters, parse_criteria
from services.notifications.domain.model import Audience
from services.notifications.domain.retry import Outcome, RetryPolicy, next_probe

PROD = OutboundPolicy.parse(require_tls=True, ports="443", networks="")
DEV = OutboundPolicy.parse(require_tls=False, ports="*", networks="127.0.0.1/32")


@pytest.mark.parametrize("address", ["127.0.0.1", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254",
                                     "100.64.0.1", "0.0.0.0", "224.0.0.1", "::1", "fe80::1", "fc00::1",
                                     "::ffff:127.0.0.1", "::ffff:8.8.8.8", "255.255.255.255"])
def test_non_public_addresses_are_refused(address):
    assert not PROD.address_allowed(address)


def test_public_addresses_pass_and_the_allow_list_opens_exactly_its_networks():
    assert PROD.address_allowed("93.184.216.34") and PROD.address_allowed("2606:4700::1111")
    assert DEV.address_allowed("127.0.0.1") and not DEV.address_allowed("127.0.0.2")


def test_one_bad_address_among_the_resolved_refuses_the_host():
    with pytest.raises(EndpointRefused):
        PROD.check_resolved(["93.184.216.34", "10.0.0.7"])
    with pytest.raises(EndpointRefused):
        PROD.check_resolved([])


@pytest.mark.parametrize("url", ["http://example.org/h", "https://example.org:8080/h", "https://localhost/h",
                                 "https://metadata.google.internal/", "https://user:pw@example.org/",
                                 "https://10.0.0.1/h", "https://[::1]/h", "gopher://example.org/", "https:///x",
                                 "https://example.org/h#frag", "https://example.org:99999/"])
def test_production_urls_must_be_https_on_allowed_ports_without_credentials(url):
    with pytest.raises(EndpointRefused):
        PROD.check_url(url, ("https", "http"))


def test_a_good_production_url_passes():
    target = PROD.check_url("https://ehr.example.org/fhir/notify", ("https", "http"))
    assert (target.host, target.port, target.tls) == ("ehr.example.org", 443, True)


def test_filters_parse_from_fhir_criteria_and_refuse_what_they_cannot_apply():
    f = parse_criteria(["Encounter?practice=P001,P002", "Encounter?facility=MERCY&patient=Patient/M1"], "Encounter")
    assert f == Filters(practices=frozenset({"P001", "P002"}), facilities=frozenset({"MERCY"}),
                        patients=frozenset({"M1"}))
    a = Audience(member_id="M1", practice_id="P002", facility="MERCY")
    assert f.matches(a) and not f.matches(Audience(member_id="M1", practice_id="P003", facility="MERCY"))
    for bad in ("Patient?practice=P1", "Encounter?ward=4W", "Encounter?practice:not=P1", "Encounter",
                "Encounter?practice="):
        with pytest.raises(FilterError):
            parse_criteria([bad], "Encounter")
    assert parse_criteria(f.criteria("Encounter"), "Encounter") == f


def test_an_owned_subscription_is_confined_to_its_owner():
    assert Filters().confined_to("P001", None).practices == {"P001"}
    with pytest.raises(FilterError):
        Filters(practices=frozenset({"P002"})).confined_to("P001", None)


@given(st.integers(min_value=1, max_value=60), st.floats(min_value=0, max_value=1, exclude_max=True))
def test_backoff_is_exponential_with_jitter_and_capped(failures, r):
    policy = RetryPolicy(backoff_initial_s=1, backoff_max_s=60)
    step = min(60, 2 ** (failures - 1))
    rng = random.Random()
    rng.random = lambda: r  # type: ignore[method-assign]
    delay = policy.backoff(failures, rng)
    assert step / 2 <= delay <= step


def test_a_delivery_gives_up_at_max_attempts_or_max_age():
    policy = RetryPolicy(max_attempts=5, max_age_s=3600)
    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert policy.gives_up(4, t0, t0 + timedelta(minutes=5)) is None
    assert "5 attempts" in policy.gives_up(5, t0, t0 + timedelta(minutes=5))
    assert "max age" in policy.gives_up(2, t0, t0 + timedelta(hours=2))


def test_retry_after_sets_a_floor_and_410_is_gone():
    out = Outcome.http(429, 0.01, "120")
    assert out.retry_after_s == 120 and not out.ok
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert next_probe(now, 1, RetryPolicy(), out) >= now + timedelta(seconds=120)
    assert Outcome.http(410, 0.01).gone and Outcome.http(204, 0.01).ok and not Outcome.http(302, 0.01).ok


def test_signatures_verify_with_the_standardwebhooks_library_for_each_secret_in_force():
    old, new = webhooks.new_secret(), webhooks.new_secret()
    body = webhooks.body("encounter-start", datetime.now(timezone.utc), {"event_id": "x"})
    ts = int(datetime.now(timezone.utc).timestamp())
    headers = webhooks.headers([webhooks.secret_bytes(new), webhooks.secret_bytes(old)], "evt-1", ts, body)
    for secret in (old, new):
        assert Webhook(secret).verify(body, headers)["type"] == "encounter-start"
    with pytest.raises(Exception):
        Webhook(webhooks.new_secret()).verify(body, headers)
    with pytest.raises(ValueError):
        webhooks.sign(b"k" * 32, "has.dot", ts, body)


MSG = ("MSH|^~\\&|EPICADT|MERCY|CCP|CCP|20260302140500||ADT^A01^ADT_A01|MSG0001|P|2.5.1\r"
       "EVN|A01|20260302140500\rPID|1||100234^^^MERCY^MR||Example^Ada\rPV1|1|I|4W^412^A^MERCY\rNK1|1|Example^Bob\r"
       "DG1|1||J18.9^Pneumonia^I10")


def test_hl7_forward_keeps_the_message_or_a_subset_and_msh10():
    whole, control = hl7_forward.prepare(MSG)
    assert control == "MSG0001" and whole == MSG + "\r"
    subset, _ = hl7_forward.prepare(MSG, segments=("EVN", "PID", "PV1"), receiving_application="EHR",
                                    receiving_facility="P001")
    segs = subset.strip("\r").split("\r")
    assert [s[:3] for s in segs] == ["MSH", "EVN", "PID", "PV1"]
    assert segs[0].split("|")[4:6] == ["EHR", "P001"] and segs[0].split("|")[9] == "MSG0001"


def test_acks_are_accepted_only_when_positive_and_echoing_msh10():
    aa = hl7_forward.parse_ack(b"\x0bMSH|^~\\&|R|R|S|S|2026||ACK|1|P|2.5.1\rMSA|AA|MSG0001\x1c\r")
    assert aa.accepts("MSG0001") and not aa.accepts("MSG0002")
    ae = hl7_forward.parse_ack(b"MSH|^~\\&|R|R|S|S|2026||ACK|1|P|2.5.1\rMSA|AE|MSG0001|bad PV1\r")
    assert not ae.accepts("MSG0001") and ae.text == "bad PV1"
    assert hl7_forward.parse_ack(b"garbage").code is None
