"""The cis-import benchmark loads an extract into both systems, each its own process, and reports a ratio."""

import pytest

from derbridge.benchmarks import cis_import, harness

pytestmark = pytest.mark.e2e


def test_the_benchmark_reports_what_the_harness_requires_with_both_systems_timed() -> None:
    result = cis_import.run(size=300, database=None)
    assert set(harness.REQUIRED) <= set(result)
    assert result["baseline"] > 0 and result["ratio"] > 0
    assert set(result["details"]["seconds"]) == {"dacs", "derms"}
    assert set(result["details"]["table_seconds"]["derms"]) == {"persons", "accounts", "premises",
                                                                "service_points", "contacts"}
    assert result["peak_rss_mb"] == max(result["details"]["system_peak_rss_mb"].values()) > 0
