"""Notifications metrics. Labels are bounded: channel, topic, outcome, status class, and the
subscription id — subscriptions are created by ops/admins only and capped by
``MAX_SUBSCRIPTIONS`` (default 500), so the label set stays bounded; never a member or an
endpoint URL (it may carry a tenant's name).

The backlog gauges are read from the database by every worker (``notifications_backlog`` etc.
are the same figures from each: aggregate with ``max``); counters and histograms are counted
by the process that made the attempt, after it was recorded.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

DELIVERIES_CREATED = Counter("notifications_deliveries_created_total", "Deliveries owed (one per subscription and event)",
                             ["topic"])
ATTEMPTS = Counter("notifications_attempts_total", "Delivery attempts by outcome",
                   ["subscription", "channel", "outcome"])  # outcome: delivered | failed | dead
ATTEMPT_SECONDS = Histogram(
    "notifications_attempt_seconds", "Time of one attempt (request to response or ACK)", ["subscription", "channel"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
DELIVERY_LATENCY = Histogram(
    "notifications_delivery_latency_seconds", "Event recorded on the platform to its acknowledged delivery",
    ["channel"], buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600))
BACKLOG = Gauge("notifications_backlog", "Deliveries owed and not yet acknowledged", ["subscription"])
OLDEST = Gauge("notifications_oldest_undelivered_seconds", "Age of the oldest owed delivery", ["subscription"])
DEAD = Gauge("notifications_dead_letters", "Deliveries given up (dead-lettered)", ["subscription"])
STATUS = Gauge("notifications_subscription_status", "1 for the subscription's current status",
               ["subscription", "channel", "status"])
CONTROLS = Counter("notifications_control_messages_total", "Handshakes and heartbeats sent", ["kind", "outcome"])
OVERDUE_FOUND = Counter("notifications_tasks_overdue_total", "Task-overdue notifications made")
DEAD_PUBLISHED = Counter("notifications_dead_letters_published_total",
                         "Dead letters published to notifications.dead_letters (confirmed by the broker)")
