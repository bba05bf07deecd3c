"""F3 mapping: the program system's aggregator sync becomes a message DERMS accepts, and back."""

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from derbridge.derms.aggregators.service_providers import AggregatorMessage
from derbridge.hub.flows.f3_aggregator import DacsAggregatorSync, to_derms
from derbridge.hub.flows.wire import DermsSyncAck, sync_ack_to_dacs
from derbridge.hub.lookups import Lookups

SAMPLE = {
    "syncRequestId": "12345678901234", "serviceProviderId": "998877665544", "serviceProviderType": "DER_AGGREGATOR",
    "name": "EcoCloud", "status": "ACTIVE", "startDate": "2026-01-01", "endDate": "2026-12-31",
    "contact": {"name": "Dana", "email": "dana@example.org", "phone": "+1 555 0100"},
    "externalReferenceId": "ECO-1", "externalSystem": "ECOCLOUD",
    "programOfferings": [{"programCode": "SMARTSTAT"}, {"programCode": "EVSAVER"}],
}

NO_LOOKUPS = Lookups.of([])


def test_sync_maps_field_by_field_to_the_derms_aggregator_message() -> None:
    mapped = to_derms(DacsAggregatorSync.model_validate(SAMPLE), NO_LOOKUPS)
    assert mapped == {
        "dacsMessageId": "12345678901234", "aggregatorId": "998877665544", "aggregatorName": "EcoCloud",
        "status": "Active", "effectiveStartDateTimeISO": "2026-01-01T00:00:00.000Z",
        "effectiveEndDateTimeISO": "2026-12-31T00:00:00.000Z", "contactName": "Dana",
        "contactEmail": "dana@example.org", "contactPhone": "+1 555 0100", "externalReferenceId": "ECO-1",
        "externalSystem": "ECOCLOUD", "programCodes": ["SMARTSTAT", "EVSAVER"],
    }


def test_an_error_ack_becomes_has_error_with_numeric_exception_info() -> None:
    ack = DermsSyncAck.model_validate({
        "dacsMessageId": "1", "ackType": "ERROR", "whenISO": "2026-01-01T06:00:00+06:00",
        "errors": [{"messageCategory": 90200, "messageNumber": 211, "message": "x" * 400}]})
    mapped = sync_ack_to_dacs(ack, NO_LOOKUPS)
    assert mapped["syncRequestId"] == "1" and mapped["hasError"] is True
    assert mapped["receivedDateTimeISO"] == "2026-01-01T00:00:00.000Z"
    [info] = mapped["exceptionInfo"]
    assert (info["messageCategory"], info["messageNumber"], len(info["comments"])) == (90200, 211, 254)


def test_a_text_code_is_not_a_message_number() -> None:
    with pytest.raises(ValidationError):
        DermsSyncAck.model_validate({"dacsMessageId": "1", "ackType": "ERROR", "errors": [
            {"messageCategory": "DERMS", "messageNumber": "AGG-7", "message": "x"}]})


text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zs", "Zl", "Zp")),
               min_size=1, max_size=30)


@given(name=text, status=st.sampled_from(["ACTIVE", "INACTIVE"]),
       start=st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 1, 1)),
       codes=st.lists(st.from_regex(r"[A-Z0-9]{1,30}", fullmatch=True), max_size=5),
       ident=st.from_regex(r"[0-9]{1,14}", fullmatch=True))
def test_every_valid_sync_maps_to_a_message_the_reference_derms_accepts(
        name: str, status: str, start: date, codes: list[str], ident: str) -> None:
    sync = DacsAggregatorSync.model_validate({**SAMPLE, "syncRequestId": ident, "name": name, "status": status,
                                              "startDate": start.isoformat(), "endDate": None,
                                              "programOfferings": [{"programCode": c} for c in codes]})
    accepted = AggregatorMessage.model_validate(to_derms(sync, NO_LOOKUPS))
    assert accepted.dacsMessageId == ident
    assert accepted.aggregatorName == sync.name
    assert accepted.status == ("Active" if status == "ACTIVE" else "Inactive")
    assert accepted.effectiveStartDateTimeISO.date() == start
    assert accepted.programCodes == codes
