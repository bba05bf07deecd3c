"""An event's stages: the default split of its window, or stages an operator enters, checked. Pure: no I/O.

Default split: ramp-up an eighth of the window, sustain three quarters, ramp-down an eighth, each boundary on
a whole minute (a two-hour event: 15, 90 and 15 minutes). A window shorter than half an hour is one stage,
sustain. Entered stages must follow one another without gap or overlap from the event's start to its end.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from derbridge.errors import InvalidInput

RAMP_UP, SUSTAIN, RAMP_DOWN = "RAMP_UP", "SUSTAIN", "RAMP_DOWN"
RAMP_SHARE = 1 / 8
SHORTEST_SPLIT = timedelta(minutes=30)
MAX_STAGES = 20


@dataclass(frozen=True)
class Stage:
    name: str
    start: datetime
    end: datetime


def default_stages(start: datetime, end: datetime) -> list[Stage]:
    """Ramp-up, sustain and ramp-down over the window (one sustain stage for a short window)."""
    if end - start < SHORTEST_SPLIT:
        return [Stage(SUSTAIN, start, end)]
    ramp = timedelta(minutes=round((end - start).total_seconds() / 60 * RAMP_SHARE))
    return [Stage(RAMP_UP, start, start + ramp), Stage(SUSTAIN, start + ramp, end - ramp),
            Stage(RAMP_DOWN, end - ramp, end)]


def checked_stages(stages: list[Stage], start: datetime, end: datetime) -> list[Stage]:
    """The entered stages unchanged, or InvalidInput naming every bad one as `stages.N.start|end|name`."""
    problems: dict[str, str] = {}
    if not stages or len(stages) > MAX_STAGES:
        raise InvalidInput({"stages": f"give 1 to {MAX_STAGES} stages, or none for the default split"})
    expected_start = start
    for index, stage in enumerate(stages):
        if not stage.name.strip():
            problems[f"stages.{index}.name"] = "a stage needs a name"
        if stage.start != expected_start:
            where = "the event's start" if index == 0 else f"stage {index - 1}'s end"
            problems[f"stages.{index}.start"] = f"must be {where}, {expected_start.isoformat()}"
        if stage.end <= stage.start:
            problems[f"stages.{index}.end"] = f"must be after the stage's start, {stage.start.isoformat()}"
        expected_start = stage.end
    if stages[-1].end != end and f"stages.{len(stages) - 1}.end" not in problems:
        problems[f"stages.{len(stages) - 1}.end"] = f"the last stage must end with the event, {end.isoformat()}"
    if problems:
        raise InvalidInput(problems)
    return stages
