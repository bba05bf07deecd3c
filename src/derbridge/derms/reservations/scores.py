"""Each device's current score and eligibility, as the reservation engine reads them: the one place the score
set DERMS holds (F7, the program system's daily file) plugs in.

A score is the share, 0 to 1, of the kW its device type is expected to deliver that the device is expected to
deliver (its history of responding); eligibility is the program system's verdict on whether it may be called.
Until DERMS holds a score set, there are no rows here, and every device counts as score 1 and eligible.
"""

from __future__ import annotations

import polars as pl
from sqlalchemy.engine import Connection

SCORE_SCHEMA = {"head_end_system": pl.String, "nic_id": pl.String, "score": pl.Float64, "eligible": pl.Boolean}
DEFAULT_SCORE, DEFAULT_ELIGIBLE = 1.0, True


def device_scores(_connection: Connection) -> pl.DataFrame:
    """The current score set: head_end_system, nic_id, score, eligible (devices without a row take the
    defaults)."""
    return pl.DataFrame(schema=SCORE_SCHEMA)
