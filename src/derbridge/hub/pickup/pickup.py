"""The scheduled pickup of score files (F7) for installations where the program system only drops them.

Every `score_pickup_every_s` the hub lists its source. A file is due when its name matches the pattern
(`SDCSE_*.csv`), does not start `Sent-` or `Error-`, and its checksum sidecar (`<name>.sha256`) is there (the
program system writes the sidecar last: without it the file may be incomplete). Each due file is copied to the
hub, checked against its sidecar, and taken into F7's file relay exactly as a file PUT to the hub is (its
columns checked, recorded, delivered to DERMS); once recorded, the source and its sidecar are renamed
`Sent-<name>`. A refused file (checksum, name or columns) is kept, recorded REJECTED with its reasons and
renamed `Error-<name>`; the next run takes whatever was not renamed. A crash between recording and renaming
is harmless: the next run finds the file recorded (the sender key is its name and checksum) and renames it.
Notifications (hub/notify/): a refusal at intake, the file's completion once DERMS has it, and "no file
found" for a run that found nothing due.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path

import structlog
from pydantic import BaseModel, ValidationError
from sqlalchemy.engine import Engine

from derbridge.config import Settings
from derbridge.errors import FileRefused
from derbridge.hub import messagelog
from derbridge.hub.context import current
from derbridge.hub.files_api import take_file
from derbridge.hub.flows.f7_scores import FILE_RELAYS
from derbridge.hub.flows.files import FileRelay
from derbridge.hub.notify.capture import no_file_found
from derbridge.hub.pickup.sources import Source, source_of
from derbridge.runtime.worker import Worker
from derbridge.tables.spec import CSV_TYPE
from derbridge.web.problems import field_errors
from derbridge.web.uploads import Upload

log = structlog.get_logger()
SENT, ERROR, SIDECAR = "Sent-", "Error-", ".sha256"


@dataclass
class PickupRun:
    """What one run did: the files taken (recorded, or recorded before), refused, and left waiting."""

    taken: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


def due(names: list[str], pattern: str) -> list[str]:
    """The files to take: matching, not renamed yet, their sidecar there; oldest name first."""
    present = set(names)
    return sorted(name for name in names if fnmatch(name, pattern) and not name.startswith((SENT, ERROR))
                  and not name.endswith(SIDECAR) and f"{name}{SIDECAR}" in present)


def pickup_once(engine: Engine, source: Source, relay: FileRelay, directory: Path, pattern: str) -> PickupRun:
    """One scheduled run over `source` into `relay`."""
    run = PickupRun()
    names = due(source.names(), pattern)
    if not names:
        no_file_found(engine, relay.flow, f"{pattern} in {source.describe()}", "the scheduled pickup found no file")
        return run
    for name in names:
        if _take_one(engine, source, relay, directory, name):
            run.taken.append(name)
        else:
            run.refused.append(name)
    return run


def _take_one(engine: Engine, source: Source, relay: FileRelay, directory: Path, name: str) -> bool:
    incoming = directory / "incoming" / f"pickup-{uuid.uuid4().hex}.part"
    try:
        size, sha256 = source.fetch(name, incoming)
        upload = Upload(incoming, size, sha256, CSV_TYPE)
        try:
            _check_sidecar(source, name, sha256)
            parameters = _parameters(relay, name)
            recorded = take_file(relay, parameters, f"pickup:{name}:{sha256}", upload, "csv", directory)
        except FileRefused as refused:
            _refuse(engine, source, relay, directory, name, upload, refused)
            return False
        for old in (name, f"{name}{SIDECAR}"):
            source.rename(old, f"{SENT}{old}")
        current().dispatcher.submit(recorded.to_deliver)
        log.info("pickup.taken", file=name, message=recorded.id, new=recorded.is_new)
        return True
    finally:
        incoming.unlink(missing_ok=True)


def _check_sidecar(source: Source, name: str, sha256: str) -> None:
    given = source.read_text(f"{name}{SIDECAR}").split()
    expected = given[0].lower() if given else ""
    if expected != sha256:
        raise FileRefused(422, "Checksum mismatch", f"{name}: the file's SHA-256 is {sha256}, its sidecar says "
                          f"{expected or 'nothing'}", [{"field": f"{name}{SIDECAR}", "type": "checksum_mismatch",
                                                        "message": f"expected {expected}, got {sha256}"}])


def _parameters(relay: FileRelay, name: str) -> BaseModel:
    try:
        return relay.parameters.model_validate({"fileName": name})
    except ValidationError as exc:
        errors = [{**error, "field": f"name.{error['field']}"} for error in field_errors(exc)]
        raise FileRefused(422, "Invalid file name", f"{name} is not a score file's name", errors) from exc


def _refuse(engine: Engine, source: Source, relay: FileRelay, directory: Path, name: str, upload: Upload,
            refused: FileRefused) -> None:
    kept = directory / "rejected" / f"{uuid.uuid4().hex[:8]}-{name}"
    kept.parent.mkdir(parents=True, exist_ok=True)
    upload.path.replace(kept)
    described = {"pickup": source.describe(), "name": name, "file": str(kept), "bytes": upload.size,
                 "sha256": upload.sha256}
    messagelog.record_rejected(engine, relay.flow, relay.kind, relay.source, relay.target,
                               json.dumps(described).encode(), refused.errors)
    for old in (name, f"{name}{SIDECAR}"):
        source.rename(old, f"{ERROR}{old}")
    log.warning("pickup.refused", file=name, errors=refused.errors)


class Pickup(Worker):
    def __init__(self, engine: Engine, source: Source, directory: Path, pattern: str, every_s: float) -> None:
        super().__init__("score-pickup", every_s)
        self.engine, self.source, self.directory, self.pattern = engine, source, directory, pattern

    def round(self) -> float:
        pickup_once(self.engine, self.source, FILE_RELAYS[0], self.directory, self.pattern)
        return self.poll_s


_running: Pickup | None = None


def start(settings: Settings, engine: Engine) -> None:
    """Start the scheduled pickup when a source is configured."""
    global _running
    if not settings.score_pickup_source:
        return
    _running = Pickup(engine, source_of(settings), settings.data_dir / "files" / "hub",
                      settings.score_pickup_pattern, settings.score_pickup_every_s)
    _running.start()


def stop() -> None:
    global _running
    if _running is not None:
        _running.stop()
        _running = None
