"""Events as operators give them to DERMS's API and as it answers: the models, checked field by field."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

EventType = Literal["ECONOMIC", "EMERGENCY", "RELIABILITY", "DEVICE-TEST"]
EVENT_TYPES: tuple[str, ...] = ("ECONOMIC", "EMERGENCY", "RELIABILITY", "DEVICE-TEST")
ZoneKind = Literal["ALL", "SUBSTATIONS", "FEEDERS"]
LONGEST_EVENT = timedelta(hours=24)
MOST_ZONE_IDS = 1000


class StageIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(min_length=1, max_length=40)
    start: AwareDatetime
    end: AwareDatetime


class ZoneIn(BaseModel):
    """Where the event applies: the whole network, or the devices served by some substations or feeders."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    kind: ZoneKind = "ALL"
    ids: list[str] = Field(default_factory=list, max_length=MOST_ZONE_IDS)

    @model_validator(mode="after")
    def ids_match_kind(self) -> ZoneIn:
        if self.kind == "ALL" and self.ids:
            raise ValueError("a zone of kind ALL names no substations or feeders")
        if self.kind != "ALL" and not self.ids:
            raise ValueError(f"a zone of kind {self.kind} names at least one id")
        if any(not each or len(each) > 30 for each in self.ids):
            raise ValueError("each zone id is 1 to 30 characters")
        return self


class EventIn(BaseModel):
    """A new event. Without stages, the window is split by default (events/stages.py)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(min_length=1, max_length=100)
    eventType: EventType
    programCode: str = Field(min_length=1, max_length=30)
    targetKw: float = Field(gt=0, le=10_000_000)
    start: AwareDatetime
    end: AwareDatetime
    zone: ZoneIn = Field(default_factory=ZoneIn)
    stages: list[StageIn] | None = Field(default=None, max_length=20)
    needsApproval: bool = False

    @field_validator("end")
    @classmethod
    def after_start(cls, value: datetime, info: ValidationInfo) -> datetime:
        start = info.data.get("start")
        if start is not None and value <= start:
            raise ValueError(f"end {value.isoformat()} must be after start {start.isoformat()}")
        if start is not None and value - start > LONGEST_EVENT:
            raise ValueError(f"an event lasts at most {LONGEST_EVENT}")
        return value


class Approval(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    approvedBy: str = Field(min_length=1, max_length=100)


class Cancellation(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    reason: str = Field(min_length=1, max_length=254)
