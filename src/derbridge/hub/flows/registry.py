"""The table of contents of the hub's flows: what each one is, and the relays it contributes."""

from __future__ import annotations

from dataclasses import dataclass

from derbridge.hub.flows import (
    f1_network,
    f2_rules,
    f3_aggregator,
    f4_enrollment_request,
    f5_bulk_sync,
    f5_enrollment_sync,
    f6_status_check,
    f7_scores,
    f8_events,
    f9_reservations,
    f10_cancellation,
    f11_outcomes,
    f12_optouts,
    f13_unavailability,
)
from derbridge.hub.flows.files import FileRelay
from derbridge.hub.flows.relay import Inbound, Leg, Relay


@dataclass(frozen=True)
class Flow:
    code: str
    name: str
    direction: str
    status: str


FLOWS = [
    Flow("F1", "Service-point network location", "DERMS → program system", "working: full and delta files"),
    Flow("F2", "Program rules and constraints (+ ack)", "program system → DERMS", "working"),
    Flow("F3", "Energy aggregator details (+ ack)", "program system → DERMS", "working"),
    Flow("F4", "Enrollment request", "DERMS → program system", "working"),
    Flow("F5", "Enrollment sync (+ ack)", "program system → DERMS", "working"),
    Flow("F6", "Device status check (async result)", "both", "working"),
    Flow("F7", "Device score and eligibility file", "program system → DERMS", "working: one file per score run"),
    Flow("F8", "Event, stages and status", "DERMS → program system", "working: stages, then status changes"),
    Flow("F9", "Device reservation", "DERMS → program system", "working: a CSV device list, sent in chunks"),
    Flow("F10", "Pre-event cancellation", "DERMS → program system", "working: beside lifecycle F1CN"),
    Flow("F11", "Per-device event outcome", "DERMS → program system",
         "working: from dispatch; 1,000 a message or a file"),
    Flow("F12", "Customer event opt-out", "program system → DERMS", "working: dropped and backfilled"),
    Flow("F13", "Customer unavailability", "program system → DERMS",
         "working: versioned windows, dropped and backfilled"),
    Flow("F14", "Common error handling", "hub", "working: retries, dead letter, resubmit, notifications"),
]

RELAYS: list[Relay] = [*f2_rules.RELAYS, *f3_aggregator.RELAYS, *f5_enrollment_sync.RELAYS, *f6_status_check.RELAYS,
                       *f8_events.RELAYS, *f10_cancellation.RELAYS, *f11_outcomes.RELAYS, *f12_optouts.RELAYS,
                       *f13_unavailability.RELAYS]
INBOUND: list[Inbound] = [*RELAYS, f4_enrollment_request.INTAKE]
LEGS: dict[str, Leg] = {leg.kind: leg for leg in [*(relay.leg for relay in RELAYS), *f4_enrollment_request.LEGS]}
LEGS.update({leg.kind: leg for leg in f12_optouts.LEGS})  # DERMS's ERROR ack is a refusal, not a delivery

FILE_RELAYS: list[FileRelay] = [*f1_network.FILE_RELAYS, *f5_bulk_sync.FILE_RELAYS, *f7_scores.FILE_RELAYS,
                                *f9_reservations.FILE_RELAYS,
                                *f11_outcomes.FILE_RELAYS]
LEGS.update({leg.kind: leg for relay in FILE_RELAYS for leg in relay.legs})
