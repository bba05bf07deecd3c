"""`derbridge enrollments` and `derbridge devices`: an agent's view of the running program system —
enrollments and their history, retries, unenrollments, devices, replacements and status checks."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from derbridge.cli.support import ActorOption, ConfigOption, JsonOption, call, console, read_json, table_of

enrollments_app = typer.Typer(help="Enrollments in the program system: list, show, create, retry, unenroll, "
                                   "add a device.", no_args_is_help=True)
devices_app = typer.Typer(help="Controllable devices in the program system: list, replace, check status.",
                          no_args_is_help=True)

ENROLLMENT_COLUMNS = [("enrollment", "enrollmentId"), ("transaction", "transactionId"), ("status", "status"),
                      ("program", "programCode"), ("account", "cisAccountId"), ("created", "createdAt"),
                      ("exception", "problem")]
DEVICE_COLUMNS = [("device", "deviceId"), ("enrollment", "enrollmentId"), ("status", "status"),
                  ("head end", "headEndSystem"), ("NIC id", "nicId"), ("specification", "specification"),
                  ("registration", "headEndRegistration"), ("message", "registrationMessage")]


def _with_problem(enrollment: dict[str, Any]) -> dict[str, Any]:
    exception = enrollment.get("exception")
    problem = f"{exception['messageNumber']}: {exception['comments']}" if exception else None
    return {**enrollment, "problem": problem}


def _print(result: Any, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        console.print_json(data=result)


@enrollments_app.command("list")
def list_enrollments(status: Annotated[str | None, typer.Option(help="PENDING, VAL-ERROR, DEVICE-SETUP, "
                                                                      "SETUP-ERROR, ACTIVE, UNENROLLED")] = None,
                     account: Annotated[str | None, typer.Option(help="CIS account id")] = None,
                     limit: int = 50, as_json: JsonOption = False, config: ConfigOption = None) -> None:
    """Enrollments, newest first."""
    params = {k: v for k, v in {"status": status, "cisAccountId": account, "limit": limit}.items() if v}
    found = call(config, "dacs", "GET", "/api/enrollments", params=params)
    if as_json:
        _print(found, True)
        return
    console.print(table_of("enrollments", [_with_problem(e) for e in found], ENROLLMENT_COLUMNS))


@enrollments_app.command()
def show(enrollment_id: str, as_json: JsonOption = False, config: ConfigOption = None) -> None:
    """One enrollment with its history, devices and status checks."""
    found = call(config, "dacs", "GET", f"/api/enrollments/{enrollment_id}")
    if as_json:
        _print(found, True)
        return
    console.print(table_of(f"enrollment {enrollment_id}", [_with_problem(found)], ENROLLMENT_COLUMNS))
    console.print(table_of("history", found["history"], [("at", "at"), ("status", "status"), ("note", "note")]))
    console.print(table_of("devices", found["devices"], DEVICE_COLUMNS))
    console.print(table_of("status checks", found["statusChecks"], [
        ("communication id", "communicationId"), ("NIC id", "nicId"), ("status", "status"),
        ("message", "message"), ("requested", "requestedAt"), ("answered", "answeredAt"), ("late", "lateResult")]))


@enrollments_app.command()
def create(file: Annotated[Path, typer.Argument(help="JSON enroll request (docs/wire.md, program system API)")],
           config: ConfigOption = None) -> None:
    """Enroll a customer as an agent; prints the enrollment's id and status."""
    _print(call(config, "dacs", "POST", "/api/enrollments", json=read_json(file)), False)


@enrollments_app.command()
def retry(enrollment_id: str, actor: ActorOption = None, config: ConfigOption = None) -> None:
    """Validate a VAL-ERROR enrollment again, or rerun a SETUP-ERROR enrollment's device setup."""
    _print(call(config, "dacs", "POST", f"/api/enrollments/{enrollment_id}/retry", actor), False)


