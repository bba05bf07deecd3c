"""What every system's wire models share: one rule for date-times.

A date-time with an offset is converted to UTC; one without an offset is read as UTC, never as the host's
local time (the vendors' examples mix both). Every system, the hub and both reference systems, reads
date-times this way.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator

from derbridge.clock import as_utc

UtcDateTime = Annotated[datetime, AfterValidator(as_utc)]
