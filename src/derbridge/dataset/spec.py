"""What a dataset is, without the machinery that makes it: light enough for the CLI to import at start-up."""

from __future__ import annotations

from typing import Literal

FileFormat = Literal["parquet", "csv"]

TABLES = ("rates", "persons", "accounts", "premises", "service_points", "service_agreements", "contacts",
          "substations", "feeders", "transformers", "service_point_locations", "devices", "make_model",
          "enrolled_devices")
"""Every table, in the order it is written; make_model is always CSV (an editable lookup, not bulk data)."""

MAX_CUSTOMERS = 10_000_000
"""Beyond this the smallest id space (HOMEGRID's three random NIC bytes) could run out of unique values."""
DEFAULT_THERMOSTAT_SHARE = 0.30

SECOND_THERMOSTAT_SHARE = 0.12
"""Of thermostat owners: a second thermostat (upstairs/downstairs) on the same service point and cloud."""
PROGRAM_CODES = {"SMARTSTAT": 0.75, "PEAKREWARDS": 0.25}
PREMISES_PER_STREET_BLOCK = 40
SERVICE_POINTS_PER_TRANSFORMER = (6, 14)
