"""One engine factory for SQLite and PostgreSQL, so every system runs the same code on both."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine


def normalise_url(url: str) -> str:
    """Let users write postgresql://; we drive it with psycopg 3."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def make_engine(url: str) -> Engine:
    """An engine tuned for its back end: SQLite in WAL mode with a busy timeout, PostgreSQL pooled."""
    url = normalise_url(url)
    if is_sqlite(url):
        path = url.split(":///", 1)[1] if ":///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                                  pool_size=20, max_overflow=40)
        writer = WriterTurn()
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        sa.event.listen(engine, "begin", writer.begin)
        sa.event.listen(engine, "commit", writer.commit)
        sa.event.listen(engine, "rollback", writer.rollback)
        return engine
    # Sessions in UTC: a timestamp without a zone, or a date taken from one, means the same on every host.
    return sa.create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True,
                            connect_args={"options": "-c timezone=UTC"})


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (see WriterTurn)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


class WriterTurn:
    """SQLite transactions of one process take turns through a lock of its own, then BEGIN IMMEDIATE.

    IMMEDIATE takes SQLite's write lock at BEGIN, so a read-then-write never fails on lock upgrade. Left to
    SQLite alone, threads waiting for that lock poll it, sleeping up to 100 ms between tries: under load most
    of a system's time went to those sleeps. A Python lock hands the turn over the moment the holder commits.
    SQLite's own busy timeout still covers other processes on the same file.
    """

    def __init__(self, timeout_s: float = 30.0) -> None:
        self._lock = threading.Lock()
        self.timeout_s = timeout_s

    def begin(self, connection: Any) -> None:
        if connection.get_execution_options().get(READS_ONLY):
            connection.exec_driver_sql("BEGIN")  # a read snapshot: WAL readers never wait for writers
            return
        if not self._lock.acquire(timeout=self.timeout_s):
            raise sa.exc.OperationalError("BEGIN IMMEDIATE", None, TimeoutError(
                f"no turn to write to the database within {self.timeout_s:g} s"))
        connection.info[_HOLDS_TURN] = True
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            self._release(connection)
            raise

    def commit(self, connection: Any) -> None:
        """Commit now (SQLAlchemy's own commit then finds nothing to do) and hand the turn over."""
        try:
            connection.connection.dbapi_connection.commit()
        finally:
            self._release(connection)

    def rollback(self, connection: Any) -> None:
        try:
            connection.connection.dbapi_connection.rollback()
        finally:
            self._release(connection)

    def _release(self, connection: Any) -> None:
        if connection.info.pop(_HOLDS_TURN, False):
            self._lock.release()


_HOLDS_TURN = "derbridge.holds_writer_turn"
READS_ONLY = "derbridge_reads_only"


def reading(engine: Engine) -> Connection:
    """A connection for reads: on SQLite it waits for no writer (use engine.begin() for anything that writes)."""
    return engine.connect().execution_options(**{READS_ONLY: True})
