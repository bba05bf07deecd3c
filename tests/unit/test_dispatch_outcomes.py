"""Each device's outcome of an event, from what its head end answered to the dispatches and what it reported."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl

from derbridge.derms.dispatch.outcomes import outcomes

START = datetime(2026, 7, 15, 20, 0, tzinfo=UTC)
Q = timedelta(minutes=15)


def one(states: list[str | None], results: tuple[str, ...] = ("ACCEPTED",), withdrawn: bool = False,
        unreachable: dict[str, str] | None = None, message: str = "") -> dict[str, object]:
    """The outcome of one device with these dispatch results and these states per quarter hour (None: no report)."""
    devices = pl.DataFrame({"head_end_system": ["ECO"], "nic_id": ["N1"], "withdrawn": [withdrawn]})
    answers = pl.DataFrame({"head_end_system": ["ECO"] * len(results), "nic_id": ["N1"] * len(results),
                            "result": list(results), "message": [message] * len(results)})
    reported = [(START + n * Q, state) for n, state in enumerate(states) if state is not None]
    telemetry = pl.DataFrame({"head_end_system": ["ECO"] * len(reported), "nic_id": ["N1"] * len(reported),
                              "interval_start": [at for at, _ in reported], "state": [s for _, s in reported]},
                             schema={"head_end_system": pl.String, "nic_id": pl.String,
                                     "interval_start": pl.Datetime("us", "UTC"), "state": pl.String})
    [row] = outcomes(devices, answers, telemetry, unreachable or {}).to_dicts()
    return row


def test_a_device_that_curtailed_throughout_participated_successfully_over_its_curtailed_quarter_hours() -> None:
    row = one(["NORMAL", "CURTAILED", "CURTAILED", "CURTAILED"])
    assert (row["outcome"], row["start_at"], row["end_at"], row["error_message"]) == (
        "D1SP", START + Q, START + 4 * Q, None)


def test_a_device_that_went_off_line_after_curtailing_participated_until_its_last_report() -> None:
    row = one(["CURTAILED", "CURTAILED", None, None])
    assert (row["outcome"], row["end_at"]) == ("D1SP", START + 2 * Q)


def test_a_device_that_never_curtailed_is_non_responsive() -> None:
    row = one(["NORMAL", "NORMAL", None])
    assert (row["outcome"], row["start_at"], row["error_message"]) == ("D1ND", None, "no curtailment in its telemetry")


def test_a_device_off_line_at_every_dispatch_is_non_responsive() -> None:
    row = one([], results=("OFFLINE", "OFFLINE"))
    assert (row["outcome"], row["error_message"]) == ("D1ND", "off line when dispatched")


def test_a_device_whose_customer_overrode_the_dispatch_is_an_in_flight_override_until_then() -> None:
    row = one(["CURTAILED", "CURTAILED", "OVERRIDDEN", "OVERRIDDEN"])
    assert (row["outcome"], row["start_at"], row["end_at"]) == ("D1IO", START, START + 2 * Q)


def test_a_device_its_head_end_could_not_be_asked_for_is_an_error_saying_why() -> None:
    row = one([], results=("ERROR", "ERROR"), message="ECO unavailable: HTTP 503")
    assert (row["outcome"], row["start_at"], row["error_message"]) == ("D1ER", None, "ECO unavailable: HTTP 503")


def test_a_device_whose_telemetry_could_not_be_read_is_an_error() -> None:
    row = one([], unreachable={"ECO": "ECO unavailable: timed out"})
    assert (row["outcome"], row["error_message"]) == ("D1ER", "no telemetry: ECO unavailable: timed out")


def test_one_stage_reaching_the_device_is_enough_for_it_to_take_part() -> None:
    assert one(["CURTAILED"], results=("ERROR", "ACCEPTED"), message="x")["outcome"] == "D1SP"


def test_a_device_released_after_its_dispatch_is_cancelled_whatever_it_did_over_what_it_curtailed() -> None:
    row = one(["NORMAL", "CURTAILED", "CURTAILED", "OVERRIDDEN"], withdrawn=True)
    assert (row["outcome"], row["start_at"], row["end_at"], row["error_message"]) == (
        "D1CN", START + Q, START + 3 * Q, "the event was cancelled in progress")


def test_a_device_released_before_it_curtailed_is_cancelled_without_a_participation() -> None:
    row = one(["NORMAL"], results=("OFFLINE",), withdrawn=True)
    assert (row["outcome"], row["start_at"], row["end_at"]) == ("D1CN", None, None)


def test_an_error_message_is_cut_to_the_documented_100_characters() -> None:
    assert len(str(one([], results=("REFUSED",), message="x" * 300)["error_message"])) == 100
