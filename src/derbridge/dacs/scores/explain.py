"""Why a device scores what it does: a rule set tried on one device now, step by step, and the device's latest
stored score with the components the score file gave it.

A trial reads the device's variables with the same queries as a run (variables.py, for one device) and
evaluates the rule set one step at a time (evaluate.py), which gives the values a run computes for it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from derbridge.clock import iso_z, utcnow
from derbridge.dacs.schema import controllable_devices, device_scores, program_subscriptions
from derbridge.dacs.scores import runs, score_file
from derbridge.dacs.scores.evaluate import Value, evaluate
from derbridge.dacs.scores.formula import Kind, RuleSet
from derbridge.dacs.scores.inputs import VARIABLES, WHOLE_NUMBERS
from derbridge.dacs.scores.rule_sets import default_scoring, scoring_by_program, scoring_named
from derbridge.dacs.scores.variables import device_variables
from derbridge.errors import NotFound
from derbridge.store.db import reading

NOT_SCORED = "not an ACTIVE device of an ACTIVE subscription of an ACTIVE program"


def trial(engine: Engine, device_id: str, rule_set_name: str | None = None,
          now: datetime | None = None) -> dict[str, Any]:
    """What the device would score now under `rule_set_name` (default: its program's rule set), and why: every
    variable, every step, the score as the file would give it, eligibility and reason, and the components."""
    now = (now or utcnow()).replace(microsecond=0)
    found = device_variables(engine, now, device_id)
    if found.is_empty():
        raise NotFound("scored device", device_id, NOT_SCORED)
    device = found.row(0, named=True)
    with reading(engine) as connection:
        scoring = (scoring_named(connection, rule_set_name) if rule_set_name is not None
                   else scoring_by_program(connection).get(device["program_code"]) or default_scoring())
    evaluation = evaluate(scoring.rule_set, {name: device[name] for name in scoring.rule_set.inputs})
    values: dict[str, Value] = {**evaluation.inputs, **evaluation.steps}
    return {"deviceId": device_id, "nicId": device["nic_id"], "headEndSystem": device["head_end_system"],
            "programCode": device["program_code"], "subscriptionId": device["subscription_id"],
            "ruleSet": scoring.name, "ruleSetVersion": scoring.version, "asOf": iso_z(now),
            "variables": {name: device[name] for name in VARIABLES}, "inputs": evaluation.inputs,
            "steps": evaluation.steps, "score": pl.select(score_file.file_score(pl.lit(evaluation.score))).item(),
            "eligible": evaluation.eligible,
            "reason": evaluation.reason, "components": _components_text(scoring.rule_set, values)}


def latest(engine: Engine, device_id: str) -> dict[str, Any]:
    """The device's score from the latest run, its components one by one."""
    with reading(engine) as connection:
        row = connection.execute(
            sa.select(device_scores, controllable_devices.c.subscription_id, program_subscriptions.c.program_code)
            .join(controllable_devices, controllable_devices.c.device_id == device_scores.c.device_id)
            .join(program_subscriptions,
                  program_subscriptions.c.subscription_id == controllable_devices.c.subscription_id)
            .where(device_scores.c.device_id == device_id)).first()
    run = runs.latest_done(engine)
    if row is None or run is None:
        raise NotFound("device score", device_id, f"no run has scored it: it is {NOT_SCORED}, or no run is done")
    return {"deviceId": device_id, "subscriptionId": row.subscription_id, "programCode": row.program_code,
            "score": row.score, "eligible": row.eligible, "reason": row.reason, "runId": run["runId"],
            "computedAt": run["computedAt"], "fileName": run["fileName"], "components": row.components,
            "values": parse_components(row.components)}


def latest_scores(engine: Engine, after: str, limit: int) -> list[dict[str, Any]]:
    """The latest run's scores by device id, `limit` of them from the first device id after `after`."""
    with reading(engine) as connection:
        rows = connection.execute(
            sa.select(device_scores.c.device_id, device_scores.c.score, device_scores.c.eligible,
                      device_scores.c.reason).where(device_scores.c.device_id > after)
            .order_by(device_scores.c.device_id).limit(limit)).all()
    return [{"deviceId": row.device_id, "score": row.score, "eligible": row.eligible, "reason": row.reason}
            for row in rows]


def parse_components(text: str) -> dict[str, float | bool | None]:
    """The components column read back: numbers, true/false, or None where the value was unknown."""
    values: dict[str, float | bool | None] = {}
    for pair in text.split(";") if text else []:
        name, _, value = pair.partition("=")
        values[name] = None if value == "" else value == "true" if value in ("true", "false") else float(value)
    return values


def _components_text(rule_set: RuleSet, values: dict[str, Value]) -> str:
    """The components column for one device's values, written by the file's own expression."""
    names = score_file.component_names(rule_set)
    frame = pl.DataFrame({name: [values.get(name)] for name, _ in names},
                         schema={name: pl.Boolean if kind is Kind.CONDITION else pl.Float64 for name, kind in names})
    return str(frame.select(score_file.components(rule_set, WHOLE_NUMBERS)).item())
