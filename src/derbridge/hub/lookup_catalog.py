"""The lookups the flows use: their names, columns and the rows the hub seeds on first start.

Names follow the vendor integration's lookups where its published configuration guide names them
(`OUTL-BRT-DACS_DRMS_*`, `OUTL-BRT-DRMSID-TO-DACSID`), so an operator moving from the vendor middleware finds
the same tables. Every lookup here has two columns named after the systems, `DERMS` and `DACS` (the program
system), so a flow reads `lookups.value(ASSET_SPEC, DERMS, "ECOTHERM!ET300", DACS)`.

Seeded values are starting points an operator edits at run time (docs/lookups.md says what each row means).
Seeding never overwrites: see `lookup_store.seed`.
"""

from __future__ import annotations

from derbridge.hub.lookups import Lookup

DERMS = "DERMS"
DACS = "DACS"
COLUMNS = (DERMS, DACS)

ROUTING = "OUTL-BRT-DACS_DRMS_Routing"
CONNECTION_ID = "OUTL-BRT-DRMSID-TO-DACSID"
ASSET_SPEC = "OUTL-BRT-DACS_DRMS_AssetSpec"
ASSET_TYPE = "OUTL-BRT-DACS_DRMS_AssetType"
EVENT_TYPE = "OUTL-BRT-DACS_DRMS_EventType"
ENROLLMENT_STATUS = "OUTL-BRT-DACS_DRMS_EnrollmentStatus"
ALLOW_EVENT_DAYS = "OUTL-BRT-DACS_DRMS_AllowEventDays"
CYCLE_FREQUENCY = "OUTL-BRT-DACS_DRMS_CycleFrequency"

DERMS_INSTANCE = "DERMS-1"
"""The `drmsInstanceId` the reference DERMS is routed by (ours)."""
DACS_TARGET = "dacs"
"""The routing target: the program system the hub reaches at DERBRIDGE_DACS_URL."""
DIVISIONS = {"ELEC-N": "LEC-ELEC-N", "ELEC-S": "LEC-ELEC-S"}
"""The dataset's divisions and the DERMS head-end connection id of each (connection ids are ours)."""
ASSET_SPECIFICATIONS = {
    "ECOTHERM!ET300": "TSTAT-ECO-ET300", "ECOTHERM!ET500": "TSTAT-ECO-ET500", "ECOTHERM!ET700PRO": "TSTAT-ECO-ET700",
    "NESTLIKE!LEARNING-3": "TSTAT-NL-LRN3", "NESTLIKE!LEARNING-4": "TSTAT-NL-LRN4", "NESTLIKE!E": "TSTAT-NL-E",
    "THERMAWISE!T6": "TSTAT-TW-T6", "THERMAWISE!T9": "TSTAT-TW-T9", "KELVIN!K2": "TSTAT-KV-K2",
}
"""DERMS `MAKE!MODEL` → the program system's specification: the thermostat models derbridge knows to start with."""
ASSET_TYPES = {"THERMOSTAT": "SMART-THERMOSTAT"}
"""DERMS asset type → the program system's asset type (values are ours)."""


def _pairs(derms_to_dacs: dict[str, str]) -> list[dict[str, str]]:
    return [{DERMS: derms, DACS: dacs} for derms, dacs in derms_to_dacs.items()]


def _lookup(name: str, description: str, rows: list[dict[str, str]], reversible: bool) -> Lookup:
    return Lookup.build(name, COLUMNS, rows, COLUMNS if reversible else (DERMS,), description)


SEEDS: tuple[Lookup, ...] = (
    _lookup(ROUTING, "DERMS instance (drmsInstanceId) → the program system its messages go to (F9 and the "
            "other DERMS-initiated flows). The DACS value names a configured target: 'dacs' is DERBRIDGE_DACS_URL.",
            _pairs({DERMS_INSTANCE: DACS_TARGET}), reversible=False),
    _lookup(CONNECTION_ID, "Program-system division ↔ DERMS head-end connection id (F5, F6). Used both ways, "
            "so both columns are keys: each division has one connection id and each connection id one division.",
            _pairs({connection: division for division, connection in DIVISIONS.items()}), reversible=True),
    _lookup(ASSET_SPEC, "DERMS device MAKE!MODEL → program-system asset specification (F4, every asset). Several "
            "models may share a specification.", _pairs(ASSET_SPECIFICATIONS), reversible=False),
    _lookup(ASSET_TYPE, "DERMS asset type → program-system asset type (F4, every asset that has one).",
            _pairs(ASSET_TYPES), reversible=False),
    _lookup(EVENT_TYPE, "DERMS event type → program event category (F8, F9): X1EC economic, X1EM emergency, "
            "X1RE reliability, X1DT device test. Reversible.",
            _pairs({"ECONOMIC": "X1EC", "EMERGENCY": "X1EM", "RELIABILITY": "X1RE", "DEVICE-TEST": "X1DT"}),
            reversible=True),
    _lookup(ENROLLMENT_STATUS, "Enrollment status as DERMS spells it ↔ as the program system spells it "
            "(F4, F5). Reversible.",
            _pairs({"Pending": "PENDING", "Active": "ACTIVE", "Inactive": "INACTIVE", "Error": "EXCEPTION"}),
            reversible=True),
    _lookup(ALLOW_EVENT_DAYS, "Program rule 'allow event days' (F2): each day the program system allows events "
            "on → the day as DERMS names it. Values are ours. Reversible.",
            _pairs({"MONDAY": "MON", "TUESDAY": "TUE", "WEDNESDAY": "WED", "THURSDAY": "THU", "FRIDAY": "FRI",
                    "SATURDAY": "SAT", "SUNDAY": "SUN"}), reversible=True),
    _lookup(CYCLE_FREQUENCY, "Program rule cycle frequency (F2): the program system's frequency → DERMS's "
            "override cycle (WEEK, MONTH, SEASON). Program-system codes are ours. Reversible.",
            _pairs({"WEEK": "WEEKLY", "MONTH": "MONTHLY", "SEASON": "SEASONAL"}), reversible=True),
)
