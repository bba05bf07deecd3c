"""Each dispatched device's outcome of an event (F11), from its dispatch answers and its telemetry. Pure: no I/O.

The first rule that holds decides, in this order:

- D1CN cancelled: DERMS released the device from the event after dispatching it (the event cancelled while in
  progress); a device that curtailed before it was released participated from its first curtailed quarter hour
  to the end of its last.
- D1ER error: no stage's dispatch reached the device (its head end could not be asked, or refused it: an
  unknown device), or its head end's telemetry could not be read; `errorMessage` says which.
- D1ND non-responsive: the device was off line at every dispatch, or reported no quarter hour CURTAILED.
- D1IO in-flight override: it curtailed, then its customer overrode the dispatch; the participation runs from
  its first curtailed quarter hour to the start of the first overridden one.
- D1SP successful participation: it curtailed and was not overridden; from its first curtailed quarter hour to
  the end of its last (a device that went off line mid-event participated until then).
"""

from __future__ import annotations

import polars as pl

from derbridge.derms.headend.model import ACCEPTED, CURTAILED, INTERVAL, OFFLINE, OVERRIDDEN

SUCCESSFUL, NON_RESPONSIVE, OVERRIDE, ERRORED, CANCELLED = "D1SP", "D1ND", "D1IO", "D1ER", "D1CN"
KEY = ["head_end_system", "nic_id"]
MESSAGE_LENGTH = 100
OUTCOME_SCHEMA = pl.Schema({"head_end_system": pl.String(), "nic_id": pl.String(), "outcome": pl.String(),
                            "start_at": pl.Datetime("us", "UTC"), "end_at": pl.Datetime("us", "UTC"),
                            "error_message": pl.String()})


def outcomes(devices: pl.DataFrame, answers: pl.DataFrame, telemetry: pl.DataFrame,
             unreachable: dict[str, str]) -> pl.DataFrame:
    """One outcome per device (OUTCOME_SCHEMA).

    devices: head_end_system, nic_id, withdrawn (released after its dispatch); answers: head_end_system, nic_id,
    result, message (one row per stage dispatched); telemetry: head_end_system, nic_id, interval_start, state
    (the event's window); unreachable: head ends whose telemetry could not be read, and why.
    """
    answered = answers.group_by(KEY).agg(
        accepted=(pl.col("result") == ACCEPTED).any(),
        offline_only=(pl.col("result") == OFFLINE).all(),
        why=pl.col("message").filter(~pl.col("result").is_in([ACCEPTED, OFFLINE])).first())
    reported = telemetry.group_by(KEY).agg(
        first_curtailed=pl.col("interval_start").filter(pl.col("state") == CURTAILED).min(),
        last_curtailed=pl.col("interval_start").filter(pl.col("state") == CURTAILED).max(),
        first_overridden=pl.col("interval_start").filter(pl.col("state") == OVERRIDDEN).min())
    lost = pl.DataFrame({"head_end_system": list(unreachable), "no_telemetry": list(unreachable.values())},
                        schema={"head_end_system": pl.String, "no_telemetry": pl.String})
    frame = (devices.join(answered, on=KEY, how="left").join(reported, on=KEY, how="left")
             .join(lost, on="head_end_system", how="left"))
    curtailed = pl.col("first_curtailed").is_not_null()
    overridden = curtailed & pl.col("first_overridden").is_not_null()
    outcome = (pl.when(pl.col("withdrawn")).then(pl.lit(CANCELLED))
               .when(~pl.col("accepted").fill_null(False) & ~pl.col("offline_only").fill_null(False))
               .then(pl.lit(ERRORED))
               .when(~pl.col("accepted").fill_null(False)).then(pl.lit(NON_RESPONSIVE))
               .when(pl.col("no_telemetry").is_not_null()).then(pl.lit(ERRORED))
               .when(~curtailed).then(pl.lit(NON_RESPONSIVE))
               .when(overridden).then(pl.lit(OVERRIDE))
               .otherwise(pl.lit(SUCCESSFUL)))
    message = (pl.when(pl.col("outcome") == CANCELLED).then(pl.lit("the event was cancelled in progress"))
               .when((pl.col("outcome") == ERRORED) & ~pl.col("accepted").fill_null(False))
               .then(pl.col("why").fill_null(pl.lit("the device was never dispatched")))
               .when(pl.col("outcome") == ERRORED).then(pl.lit("no telemetry: ") + pl.col("no_telemetry"))
               .when((pl.col("outcome") == NON_RESPONSIVE) & ~pl.col("accepted").fill_null(False))
               .then(pl.lit("off line when dispatched"))
               .when(pl.col("outcome") == NON_RESPONSIVE).then(pl.lit("no curtailment in its telemetry")))
    participated = pl.col("outcome").is_in([SUCCESSFUL, OVERRIDE]) | ((pl.col("outcome") == CANCELLED) & curtailed)
    return (frame.with_columns(outcome=outcome)
            .select(*KEY, "outcome",
                    start_at=pl.when(participated).then(pl.col("first_curtailed")),
                    end_at=pl.when(pl.col("outcome") == OVERRIDE).then(pl.col("first_overridden"))
                    .when(participated).then(pl.col("last_curtailed") + INTERVAL),
                    error_message=message.str.slice(0, MESSAGE_LENGTH))
            .cast(OUTCOME_SCHEMA)
            .sort(KEY))
