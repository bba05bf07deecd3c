"""The cross-system calls the hub makes for events (F8, F9, F10), as the vendor documents them.

Ids are kept up to 60 characters here (the vendor allows 120); date-times are read as UTC (`UtcDateTime`).
`releasedDeviceList` is derbridge's own (docs/wire.md, "Deviations"): devices DERMS dropped from a reservation.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from derbridge.web.wire import UtcDateTime

Category = Literal["X1DT", "X1EC", "X1EM", "X1RE"]
Action = Literal["X1SD", "X1IP", "F1CO", "F1CN"]
EXTERNAL_ID = 60
MOST_DEVICES_PER_CALL = 10_000


class Cross(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class ProgramEventIn(Cross):
    """Create Program Event: one stage of a DERMS event."""

    eventExternalIdentifier: str = Field(min_length=1, max_length=EXTERNAL_ID)
    externalIdentifier: str = Field(min_length=1, max_length=EXTERNAL_ID)
    programExternalIdentifier: str = Field(min_length=1, max_length=30)
    programEventCategory: Category
    startDateTime: UtcDateTime
    endDateTime: UtcDateTime

    @model_validator(mode="after")
    def ends_after_it_starts(self) -> ProgramEventIn:
        if self.endDateTime <= self.startDateTime:
            raise ValueError("endDateTime must be after startDateTime")
        return self


class LifecycleIn(Cross):
    """Action Program Event: a status change of every program event of a DERMS event."""

    eventExternalIdentifier: str = Field(min_length=1, max_length=EXTERNAL_ID)
    action: Action
    cancelReason: str | None = Field(default=None, max_length=254)


class PreEventCancellationIn(Cross):
    """Cancel Program Event (the releases before lifecycle F1CN): the event and every participation cancelled."""

    eventExternalIdentifier: str = Field(min_length=1, max_length=EXTERNAL_ID)
    cancelMessage: str | None = Field(default=None, max_length=100)


class DeviceIn(Cross):
    headEndSystem: str = Field(min_length=1, max_length=50)
    nicId: str = Field(min_length=1, max_length=100)
    reservationStartDateTime: UtcDateTime | None = None
    reservationEndDateTime: UtcDateTime | None = None


class ReleasedDeviceIn(Cross):
    headEndSystem: str = Field(min_length=1, max_length=50)
    nicId: str = Field(min_length=1, max_length=100)


class ReserveDeviceIn(Cross):
    """Reserve Device: devices reserved for an upcoming event (the event created if missing)."""

    eventExternalIdentifier: str = Field(min_length=1, max_length=EXTERNAL_ID)
    eventType: Category | None = None
    eventStartDateTime: UtcDateTime
    eventEndDateTime: UtcDateTime
    deviceList: list[DeviceIn] = Field(default_factory=list, max_length=MOST_DEVICES_PER_CALL)
    releasedDeviceList: list[ReleasedDeviceIn] = Field(default_factory=list, max_length=MOST_DEVICES_PER_CALL)

    @model_validator(mode="after")
    def some_devices_in_a_window(self) -> ReserveDeviceIn:
        if self.eventEndDateTime <= self.eventStartDateTime:
            raise ValueError("eventEndDateTime must be after eventStartDateTime")
        if not self.deviceList and not self.releasedDeviceList:
            raise ValueError("deviceList is empty: a reservation names at least one device")
        return self
