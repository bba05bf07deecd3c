"""The score-set loader: a worker that takes up a load cut short by a restart (from its first row) and discards
a set cut short while it was still being checked (sets.to_load); loads in the normal course run in the thread
each file's intake starts (sets.accept)."""

from __future__ import annotations

import structlog
from sqlalchemy.engine import Engine

from derbridge.derms.scores import sets
from derbridge.runtime.worker import Worker

log = structlog.get_logger()


class ScoreSetLoader(Worker):
    def __init__(self, engine: Engine, poll_s: float = 1.0) -> None:
        super().__init__("score-sets", poll_s)
        self.engine = engine

    def round(self) -> float:
        try:
            set_id = sets.to_load(self.engine)
        except Exception:  # the database is away for a moment: try again at the next poll
            log.exception("score_set.poll_error")
            return self.poll_s
        if set_id is None:
            return self.poll_s
        log.debug("score_set.loading", set_id=set_id)
        try:
            state = sets.load(self.engine, set_id)
        except Exception as exc:
            log.exception("score_set.failed", set_id=set_id)
            sets.fail(self.engine, set_id, f"{type(exc).__name__}: {exc}")
            return self.poll_s
        log.debug("score_set.loaded", set_id=set_id, state=state)
        return 0.0
