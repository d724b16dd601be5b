#!/usr/bin/env python3
"""Writes dashboards/care-coordination.json (the provisioned Grafana dashboard).

Edit the panel list here and re-run; the JSON is committed so Grafana needs no build step.
"""

import json
from pathlib import Path

DS = {"type": "prometheus", "uid": "prometheus"}
panels = []
y = 0
pid = 0


def row(title):
    global y, pid
    pid += 1
    panels.append({"type": "row", "title": title, "id": pid, "collapsed": False,
                   "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}, "panels": []})
    y += 1


def ts(title, exprs, unit="short", w=8, x=0, h=8, kind="timeseries"):
    global pid
    pid += 1
    panels.append({
        "type": kind, "title": title, "id": pid, "datasource": DS,
        "gridPos": {"h": h, "w": w, "x": x, "y": y},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "targets": [{"refId": chr(65 + i), "datasource": DS, "expr": e, "legendFormat": lf}
                    for i, (e, lf) in enumerate(exprs)],
    })


def line(*specs):
    global y
    x = 0
    for s in specs:
        ts(*s["args"], x=x, **s.get("kw", {}))
        x += s.get("kw", {}).get("w", 8)
    y += 8


def p(*args, **kw):
    return {"args": args, "kw": kw}


row("Ingest")
line(
    p("ADT messages by trigger", [("sum by (trigger) (rate(admissions_messages_total[1m]))", "{{trigger}}")], "reqps"),
    p("ACK codes", [("sum by (ack_code) (rate(admissions_messages_total[1m]))", "{{ack_code}}")], "reqps"),
    p("ACK latency p50 / p99", [
        ("histogram_quantile(0.5, sum by (le) (rate(admissions_ack_latency_seconds_bucket[5m])))", "p50"),
        ("histogram_quantile(0.99, sum by (le) (rate(admissions_ack_latency_seconds_bucket[5m])))", "p99")], "s"),
)
line(
    p("Admit-to-alert latency p50 / p99", [
        ("histogram_quantile(0.5, sum by (le) (rate(admissions_admit_to_alert_seconds_bucket[5m])))", "p50"),
        ("histogram_quantile(0.99, sum by (le) (rate(admissions_admit_to_alert_seconds_bucket[5m])))", "p99")], "s"),
    p("Claims ingested", [("sum by (format, outcome) (rate(intake_claims_ingested_total[5m]))", "{{format}} {{outcome}}")], "reqps"),
    p("Census by facility", [("sum by (facility) (admissions_census)", "{{facility}}")], "short"),
)
row("Stream health")
line(
    p("Consumer lag", [("sum by (group, topic) (ccp_consumer_lag)", "{{group}} {{topic}}")], "short"),
    p("Events processed", [("sum by (consumer, outcome) (rate(ccp_consumer_events_total[1m]))", "{{consumer}} {{outcome}}")], "ops"),
    p("Dead letters", [("sum by (consumer, topic) (rate(ccp_dead_letters_total[5m]))", "{{consumer}} {{topic}}")], "ops"),
)
row("Care")
line(
    p("Open gaps by measure", [("sum by (measure) (gaps_open)", "{{measure}}")], "short"),
    p("Tasks by queue and status", [("sum by (queue, status) (outreach_tasks_open)", "{{queue}} {{status}}")], "short"),
    p("Overdue tasks", [("sum by (queue) (outreach_tasks_overdue)", "{{queue}}")], "short"),
)
row("Notifications out")
line(
    p("Backlog per subscription", [("max by (subscription) (notifications_backlog)", "{{subscription}}")], "short"),
    p("Oldest undelivered", [("max by (subscription) (notifications_oldest_undelivered_seconds)", "{{subscription}}")], "s"),
    p("Delivery success rate (15m)", [
        ("sum by (subscription) (rate(notifications_attempts_total{outcome=\"delivered\"}[15m])) / "
         "clamp_min(sum by (subscription) (rate(notifications_attempts_total[15m])), 1e-9)", "{{subscription}}")],
      "percentunit"),
)
line(
    p("Attempt latency p99 per subscription", [
        ("histogram_quantile(0.99, sum by (le, subscription) (rate(notifications_attempt_seconds_bucket[5m])))",
         "{{subscription}}")], "s"),
    p("Event to delivery p50 / p99", [
        ("histogram_quantile(0.5, sum by (le) (rate(notifications_delivery_latency_seconds_bucket[5m])))", "p50"),
        ("histogram_quantile(0.99, sum by (le) (rate(notifications_delivery_latency_seconds_bucket[5m])))", "p99")], "s"),
    p("Attempts by outcome / subscriptions in error", [
        ("sum by (outcome) (rate(notifications_attempts_total[1m]))", "{{outcome}}"),
        ("sum(max by (subscription) (notifications_subscription_status{status=\"error\"}))", "in error")], "ops"),
)
row("Money")
line(
    p("PMPM fees accrued", [("sum by (contract) (billing_accrued_cents{account=\"pmpm_fee\"}) / 100", "{{contract}}")], "currencyUSD"),
    p("Bonus estimates", [("sum by (contract) (billing_accrued_cents{account=\"bonus_estimate\"}) / 100", "{{contract}}")], "currencyUSD"),
    p("Member months", [("sum by (contract) (billing_member_months)", "{{contract}}")], "short"),
)

dash = {
    "uid": "care-coordination", "title": "Care coordination platform", "schemaVersion": 39, "version": 1,
    "time": {"from": "now-1h", "to": "now"}, "refresh": "10s", "tags": ["ccp"], "timezone": "browser",
    "panels": panels, "templating": {"list": []}, "annotations": {"list": []},
}
out = Path(__file__).parent / "dashboards" / "care-coordination.json"
out.write_text(json.dumps(dash, indent=2) + "\n")
print(out)
