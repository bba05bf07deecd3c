"""The hub's Prometheus metrics, on its own registry (the three systems may share a process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

registry = CollectorRegistry()
received = Counter("derbridge_hub_messages_received", "Inbound messages by flow, kind and result",
                   ["flow", "kind", "result"], registry=registry)
delivered = Counter("derbridge_hub_deliveries", "Delivery attempts by kind and outcome",
                    ["kind", "outcome"], registry=registry)
correlations = Counter("derbridge_hub_correlations", "Replies paired with their requests, by flow and state "
                       "(ANSWERED, LATE, UNMATCHED)", ["flow", "state"], registry=registry)
status_check_round_trip = Histogram(
    "derbridge_hub_status_check_round_trip_seconds", "F6: from the status check passing the hub to its result",
    buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300), registry=registry)
notifications = Counter("derbridge_hub_notifications", "Notification sends by channel and outcome (SENT, RETRY, "
                        "FAILED)", ["channel", "outcome"], registry=registry)
