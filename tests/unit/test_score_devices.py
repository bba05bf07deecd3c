"""Scoring a fleet once per distinct set of inputs gives every device what scoring it alone gives."""

from __future__ import annotations

import polars as pl

from derbridge.dacs.scores import runs, score_file
from derbridge.dacs.scores.formula import Condition, Rule, compile_rules
from derbridge.dacs.scores.frames import score_frame
from derbridge.dacs.scores.inputs import EXTRA_INPUTS, VARIABLES, WHOLE_NUMBERS
from derbridge.dacs.scores.rule_sets import Scoring, default_scoring
from derbridge.dacs.scores.variables import IDENTITY

CONSTANT = Scoring("constant", 1, compile_rules([Rule("SC", "7")], [Condition("1 > 2", "NEVER")],
                                               extra_inputs=EXTRA_INPUTS))


def fleet() -> pl.DataFrame:
    """Twelve devices, most sharing their inputs with another, some inputs unknown; not in device order."""
    n = pl.int_range(12, eager=True)
    return pl.select(
        device_id=pl.format("D{}", 100 - n), nic_id=pl.format("N{}", n), head_end_system=pl.lit("ECOCLOUD"),
        program_code=pl.when(n < 9).then(pl.lit("SMART")).otherwise(pl.lit("FLAT")),
        subscription_id=pl.format("U{}", n),
        **{name: pl.when((n == 4) & (name in ("BR", "DE"))).then(None).otherwise(n % 3).cast(pl.Float64)
           for name in VARIABLES})


def scored_alone(scoring: Scoring, devices: pl.DataFrame) -> pl.DataFrame:
    return score_frame(scoring.rule_set, devices).select(
        *IDENTITY, "score", "eligible", "reason",
        score_file.components(scoring.rule_set, WHOLE_NUMBERS).alias("components"))


def test_each_device_scores_as_it_would_alone_in_its_order() -> None:
    devices = fleet()

    scored = runs.score_devices(devices, {"FLAT": CONSTANT}, default_scoring())

    expected = pl.concat([scored_alone(CONSTANT, devices.filter(pl.col("program_code") == "FLAT")),
                          scored_alone(default_scoring(), devices.filter(pl.col("program_code") != "FLAT"))])
    assert scored.equals(expected)
