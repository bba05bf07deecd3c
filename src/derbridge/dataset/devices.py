"""The aggregators' thermostats: which customers own one (or two), on which cloud, of which model and firmware,
whether on line, whether already enrolled, and the MAKE!MODEL lookup of the models."""

from __future__ import annotations

from itertools import accumulate

import polars as pl

from derbridge.dataset.draws import AS_OF, Dice, days_before_as_of, digits, gather, hex_string, spread_ids
from derbridge.dataset.fleets import DEVICE_MODELS, HEAD_ENDS
from derbridge.dataset.spec import PROGRAM_CODES

ENROLLED_SHARE = 0.60
"""Of thermostat owners: enrolled in a demand-response program (the rest are candidates for F4)."""
ONLINE_SHARE = 0.93


# --- aggregator fleets -----------------------------------------------------------------------------------

def devices_table(dice: Dice, customers: pl.DataFrame, sites: pl.DataFrame) -> pl.DataFrame:
    """Thermostats on their owner's first service point; one cloud per owner, a model per device."""
    customer = pl.col("customer")
    devices = customers.filter(pl.col("thermostats") > 0).select(
        customer,
        cisServicePointId=gather(sites["cisServicePointId"], pl.col("firstPremise")),
        headEnd=dice.pick_weighted("owner.head_end", [each.share for each in HEAD_ENDS], row=customer),
        programCode=pl.when(dice.chance("owner.enrolled", ENROLLED_SHARE, row=customer))
        .then(gather(list(PROGRAM_CODES),
                     dice.pick_weighted("owner.program", list(PROGRAM_CODES.values()), row=customer))),
        thermostat=pl.int_ranges(0, "thermostats"),
    ).explode("thermostat").with_columns(model=model_of(dice, pl.col("headEnd")),
                                         online=dice.chance("device.online", ONLINE_SHARE))
    return devices.select(
        headEndSystem=gather([head_end.name for head_end in HEAD_ENDS], pl.col("headEnd")),
        nicId=nic_ids(dice, pl.col("headEnd")),
        serialNo=serial_numbers(dice, pl.col("model")),
        make=gather([model.make for model in DEVICE_MODELS], pl.col("model")),
        model=gather([model.model for model in DEVICE_MODELS], pl.col("model")),
        firmware=firmware_of(dice, pl.col("model")),
        cisServicePointId="cisServicePointId",
        enrolled=pl.col("programCode").is_not_null(),
        programCode="programCode",
        online="online",
        lastSeenUtc=last_seen(dice, pl.col("online")),
        installDate=days_before_as_of(dice.between("device.installed", 7, 8 * 365)),
    )


def model_of(dice: Dice, head_end: pl.Expr) -> pl.Expr:
    """A model among the head end's own, uniformly: its index in DEVICE_MODELS."""
    counts = [len(each.models) for each in HEAD_ENDS]
    offsets = [total - count for total, count in zip(accumulate(counts), counts, strict=True)]
    return gather(offsets, head_end).cast(pl.UInt64) + dice.below("device.model", gather(counts, head_end))


def firmware_of(dice: Dice, model: pl.Expr) -> pl.Expr:
    """Squaring the draw favours the first (newest) versions: fleets update, but not all at once."""
    counts = [len(each.firmware) for each in DEVICE_MODELS]
    offsets = [total - count for total, count in zip(accumulate(counts), counts, strict=True)]
    version = (dice.uniform("device.firmware") ** 2 * gather(counts, model)).floor().cast(pl.UInt64)
    return gather([version for each in DEVICE_MODELS for version in each.firmware],
                  gather(offsets, model).cast(pl.UInt64) + version)


def nic_ids(dice: Dice, head_end: pl.Expr) -> pl.Expr:
    """Head-end-specific formats, unique within the head end (the device key is headEndSystem + nicId)."""
    formats = [
        pl.concat_str(pl.lit(each.nic_prefix),
                      hex_string(spread_ids(dice, "device.nic", 256**each.nic_bytes, pl.len().over(head_end),
                                            slot=pl.int_range(pl.len()).over(head_end)),
                                 each.nic_bytes, each.nic_separator))
        for each in HEAD_ENDS
    ]
    return pl.coalesce([pl.when(head_end == position).then(nic) for position, nic in enumerate(formats)])


def serial_numbers(dice: Dice, model: pl.Expr) -> pl.Expr:
    """A per-model prefix and nine digits, unique per model and so overall."""
    number = spread_ids(dice, "device.serial", 10**9, pl.len().over(model),
                        slot=pl.int_range(pl.len()).over(model))
    return pl.concat_str(gather([each.serial_prefix for each in DEVICE_MODELS], model), digits(number, 9))


def last_seen(dice: Dice, online: pl.Expr) -> pl.Expr:
    """Online devices reported in the last 15 minutes; offline ones between an hour and 60 days ago."""
    seconds_ago = pl.when(online).then(dice.below("device.seen_online", 15 * 60)).otherwise(
        3600 + dice.below("device.seen_offline", 60 * 86400))
    return pl.lit(AS_OF) - pl.duration(seconds=seconds_ago)


def enrolled_devices_table(devices: pl.DataFrame, agreements: pl.DataFrame, accounts: pl.DataFrame,
                           make_model: pl.DataFrame) -> pl.DataFrame:
    """The program system's legacy extract: the devices already enrolled before derbridge, one row each, with
    the customer, agreement and program they are enrolled under (loaded in bulk, then synced to DERMS)."""
    return (devices.filter(pl.col("enrolled"))
            .with_columns(makeModel=pl.concat_str("make", pl.lit("!"), "model"))
            .join(agreements.select("cisServicePointId", "cisServiceAgreementId", "cisAccountId"),
                  on="cisServicePointId", how="left", maintain_order="left")
            .join(accounts.select("cisAccountId", "cisPersonId"), on="cisAccountId", how="left",
                  maintain_order="left")
            .join(make_model, on="makeModel", how="left", maintain_order="left")
            .select("cisPersonId", "cisAccountId", "cisServicePointId", "cisServiceAgreementId", "programCode",
                    enrolledOn="installDate", headEndSystem="headEndSystem", nicId="nicId",
                    specification="specification", assetType="assetType", serialNo="serialNo"))


def make_model_table() -> pl.DataFrame:
    """The F4 vendor lookup: DERMS `MAKE!MODEL` → program-system specification and asset type."""
    return pl.DataFrame({
        "makeModel": [each.make_model for each in DEVICE_MODELS],
        "specification": [each.specification for each in DEVICE_MODELS],
        "assetType": [each.asset_type for each in DEVICE_MODELS],
    })
