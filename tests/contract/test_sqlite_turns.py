"""SQLite's writers take turns in the process without sleeping on the file lock, and readers never wait for a
writer: what lets several threads of one system share one database file."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import sqlalchemy as sa

from derbridge.store.db import make_engine, reading


def counter_db(tmp_path: Path) -> sa.Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'turns.sqlite'}")
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE counter (n INTEGER)"))
        connection.execute(sa.text("INSERT INTO counter VALUES (0)"))
    return engine


def test_concurrent_read_then_write_transactions_all_commit_none_lost(tmp_path: Path) -> None:
    engine = counter_db(tmp_path)

    def increment(_: int) -> None:
        with engine.begin() as connection:
            n = connection.execute(sa.text("SELECT n FROM counter")).scalar_one()
            connection.execute(sa.text("UPDATE counter SET n = :n"), {"n": n + 1})

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(increment, range(400)))
    with reading(engine) as connection:
        assert connection.execute(sa.text("SELECT n FROM counter")).scalar_one() == 400


def test_a_reader_sees_the_last_commit_without_waiting_for_a_writer(tmp_path: Path) -> None:
    engine = counter_db(tmp_path)
    writing, release = threading.Event(), threading.Event()

    def slow_writer() -> None:
        with engine.begin() as connection:
            connection.execute(sa.text("UPDATE counter SET n = 99"))
            writing.set()
            release.wait(10)

    writer = threading.Thread(target=slow_writer)
    writer.start()
    writing.wait(10)
    started = time.monotonic()
    with reading(engine) as connection:
        seen = connection.execute(sa.text("SELECT n FROM counter")).scalar_one()
    waited = time.monotonic() - started
    release.set()
    writer.join()
    assert seen == 0 and waited < 1.0
    with reading(engine) as connection:
        assert connection.execute(sa.text("SELECT n FROM counter")).scalar_one() == 99


def test_a_failed_transaction_hands_the_turn_on(tmp_path: Path) -> None:
    engine = counter_db(tmp_path)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("UPDATE counter SET n = 5"))
            raise RuntimeError("changed my mind")
    except RuntimeError:
        pass
    with engine.begin() as connection:
        assert connection.execute(sa.text("SELECT n FROM counter")).scalar_one() == 0
