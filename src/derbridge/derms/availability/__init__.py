"""Whether devices may take part in an event: the rules engine, the fleet judged through storage, and the
participation it counts."""
