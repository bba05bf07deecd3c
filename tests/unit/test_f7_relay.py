"""F7's file relay at the hub: the score file's name and computedAt give each other, and the file goes to DERMS
under its name with the checksum it arrived with."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from pydantic import ValidationError

from derbridge.hub.flows.f7_scores import FILE_RELAYS, ScoreFile
from derbridge.hub.flows.files import StoredFile

RELAY = FILE_RELAYS[0]


def test_the_program_systems_query_gives_the_file_name_and_a_pickups_name_gives_computed_at() -> None:
    sent = ScoreFile.model_validate({"runId": "46426765371708", "computedAt": "2026-11-23T02:00:00.000Z",
                                     "rows": "3"})
    picked = ScoreFile.model_validate({"fileName": "SDCSE_V1_20261123T020000Z.csv"})
    assert sent.fileName == "SDCSE_V1_20261123T020000Z.csv"
    assert picked.computedAt == "2026-11-23T02:00:00.000Z"
    assert RELAY.business_key(sent) == RELAY.business_key(picked) == "SDCSE_V1_20261123T020000Z.csv"


@pytest.mark.parametrize("query", [
    {},
    {"computedAt": "2026-11-23T02:00:00.000Z", "fileName": "SDCSE_V1_20261124T020000Z.csv"},
    {"fileName": "scores-20261123.csv"},
    {"computedAt": "2026-13-23T02:00:00.000Z"},
    {"computedAt": "2026-11-23T02:00:00Z"},
])
def test_a_query_without_a_time_or_whose_name_and_time_disagree_is_refused(query: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        ScoreFile.model_validate(query)


def test_the_file_goes_to_derms_under_its_name_with_the_checksum_it_arrived_with() -> None:
    parameters = ScoreFile.model_validate({"runId": "46426765371708", "computedAt": "2026-11-23T02:00:00.000Z",
                                           "rows": "1000000"})
    received = StoredFile(Path("/data/received.csv"), "a" * 64, 10, "text/csv", 1_000_000)
    mapped = StoredFile(Path("/data/outbound.parquet"), "b" * 64, 5, "application/vnd.apache.parquet", 1_000_000)
    message = RELAY.new_message(parameters, "device-scores:46426765371708", received, mapped)
    path = urlsplit(message.outbound_path)
    assert path.path == "/files/device-scores"
    assert parse_qs(path.query) == {"fileName": ["SDCSE_V1_20261123T020000Z.csv"], "runId": ["46426765371708"],
                                    "rows": ["1000000"], "fileSha256": ["a" * 64]}
    assert len(message.outbound_path) <= 200, "the message log's column"
    assert message.business_key == "SDCSE_V1_20261123T020000Z.csv"
