"""Dispatch and per-device outcomes (F11): each stage's reserved devices dispatched through the head ends at the
stage's start, their outcomes worked out from telemetry once the event is completed and sent to the program
system, and the event's performance against each device's own baseline."""
