"""Validation of an enroll request: a pure function of the request and the facts read for it, with a message
number per rule (category 90000) and 10589 for a transactionId already held."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from derbridge.dacs.customers.cis import CustomerContext, CustomerIds, customer_contexts
from derbridge.dacs.enrollment.wire import EnrollRequest
from derbridge.dacs.programs.programs import ACTIVE, Program, program_by_code, program_type_by_code
from derbridge.dacs.schema import (
    active_device_keys,
)
from derbridge.errors import Refused

CATEGORY = 90000
"""The message category of the program system's own enrollment messages."""
ALREADY_EXISTS = 10589
"""The vendor's message number for an enrollment whose transactionId already exists."""
MESSAGES: dict[int, str] = {
    90001: "customer not identified: cisPersonId is required",
    90002: "customer {cisPersonId} is not known",
    90003: "account {cisAccountId} is not known",
    90004: "account {cisAccountId} does not belong to customer {cisPersonId}",
    90005: "service point {cisServicePointId} is not known",
    90006: "service point {cisServicePointId} is not on account {cisAccountId}",
    90007: "premise {cisPremiseId} is not the premise of service point {cisServicePointId}",
    90008: "service agreement {cisServiceAgreementId} is not known",
    90009: "service agreement {cisServiceAgreementId} does not tie account {cisAccountId} to service point "
           "{cisServicePointId}",
    90010: "service agreement {cisServiceAgreementId} is not in effect on {startDate}",
    90011: "program {programCode} is not known",
    90012: "program {programCode} is {programStatus}: only ACTIVE programs enroll",
    90013: "program {programCode} does not run on {startDate}",
    90014: "rate {rateCode} is not eligible for program {programCode}",
    90015: "a bring-your-own, customer-owned enrollment must give each device's {missing}",
    90016: "device specification {specification} is not eligible for program {programCode}",
    90017: "device {headEndSystem}/{nicId} is already enrolled (device {deviceId})",
    90018: "device {headEndSystem}/{nicId} is listed twice",
    90019: "program {programCode} requires a device and none was given",
    90020: "device {headEndSystem}/{nicId} failed its status check: {message}",
    90021: "no status for device {headEndSystem}/{nicId} within {timeout:g} s",
    10589: "an enrollment with transactionId {transactionId} already exists",
}


# ---- validation: pure, over the facts read for the request ----------------------------------------------


@dataclass(frozen=True)
class Refusal:
    number: int
    text: str

    @property
    def category(self) -> int:
        return CATEGORY if self.number != ALREADY_EXISTS else 0

    def error(self) -> Refused:
        """The refusal as an error, for an agent's action that the same rule refuses."""
        return Refused(self.text, category=self.category, number=self.number)


def refusal(number: int, **values: Any) -> Refusal:
    return Refusal(number, MESSAGES[number].format(**values)[:254])


@dataclass(frozen=True)
class Facts:
    """What the database says about the ids a request names."""

    customer: CustomerContext
    program: Program | None
    device_required: bool = True
    enrolled_devices: dict[tuple[str, str], str] = field(default_factory=dict)  # (head end, nic) → device id


def validate(request: EnrollRequest, facts: Facts, start: date) -> Refusal | None:
    """The first rule the request breaks, in the order an agent would check them; None when it is valid."""
    customer, program_info, location = request.customerInfo, request.programInfo, request.locationInfo
    ids = {"cisPersonId": customer.cisPersonId, "cisAccountId": customer.cisAccountId,
           "cisServicePointId": location.cisServicePointId, "cisPremiseId": location.cisPremiseId,
           "cisServiceAgreementId": program_info.cisServiceAgreementId, "programCode": program_info.programCode,
           "startDate": start.isoformat()}
    return (_customer_refusal(facts.customer, ids) or _service_refusal(facts.customer, ids)
            or _program_refusal(facts, ids, start) or _device_refusal(request, facts))


def _customer_refusal(customer: CustomerContext, ids: dict[str, Any]) -> Refusal | None:
    if not ids["cisPersonId"]:
        return refusal(90001)
    if not customer.person_known:
        return refusal(90002, **ids)
    if not customer.account_known:
        return refusal(90003, **ids)
    if not customer.account_is_persons:
        return refusal(90004, **ids)
    return None


