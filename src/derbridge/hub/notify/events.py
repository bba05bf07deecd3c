"""What the hub notifies about: each kind of event, the trigger that switches it on per flow, and its audience.

Technical recipients hear of faults someone must fix (a dead letter, a mapping failure, a refusal at intake,
no file where one was due); business recipients hear of what the target refused and of work completed.
"""

from __future__ import annotations

from dataclasses import dataclass

TECHNICAL, BUSINESS = "technical", "business"
AUDIENCES = (TECHNICAL, BUSINESS)
ON_ERROR, ON_COMPLETION, ON_NO_FILE = "error", "completion", "no-file"
TRIGGERS = (ON_ERROR, ON_COMPLETION, ON_NO_FILE)

DEAD_LETTER, MAPPING_FAILURE, INTAKE_REFUSED = "dead-letter", "mapping-failure", "intake-refused"
DECLINED, COMPLETION, NO_FILE = "declined", "completion", "no-file"
TEST = "test"
"""Not an event: the kind of the test message `derbridge doctor` sends each recipient."""


@dataclass(frozen=True)
class EventKind:
    name: str
    trigger: str
    audience: str
    happened: str
    """Says what happened to one message, after its business key: "… was dead-lettered"."""
    advice: str
    """What the reader can do about it."""


EVENT_KINDS: dict[str, EventKind] = {kind.name: kind for kind in (
    EventKind(DEAD_LETTER, ON_ERROR, TECHNICAL, "was dead-lettered: the target refused it for good, or it kept "
              "failing until its retries ran out",
              "Look at it with `derbridge messages --status DEAD --flow {flow}`; once the cause is fixed, "
              "`derbridge resubmit ID…`."),
    EventKind(MAPPING_FAILURE, ON_ERROR, TECHNICAL, "could not be mapped (a lookup has no row for it) and was "
              "kept as a dead letter",
              "Add the missing row (`derbridge lookups set …`), then `derbridge resubmit ID…`."),
    EventKind(INTAKE_REFUSED, ON_ERROR, TECHNICAL, "was refused at intake: the sender's payload was invalid",
              "The sender must correct it; the payload is kept: `derbridge messages --status REJECTED --flow {flow}`."),
    EventKind(DECLINED, ON_ERROR, BUSINESS, "was refused by the target for a business reason",
              "See the target's reason in `derbridge messages --key KEY`; correct the data at its source."),
    EventKind(COMPLETION, ON_COMPLETION, BUSINESS, "was completed", "Nothing to do."),
    EventKind(NO_FILE, ON_NO_FILE, TECHNICAL, "was due, but no file was found",
              "Check that the sender produced the file and where it put it."),
)}
