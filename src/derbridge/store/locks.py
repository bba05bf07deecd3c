"""Writers of one kind of data, one at a time, inside their transaction.

A network change or an applied network export reads records and writes new ones that must not overlap what
another writer is writing at the same moment. On PostgreSQL the transaction takes an advisory lock named
after the data; SQLite's transactions already take the database's write lock at BEGIN (store/db.py).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection


def one_writer_at_a_time(connection: Connection, name: str) -> None:
    """Wait for, then hold until the transaction ends, the lock on `name`."""
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": name})
