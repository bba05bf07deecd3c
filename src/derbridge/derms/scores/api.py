"""Score sets over HTTP: the score file from the hub (F7), and the operator's views of the sets and of a
device's current score."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from derbridge.clock import iso_z, utcnow
from derbridge.config import Settings
from derbridge.derms.scores import sets
from derbridge.derms.scores.files import name_and_time
from derbridge.derms.services import DermsServices
from derbridge.errors import FileRefused, NotFound
from derbridge.store.db import reading
from derbridge.tables.score_file_names import COMPUTED_AT_PATTERN, NAME_PATTERN
from derbridge.web.problems import RejectionKeeper
from derbridge.web.uploads import receive_upload

Limit = Annotated[int, Query(ge=1, le=1000)]
SHA256 = r"^[0-9a-f]{64}$"


def integration_router(services: DermsServices, settings: Settings, keep_rejected: RejectionKeeper) -> APIRouter:
    router = APIRouter(tags=["integration"])
    runtime = services.runtime

    @router.put("/files/device-scores", status_code=202,
                summary="The program system's score file (F7, layout v1): checked whole, then loaded as a new set")
    async def receive_score_file(
            request: Request,
            fileName: Annotated[str | None, Query(pattern=NAME_PATTERN)] = None,  # noqa: N803
            computedAt: Annotated[str | None, Query(pattern=COMPUTED_AT_PATTERN)] = None,  # noqa: N803
            fileSha256: Annotated[str | None, Query(pattern=SHA256)] = None,  # noqa: N803
            runId: Annotated[str | None, Query(pattern=r"^[0-9]{1,14}$")] = None,  # noqa: N803
            rows: Annotated[int | None, Query(ge=0)] = None,
    ) -> JSONResponse:
        name, at = name_and_time(fileName, computedAt)
        upload = await receive_upload(request, services.files_dir / "incoming", settings.max_upload_bytes)
        try:
            created, found = await run_in_threadpool(sets.accept, runtime.db, services.files_dir, upload.path,
                                                     name, at, fileSha256 or upload.sha256, runId, rows)
        except FileRefused as refused:
            kept = services.files_dir / "rejected" / f"{name}-{upload.sha256[:12]}"
            kept.parent.mkdir(parents=True, exist_ok=True)
            upload.path.replace(kept)
            described = f"score file {name}: kept as {kept} ({upload.size} bytes, sha256 {upload.sha256})"
            await keep_rejected(request, described.encode(), refused.errors)
            raise
        finally:
            upload.path.unlink(missing_ok=True)
        if created:
            services.wake_score_sets()
        code = "RECEIVED" if created else "DUPLICATE"
        answer = {"ackType": "SUCCESS", "whenISO": iso_z(utcnow()), "responseCode": code, "scoreSet": found}
        return JSONResponse(answer, status_code=202 if created else 200)

    return router


def operator_router(services: DermsServices) -> APIRouter:
    router = APIRouter(prefix="/api", tags=["operator"])
    runtime = services.runtime

    @router.get("/score-sets", summary="Score sets, the latest computed first; `inForce` marks the set in force")
    def list_score_sets(limit: Limit = 100) -> list[dict[str, Any]]:
        return sets.list_all(runtime.db, limit)

    @router.get("/score-sets/{setId}", summary="One score set (`current`: the set in force)")
    def one_score_set(setId: str) -> dict[str, Any]:  # noqa: N803
        found = sets.find(runtime.db, setId)
        if found is None:
            raise NotFound("score set", setId)
        return found

    @router.get("/devices/{headEndSystem}/{nicId}/score",
                summary="A device's score and eligibility in the set in force, one row per subscription")
    def device_score(headEndSystem: str, nicId: str) -> list[dict[str, Any]]:  # noqa: N803
        with reading(runtime.db) as connection:
            found = sets.device_score(connection, headEndSystem, nicId)
        if not found:
            raise NotFound("score of device", f"{headEndSystem}/{nicId}")
        return found

    return router
