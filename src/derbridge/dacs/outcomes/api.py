"""The program system's outcome endpoint (F11), the vendor's cross-system resource the hub calls."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from derbridge.clock import utcnow
from derbridge.config import Settings
from derbridge.runtime.system import Runtime
from derbridge.tables.endpoint import take_table_file
from derbridge.tables.spec import FileFormat
from derbridge.web.batch import Answer, add_single_and_batch
from derbridge.web.problems import RejectionKeeper
from derbridge.web.uploads import Upload
from derbridge.web.wire import UtcDateTime

if TYPE_CHECKING:
    from derbridge.dacs.outcomes.outcomes import Outcome

OUTCOME_PATH = "/rest/apis/cross/service/programEventParticipation/postEventOutcome"
OUTCOME_FILE_PATH = "/rest/files/eventOutcomes"
MAX_OUTCOMES = 1000


class OutcomeIn(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    eventExternalIdentifier: str = Field(min_length=1, max_length=60)
    headEndSystem: str = Field(min_length=1, max_length=50)
    nicId: str = Field(min_length=1, max_length=100)
    outcome: Literal["D1SP", "D1ND", "D1IO", "D1ER", "D1CN"]
    participationStartDateTime: UtcDateTime | None = None
    participationEndDateTime: UtcDateTime | None = None
    errorMessage: str | None = Field(default=None, max_length=100)



class PostEventOutcome(BaseModel):
    """The documented body: up to 1,000 outcomes a message."""

    model_config = ConfigDict(extra="ignore")
    postOutcomeList: list[OutcomeIn] = Field(min_length=1, max_length=MAX_OUTCOMES)

    def outcomes(self) -> list[Outcome]:
        from derbridge.dacs.outcomes.outcomes import Outcome  # polars loads only when outcomes arrive

        return [Outcome(item.eventExternalIdentifier, item.headEndSystem, item.nicId, item.outcome,
                        item.participationStartDateTime, item.participationEndDateTime, item.errorMessage or None)
                for item in self.postOutcomeList]


def outcome_router(runtime: Runtime, keep_rejected: RejectionKeeper) -> APIRouter:
    router = APIRouter(tags=["cross-system"])

    def post_event_outcome(body: PostEventOutcome) -> Answer:
        from derbridge.dacs.outcomes.outcomes import apply_outcomes

        applied = apply_outcomes(runtime.db, body.outcomes(), utcnow())
        return Answer(200, {"result": "applied", **applied.describe()})

    add_single_and_batch(router, OUTCOME_PATH, PostEventOutcome, post_event_outcome, keep_rejected,
                         summary="DERMS's per-device event outcomes (F11), applied set-based", status_code=200)
    return router


def outcome_file_router(runtime: Runtime, settings: Settings, keep_rejected: RejectionKeeper) -> APIRouter:
    router = APIRouter(tags=["cross-system"])
    files = settings.data_dir / "files" / "dacs"

    @router.put(OUTCOME_FILE_PATH, summary="DERMS's outcomes of events as one file (F11): checked whole, applied "
                "all or nothing", responses={422: {"description": "Invalid file: each problem's column and rows"}})
    async def event_outcomes(request: Request) -> dict[str, object]:
        def apply(upload: Upload, fmt: FileFormat) -> dict[str, object]:
            from derbridge.dacs.outcomes.files import apply_file  # polars loads only when a file arrives

            applied = apply_file(runtime.db, upload.path, fmt, utcnow())
            return {"fileId": request.query_params.get("fileId"), "result": "applied", **applied.describe()}

        return await take_table_file(request, files, settings.max_upload_bytes, apply, keep_rejected)

    return router
