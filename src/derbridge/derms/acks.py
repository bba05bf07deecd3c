"""DERMS's acknowledgements: the MsgAck it answers each message with at once (the vendor's DERMS envelope), the
ack of a program-rules (F2) or aggregator (F3) sync it sends later, and its own message numbers.

A refusal names a message in DERMS's own category, as the program system's acknowledgement API takes them
(numbers, not codes): 201–203 an enrollment sync for a customer the CIS does not know
(registry/enrollment_sync.py), 204 a program whose rules conflict (programs/rules.py), 211 an aggregator that
ends before it starts (aggregators/service_providers.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from derbridge.clock import iso_z, utcnow

MESSAGE_CATEGORY = 90200
"""DERMS's own messages (ours: the vendor publishes none for these refusals)."""
RULES_CONFLICT = 204
AGGREGATOR_ENDS_BEFORE_START = 211


def msg_ack(message_id: str, code: str) -> dict[str, Any]:
    now = iso_z(utcnow())
    return {"ackType": "SUCCESS", "whenISO": now,
            "responses": {"response": [{"id": message_id, "value": message_id, "responseCode": code,
                                        "responseTimeISO": now, "dacsMessageId": message_id}]}}


def refusal(number: int, message: str) -> dict[str, Any]:
    """One error of a sync ack: a message of DERMS's category and its text."""
    return {"messageCategory": MESSAGE_CATEGORY, "messageNumber": number, "message": message[:2000]}


def sync_ack(dacs_message_id: str, when: datetime, errors: list[dict[str, Any]]) -> dict[str, Any]:
    """The ack of an F2 or F3 sync: ERROR when DERMS refused it, naming each refusal."""
    return {"dacsMessageId": dacs_message_id, "ackType": "ERROR" if errors else "SUCCESS", "whenISO": iso_z(when),
            "errors": errors}