def _service_refusal(customer: CustomerContext, ids: dict[str, Any]) -> Refusal | None:
    if not customer.service_point_known:
        return refusal(90005, **ids)
    if not customer.service_point_on_account:
        return refusal(90006, **ids)
    if ids["cisPremiseId"] and customer.cis_premise_id != ids["cisPremiseId"]:
        return refusal(90007, **ids)
    if not customer.agreement_known:
        return refusal(90008, **ids)
    if not customer.agreement_matches:
        return refusal(90009, **ids)
    if not customer.agreement_active:
        return refusal(90010, **ids)
    return None


def _program_refusal(facts: Facts, ids: dict[str, Any], start: date) -> Refusal | None:
    program = facts.program
    if program is None:
        return refusal(90011, **ids)
    if program.status != ACTIVE:
        return refusal(90012, programStatus=program.status, **ids)
    if start < program.start_date or (program.end_date is not None and start > program.end_date):
        return refusal(90013, **ids)
    rate = facts.customer.rate_code
    if program.eligible_rates and rate not in program.eligible_rates:
        return refusal(90014, rateCode=rate, **ids)
    return None


def _device_refusal(request: EnrollRequest, facts: Facts) -> Refusal | None:
    program = facts.program
    assert program is not None
    assets = request.assetInfo.assetList
    if facts.device_required and not assets:
        return refusal(90019, programCode=program.program_code)
    byo_customer_owned = (request.assetInfo.installationMethod, request.assetInfo.assetOwnership) == ("X1SI", "W1CO")
    required = {"specification": "specification", "assetType": "asset type", "nicId": "NIC id",
                "headEndSystem": "head-end system"}
    seen: set[tuple[str, str]] = set()
    for asset in assets:
        missing = [label for name, label in required.items() if not getattr(asset, name)]
        if byo_customer_owned and missing:
            return refusal(90015, missing=", ".join(missing))
        eligible = program.eligible_specifications
        if asset.specification and eligible and asset.specification not in eligible:
            return refusal(90016, specification=asset.specification, programCode=program.program_code)
        key = (asset.headEndSystem or "", asset.nicId or "")
        if key in facts.enrolled_devices:
            return refusal(90017, headEndSystem=key[0], nicId=key[1], deviceId=facts.enrolled_devices[key])
        if asset.nicId and key in seen:
            return refusal(90018, headEndSystem=key[0], nicId=key[1])
        seen.add(key)
    return None


# ---- reading the facts ------------------------------------------------------------------------------------


def read_facts(connection: Connection, request: EnrollRequest, start: date) -> Facts:
    [facts] = read_facts_many(connection, [(request, start)])
    return facts


def read_facts_many(connection: Connection, requests: list[tuple[EnrollRequest, date]]) -> list[Facts]:
    """The facts of many requests (each with its start day) in a few reads, whatever their number."""
    if not requests:
        return []
    programs_by_code = {code: program_by_code(connection, code)
                        for code in {request.programInfo.programCode for request, _start in requests}}
    type_codes = {program.program_type_code for program in programs_by_code.values() if program is not None}
    device_required = {code: found is None or found.device_required
                       for code in type_codes for found in [program_type_by_code(connection, code)]}
    contexts = customer_contexts(connection, [CustomerIds(
        request.customerInfo.cisPersonId or "", request.customerInfo.cisAccountId or "",
        request.locationInfo.cisServicePointId or "", request.programInfo.cisServiceAgreementId or "", start)
        for request, start in requests])
    enrolled = enrolled_devices(connection, [(asset.headEndSystem, asset.nicId) for request, _start in requests
                                      for asset in request.assetInfo.assetList if asset.headEndSystem and asset.nicId])
    facts = []
    for (request, _start), customer in zip(requests, contexts, strict=True):
        program = programs_by_code[request.programInfo.programCode]
        facts.append(Facts(customer=customer, program=program,
                           device_required=program is None or device_required[program.program_type_code],
                           enrolled_devices=enrolled))
    return facts


def enrolled_devices(connection: Connection, keys: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
    if not keys:
        return {}
    rows = connection.execute(sa.select(active_device_keys).where(
        sa.tuple_(active_device_keys.c.head_end_system, active_device_keys.c.nic_id).in_(keys))).all()
    return {(row.head_end_system, row.nic_id): row.device_id for row in rows}
