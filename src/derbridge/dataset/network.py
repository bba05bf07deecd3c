"""The electrical network behind the service points: substations, feeders and transformers sized for the load
they serve, and each service point's location in it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

from derbridge.dataset.customers import town_field
from derbridge.dataset.draws import ROW, Dice, days_after, digits, gather, runs, spread_ids

TRANSFORMERS_PER_FEEDER = (200, 400)
FEEDERS_PER_SUBSTATION = (6, 10)
DIVERSIFIED_KW_PER_SERVICE_POINT = 4.5
TRANSFORMER_SIZES_KW = (25.0, 37.5, 50.0, 75.0, 100.0, 167.0)
FEEDER_LOADING = 0.6
"""Feeder rating / sum of its transformer ratings: transformers rarely peak together."""
SUBSTATION_LOADING = 0.75
FEEDER_VOLTAGES_KV = (12.47, 13.2, 24.9)


# --- the electrical network (F1) -------------------------------------------------------------------------

@dataclass(frozen=True)
class Network:
    substations: pl.DataFrame
    feeders: pl.DataFrame
    transformers: pl.DataFrame
    service_point_locations: pl.DataFrame
    """In site order, like the service points."""


def build_network(dice: Dice, sites: pl.DataFrame) -> Network:
    """Ratings add up from the homes served; ids, names and in-service dates flow down from substations."""
    transformers = transformer_frame(sites)
    transformers = transformers.with_columns(feeder=runs(dice, "grid.feeder", transformers.height,
                                                         TRANSFORMERS_PER_FEEDER))
    feeders = (transformers.group_by("feeder", maintain_order=True)
               .agg(town=pl.col("town").first(), transformerKw=pl.col("capacityKw").sum()))
    feeders = feeders.with_columns(
        substation=runs(dice, "grid.substation", feeders.height, FEEDERS_PER_SUBSTATION),
        capacityKw=rounded_up(pl.col("transformerKw") * FEEDER_LOADING, 500))
    substations = substations_table(dice, feeders)
    feeders = feeders_table(dice, feeders, substations)
    transformers = transformers_table(dice, transformers, feeders)
    locations = service_point_locations_table(dice, sites, transformers, feeders)
    return Network(substations, feeders, transformers.drop("feeder"), locations)


def transformer_frame(sites: pl.DataFrame) -> pl.DataFrame:
    """One row per transformer, rated for the diversified load of the service points it serves."""
    frame = sites.group_by("transformer", maintain_order=True).agg(town=pl.col("town").first(),
                                                                   servicePoints=pl.len())
    load = pl.col("servicePoints") * DIVERSIFIED_KW_PER_SERVICE_POINT
    size = pl.sum_horizontal([load > size for size in TRANSFORMER_SIZES_KW[:-1]])
    return frame.with_columns(capacityKw=gather(TRANSFORMER_SIZES_KW, size))


def rounded_up(value: pl.Expr, step: int) -> pl.Expr:
    return (value / step).ceil() * step


def substations_table(dice: Dice, feeders: pl.DataFrame) -> pl.DataFrame:
    frame = (feeders.group_by("substation", maintain_order=True)
             .agg(town=pl.col("town").first(), feederKw=pl.col("capacityKw").sum()))
    number_in_town = pl.int_range(1, pl.len() + 1).over("town")
    return frame.select(
        substationId=pl.concat_str(pl.lit("SUB"), digits(ROW + 1, 4)),
        name=pl.concat_str(town_field("name", pl.col("town")), pl.lit(" Substation "),
                           number_in_town.cast(pl.String)),
        division=town_field("division", pl.col("town")),
        capacityKw=rounded_up(pl.col("feederKw") * SUBSTATION_LOADING, 5000),
        effectiveStartDate=pl.lit(date(1955, 1, 1))
        + pl.duration(days=dice.below("substation.start", 40 * 365)),
    )


def feeders_table(dice: Dice, feeders: pl.DataFrame, substations: pl.DataFrame) -> pl.DataFrame:
    """Feeders are numbered within their substation and share its voltage."""
    substation = pl.col("substation")
    substation_id = gather(substations["substationId"], substation)
    number = pl.int_range(1, pl.len() + 1).over("substation")
    return feeders.select(
        feederId=pl.concat_str(substation_id, pl.lit("-F"), digits(number, 2)),
        substationId=substation_id,
        voltageKv=dice.pick("substation.voltage", FEEDER_VOLTAGES_KV, row=substation),
        capacityKw="capacityKw",
        effectiveStartDate=days_after(dice, "feeder.start",
                                      gather(substations["effectiveStartDate"], substation), max_years=20),
    )


def transformers_table(dice: Dice, transformers: pl.DataFrame, feeders: pl.DataFrame) -> pl.DataFrame:
    feeder = pl.col("feeder")
    return transformers.select(
        transformerId=pl.concat_str(pl.lit("TX"), digits(spread_ids(dice, "transformer.id", 10**8,
                                                                    transformers.height), 8)),
        feederId=gather(feeders["feederId"], feeder),
        phase=dice.pick("transformer.phase", ("A", "B", "C")),
        capacityKw="capacityKw",
        servicePoints="servicePoints",
        effectiveStartDate=days_after(dice, "transformer.start",
                                      gather(feeders["effectiveStartDate"], feeder), max_years=30),
        feeder=feeder,
    )


def service_point_locations_table(dice: Dice, sites: pl.DataFrame, transformers: pl.DataFrame,
                                  feeders: pl.DataFrame) -> pl.DataFrame:
    """F1: the transformer, feeder and substation serving each service point, effective from a date."""
    transformer = pl.col("transformer")
    return sites.select(
        "cisServicePointId",
        transformerId=gather(transformers["transformerId"], transformer),
        feederId=gather(transformers["feederId"], transformer),
        substationId=gather(feeders["substationId"], gather(transformers["feeder"], transformer)),
        effectiveStartDate=days_after(dice, "service_point.connected",
                                      gather(transformers["effectiveStartDate"], transformer), max_years=15),
    )


def service_points_table(sites: pl.DataFrame, transformer_ids: pl.Series) -> pl.DataFrame:
    return sites.select("cisServicePointId", "cisPremiseId", "cisAccountId", transformerId=transformer_ids,
                        locationId="locationId")
