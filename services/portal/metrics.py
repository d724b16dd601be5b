"""The portal's Prometheus metrics. Labels are bounded sets; never a member id or a name."""

from __future__ import annotations

from prometheus_client import Counter

SIGNINS = Counter("portal_signins_total", "Member sign-in attempts by method and outcome", ["method", "outcome"])
# method: dev_code | oidc; outcome: ok | failed | locked | refused | not_a_member | provider_error
PAGE_READS = Counter("portal_page_reads_total", "Member page and API reads (each audited)", ["page"])
MESSAGES_SENT = Counter("portal_messages_sent_total", "Messages members sent to their care team", ["topic"])
REPLIES_RECEIVED = Counter("portal_replies_received_total", "Care-team replies added to members' threads")
PROJECTION_EVENTS = Counter("portal_projection_events_total", "Events applied to the portal's projection",
                            ["event_type"])
DENIED = Counter("portal_denied_total", "Requests refused: another member's record, no session, bad CSRF token",
                 ["reason"])
