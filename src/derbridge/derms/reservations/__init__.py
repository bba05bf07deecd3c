"""Reservations: the devices DERMS chooses for an event (scores, rules, communication, declared unavailability,
opt-outs, network headroom, rotation) with a ranked standby list, and the device list it sends the program
system (F9)."""
