"""Alembic per system, run programmatically: each system keeps its scripts in its own `migrations/` package."""

from __future__ import annotations

import threading
from importlib import resources

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine


def alembic_config(system: str, engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(resources.files(f"derbridge.{system}") / "migrations"))
    config.set_main_option("version_table", f"{system}_alembic_version")
    config.attributes["engine"] = engine
    return config


# Alembic's `op` and `context` are process-wide proxies: systems sharing a process migrate one at a time.
_alembic_lock = threading.Lock()


def upgrade(system: str, engine: Engine) -> str:
    """Bring the system's database to the newest schema; returns the revision now applied."""
    config = alembic_config(system, engine)
    with _alembic_lock:
        command.upgrade(config, "head")
    return current_revision(system, engine) or ""


def current_revision(system: str, engine: Engine) -> str | None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": f"{system}_alembic_version"})
        return context.get_current_revision()


def head_revision(system: str, engine: Engine) -> str | None:
    return ScriptDirectory.from_config(alembic_config(system, engine)).get_current_head()


def run_env(target_metadata: sa.MetaData) -> None:
    """The body of every system's migrations/env.py: online migrations on the engine we were handed."""
    from alembic import context

    config = context.config
    engine: Engine = config.attributes["engine"]
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            version_table=config.get_main_option("version_table") or "alembic_version",
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
