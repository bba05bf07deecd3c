"""F1 — service-point network locations, DERMS → program system, as one file per export.

DERMS exports, for its service points, the transformer, feeder and substation serving each one from a date
on: every current location (full) or the records written since its previous export (delta), one Parquet (or
CSV) file per export, however many service points. The hub checks the columns and renames them to the program
system's: the transformer is its network location's facility, the date its start date. Idempotency key:
DERMS's id for the file; the program system also applies each exportId once, in the order DERMS made them.
The documentation names the flow (a "transfer") and the program system's record, not the file: chosen here.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from derbridge.hub.flows.files import FileRelay
from derbridge.tables.spec import FileColumn

EXPORT_ID_PATTERN = r"^[A-Za-z0-9._:-]+$"
ID = 30


class NetworkExport(BaseModel):
    """The query string of a network export."""

    model_config = ConfigDict(extra="ignore")
    exportType: Literal["full", "delta"]
    exportId: str = Field(min_length=1, max_length=40, pattern=EXPORT_ID_PATTERN)
    asOf: date
    previousExportId: str | None = Field(default=None, min_length=1, max_length=40, pattern=EXPORT_ID_PATTERN)
    """The export DERMS made before this one (none for the first of a chain)."""


FILE_RELAYS = [
    FileRelay(
        flow="F1", kind="network-locations", source="derms", target="dacs", name="networkLocations",
        target_path="/rest/files/networkLocations",
        columns=(FileColumn("servicePointId", max_length=ID), FileColumn("transformerId", max_length=ID),
                 FileColumn("feederId", max_length=ID), FileColumn("substationId", max_length=ID),
                 FileColumn("effectiveDate", "date")),
        to_target={"servicePointId": "cisServicePointId", "transformerId": "facilityId", "feederId": "feederId",
                   "substationId": "substationId", "effectiveDate": "startDate"},
        parameters=NetworkExport,
        business_key=lambda p: p.exportId,
        keys=lambda p: {"exportId": p.exportId, "exportType": p.exportType},
        summary="A network export from DERMS: service points' transformer, feeder and substation",
    ),
]
