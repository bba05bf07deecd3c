"""The MsgAck DERMS answers each message with at once (the vendor's DERMS acknowledgement envelope)."""

from __future__ import annotations

from typing import Any

from derbridge.clock import iso_z, utcnow


def msg_ack(message_id: str, code: str) -> dict[str, Any]:
    now = iso_z(utcnow())
    return {"ackType": "SUCCESS", "whenISO": now,
            "responses": {"response": [{"id": message_id, "value": message_id, "responseCode": code,
                                        "responseTimeISO": now, "dacsMessageId": message_id}]}}
