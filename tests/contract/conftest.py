"""Each system's database, empty and migrated to the newest schema, on the back end under test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from derbridge.store.db import make_engine
from derbridge.store.migrations import upgrade


def migrated(system: str, database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    upgrade(system, engine)
    yield engine
    engine.dispose()


@pytest.fixture
def dacs_db(database_url: str) -> Iterator[Engine]:
    yield from migrated("dacs", database_url)


@pytest.fixture
def derms_db(database_url: str) -> Iterator[Engine]:
    yield from migrated("derms", database_url)


@pytest.fixture
def hub_db(database_url: str) -> Iterator[Engine]:
    yield from migrated("hub", database_url)
