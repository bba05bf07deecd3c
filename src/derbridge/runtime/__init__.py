"""What a system runs beside its database: outbox senders to the hub, the worker thread, periodic tasks,
group commit, and the retry policy the hub shares."""
