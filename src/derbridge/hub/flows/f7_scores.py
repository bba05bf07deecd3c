"""F7 — device scores and eligibility, program system → DERMS, as one file per score run.

The program system scores every device of its ACTIVE programs daily and writes the score file (layout v1,
`SDCSE_V1_<YYYYMMDDTHHMMSSZ>.csv`, docs/wire.md); it PUTs the file to the hub, or drops it with its checksum
sidecar where the hub's pickup takes it (hub/pickup/). The hub checks the layout's columns, keeps the names
(DERMS takes the program system's), and delivers the file to DERMS with the file's name and its SHA-256 as it
arrived: the vendor's idempotency key for F7 is the file name plus checksum, so DERMS applies a file once
however often it is sent, and refuses another file under a name it has already taken.
"""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlencode

from pydantic import BaseModel, ConfigDict, Field, model_validator

from derbridge.hub import messagelog
from derbridge.hub.flows.files import FileRelay, StoredFile
from derbridge.tables.score_file_names import COMPUTED_AT_PATTERN, NAME_PATTERN, computed_at_of, name_of
from derbridge.tables.spec import FileColumn


class ScoreFile(BaseModel):
    """The score file's query string: when it was computed (and the run), or its name (a pickup knows only the
    name); each gives the other."""

    model_config = ConfigDict(extra="ignore")
    computedAt: str | None = Field(default=None, pattern=COMPUTED_AT_PATTERN)
    fileName: str | None = Field(default=None, pattern=NAME_PATTERN)
    runId: str | None = Field(default=None, pattern=r"^[0-9]{1,14}$")
    rows: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def name_and_time_agree(self) -> ScoreFile:
        if self.computedAt is None and self.fileName is None:
            raise ValueError("give computedAt or fileName")
        named = name_of(self.computedAt) if self.computedAt is not None else None
        if self.fileName is None:
            self.fileName = named
        elif named is not None and named != self.fileName:
            raise ValueError(f"fileName {self.fileName} is not the file of computedAt {self.computedAt} ({named})")
        if self.computedAt is None:
            assert self.fileName is not None
            self.computedAt = computed_at_of(self.fileName)
        return self


def _text(name: str, length: int | None = None) -> FileColumn:
    return FileColumn(name, max_length=length)


COLUMNS = (_text("deviceId", 12), _text("nicId", 100), _text("headEndSystem", 50), _text("programCode", 30),
           _text("subscriptionId", 14), _text("score"), _text("eligible"), _text("reason", 30), _text("computedAt"),
           _text("components"))
"""Layout v1's columns, as text: DERMS checks every value (derms/scores/files.py)."""


class ScoreFileRelay(FileRelay):
    """The generic file relay, delivering with the file's name (which gives its computedAt) and the checksum of
    the file as the program system wrote it."""

    def new_message(self, parameters: BaseModel, sender_key: str, received: StoredFile,
                    mapped: StoredFile) -> messagelog.NewMessage:
        message = super().new_message(parameters, sender_key, received, mapped)
        query = {**parameters.model_dump(exclude_none=True, exclude={"computedAt"}), "fileSha256": received.sha256}
        return replace(message, outbound_path=f"{self.target_path}?{urlencode(query)}")


FILE_RELAYS: list[FileRelay] = [
    ScoreFileRelay(
        flow="F7", kind="device-scores", source="dacs", target="derms", name="deviceScores",
        target_path="/files/device-scores", columns=COLUMNS,
        to_target={column.name: column.name for column in COLUMNS}, parameters=ScoreFile,
        business_key=lambda p: p.fileName, keys=lambda p: {"fileName": p.fileName, **({"runId": p.runId}
                                                                                       if p.runId else {})},
        summary="The program system's score file (layout v1): each device's score and eligibility",
    ),
]
