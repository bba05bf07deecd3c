"""Each device's current score and eligibility, as the reservation engine reads them: the score set in force
(F7, the program system's daily file; derms/scores/).

The engine wants a share, 0 to 1, of the kW its device type is expected to deliver. The program system's
control score is 0 to 100 under its default rule set (docs/scores.md), so the share is score / 100, at most 1.
A device scored under two subscriptions counts once, by its best row (eligible first, then the highest score).
Devices the set does not hold, and every device while DERMS holds no set, count as score 1 and eligible.
"""

from __future__ import annotations

import polars as pl
from sqlalchemy.engine import Connection

from derbridge.derms.scores.sets import current_scores

SCORE_SCHEMA = {"head_end_system": pl.String, "nic_id": pl.String, "score": pl.Float64, "eligible": pl.Boolean}
DEFAULT_SCORE, DEFAULT_ELIGIBLE = 1.0, True
FULL_SCORE = 100.0
"""The program system's score of a device expected to deliver all its type's kW."""


def device_scores(connection: Connection) -> pl.DataFrame:
    """The current score set: head_end_system, nic_id, score (the share, 0 to 1), eligible (devices without a
    row take the defaults)."""
    return best_per_device(current_scores(connection)).select(
        "head_end_system", "nic_id", (pl.col("score") / FULL_SCORE).clip(0.0, 1.0).alias("score"), "eligible")


def best_per_device(scores: pl.DataFrame) -> pl.DataFrame:
    """One row per device: its eligible row first, then its highest score."""
    return (scores.sort(["eligible", "score"], descending=True)
            .unique(["head_end_system", "nic_id"], keep="first", maintain_order=True))
