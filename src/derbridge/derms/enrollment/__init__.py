"""F4, DERMS's side: aggregators' enrollment batches, forwarded to the hub, and their per-record results."""
