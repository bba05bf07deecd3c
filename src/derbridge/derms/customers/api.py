"""The CIS extract over HTTP: one table file per request (`PUT /api/cis/{table}`, see customers/cis.py)."""

from __future__ import annotations

from derbridge.config import Settings
from derbridge.derms.customers import cis
from derbridge.derms.schema import file_imports, rejected_uploads
from derbridge.runtime.system import Runtime
from derbridge.tables.uploads import TableUploads

CIS_PREFIX = "/api/cis"


def cis_uploads(runtime: Runtime, settings: Settings) -> TableUploads:
    return TableUploads("derms", cis.TABLES, file_imports, rejected_uploads, lambda: runtime.db,
                        settings.data_dir / "uploads" / "derms", settings.max_upload_bytes)
