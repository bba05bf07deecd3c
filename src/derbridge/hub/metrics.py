"""The hub's Prometheus metrics, on its own registry (the three systems may share a process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

registry = CollectorRegistry()
received = Counter("derbridge_hub_messages_received", "Inbound messages by flow, kind and result",
                   ["flow", "kind", "result"], registry=registry)
delivered = Counter("derbridge_hub_deliveries", "Delivery attempts by kind and outcome",
                    ["kind", "outcome"], registry=registry)
