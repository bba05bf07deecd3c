"""The reference DERMS: network model, device registry, head-end gateway, events, reservations, outcomes."""