@enrollments_app.command()
def unenroll(enrollment_id: str,
             reason: Annotated[str, typer.Option(help="LSSL, CUSTOMEROPTOUT, INACTIVESERVICE or INELIGIBLERATE")],
             actor: ActorOption = None, config: ConfigOption = None) -> None:
    """End an ACTIVE enrollment; its devices are removed and DERMS deregisters them."""
    _print(call(config, "dacs", "POST", f"/api/enrollments/{enrollment_id}/unenroll", actor,
                json={"reason": reason}), False)


DeviceOption = Annotated[str, typer.Option(help="The device's NIC id at its head end")]
HeadEndOption = Annotated[str, typer.Option("--head-end", help="Head-end system, e.g. ECOCLOUD")]
SpecificationOption = Annotated[str, typer.Option(help="Program-system device specification")]
AssetTypeOption = Annotated[str, typer.Option("--asset-type", help="Asset type, e.g. SMART-THERMOSTAT")]


def _asset(nic: str, head_end: str, specification: str, asset_type: str, serial: str | None) -> dict[str, Any]:
    return {"sequence": 1, "nicId": nic, "headEndSystem": head_end, "specification": specification,
            "assetType": asset_type, "serialNo": serial}


@enrollments_app.command("add-device")
def add_device(enrollment_id: str, nic: DeviceOption, head_end: HeadEndOption, specification: SpecificationOption,
               asset_type: AssetTypeOption = "SMART-THERMOSTAT", serial: str | None = None,
               actor: ActorOption = None, config: ConfigOption = None) -> None:
    """Add a device to an ACTIVE enrollment; DERMS registers it with its head end."""
    _print(call(config, "dacs", "POST", f"/api/enrollments/{enrollment_id}/devices", actor,
                json=_asset(nic, head_end, specification, asset_type, serial)), False)


@devices_app.command("list")
def list_devices(registration: Annotated[str | None, typer.Option(help="D1RE, D1DR or D1NR")] = None,
                 status: Annotated[str | None, typer.Option(help="ACTIVE or REMOVED")] = None,
                 limit: int = 50, as_json: JsonOption = False, config: ConfigOption = None) -> None:
    """Controllable devices with their head-end registration."""
    params = {k: v for k, v in {"registration": registration, "status": status, "limit": limit}.items() if v}
    found = call(config, "dacs", "GET", "/api/devices", params=params)
    if as_json:
        _print(found, True)
        return
    console.print(table_of("devices", found, DEVICE_COLUMNS))


@devices_app.command()
def replace(device_id: str, nic: DeviceOption, head_end: HeadEndOption, specification: SpecificationOption,
            asset_type: AssetTypeOption = "SMART-THERMOSTAT", serial: str | None = None,
            actor: ActorOption = None, config: ConfigOption = None) -> None:
    """Replace a device with another; DERMS deregisters the old one and registers the new one."""
    _print(call(config, "dacs", "POST", f"/api/devices/{device_id}/replace", actor,
                json=_asset(nic, head_end, specification, asset_type, serial)), False)


@devices_app.command()
def check(device_id: str,
          wait: Annotated[float, typer.Option(help="Seconds to wait for DERMS's result (0: do not wait)")] = 30.0,
          actor: ActorOption = None, config: ConfigOption = None) -> None:
    """Ask DERMS for a device's latest communication status (troubleshooting); waits for the result."""
    started = call(config, "dacs", "POST", f"/api/devices/{device_id}/status-checks", actor)
    communication_id = started["communicationId"]
    console.print(f"status check {communication_id} sent")
    deadline = time.monotonic() + wait
    found = call(config, "dacs", "GET", f"/api/status-checks/{communication_id}")
    while found["status"] == "AWAITRESP" and time.monotonic() < deadline:
        time.sleep(0.2)
        found = call(config, "dacs", "GET", f"/api/status-checks/{communication_id}")
    colour = {"SUCCESS": "green", "FAILURE": "red"}.get(found["status"], "yellow")
    detail = f" — {found['message']}" if found.get("message") else ""
    console.print(f"[{colour}]{found['status']}[/]{detail} (last seen {found.get('lastSeen') or 'unknown'})")
    if found["status"] != "SUCCESS":
        raise typer.Exit(1)
