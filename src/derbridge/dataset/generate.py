"""A realistic, deterministic utility dataset: the CIS extract, the electrical network and aggregator fleets.

The reference systems and the benchmarks need data shaped like a real utility's: F1 exports the network
location of every service point, F4 enrolls aggregator devices of CIS customers through the `MAKE!MODEL`
lookup, F5 needs the customer's contacts and location (FLOWS.md).

Every random choice is a counter-based draw (SplitMix64 of the row number, keyed by the seed and the purpose
of the column) computed as a polars expression. So a million customers take seconds, the same
(customers, seed) gives byte-identical files, and adding a column never shifts the values of another.
Names, streets, towns and counties are synthetic; phone numbers are in the fictional 555-01xx range and
e-mail addresses at example.com/net/org.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from itertools import accumulate
from pathlib import Path

import polars as pl

from derbridge.dataset.fleets import DEVICE_MODELS, HEAD_ENDS
from derbridge.dataset.spec import DEFAULT_THERMOSTAT_SHARE, MAX_CUSTOMERS, FileFormat

FORMAT_VERSION = 1
AS_OF = datetime(2026, 1, 1, tzinfo=UTC)
"""The extract's "now": dates end and last-seen times count back from here, never from the clock."""

Progress = Callable[[str, int, int], None]
"""Called as (table, rows written, rows in the table): with 0 once the table is built, again once written."""

SECOND_THERMOSTAT_SHARE = 0.12
"""Of thermostat owners: a second thermostat (upstairs/downstairs) on the same service point and cloud."""
SECOND_PREMISE_SHARE = 0.02
"""Of accounts: a second premise (a rental next door), each premise with one electric service point."""
HOME_PHONE_SHARE = 0.95
BUSINESS_PHONE_SHARE = 0.25
EMAIL_SHARE = 0.85
ENROLLED_SHARE = 0.60
"""Of thermostat owners: enrolled in a demand-response program (the rest are candidates for F4)."""
ONLINE_SHARE = 0.93

SERVICE_POINTS_PER_TRANSFORMER = (6, 14)
TRANSFORMERS_PER_FEEDER = (200, 400)
FEEDERS_PER_SUBSTATION = (6, 10)
PREMISES_PER_STREET_BLOCK = 40
DIVERSIFIED_KW_PER_SERVICE_POINT = 4.5
TRANSFORMER_SIZES_KW = (25.0, 37.5, 50.0, 75.0, 100.0, 167.0)
FEEDER_LOADING = 0.6
"""Feeder rating / sum of its transformer ratings: transformers rarely peak together."""
SUBSTATION_LOADING = 0.75
FEEDER_VOLTAGES_KV = (12.47, 13.2, 24.9)

RATE_CODES = {"E-RES": 0.70, "E-RES-TOU": 0.17, "E-RES-EV": 0.08, "E-SGS": 0.05}
"""Share of accounts on each rate."""
RATE_DESCRIPTIONS = {
    "E-RES": "Residential service",
    "E-RES-TOU": "Residential time-of-use",
    "E-RES-EV": "Residential electric-vehicle time-of-use",
    "E-SGS": "Small general service",
}
PROGRAM_CODES = {"SMARTSTAT": 0.75, "PEAKREWARDS": 0.25}


@dataclass(frozen=True)
class Town:
    name: str
    county: str
    state: str
    zip3: str
    area_code: str
    time_zone: str
    division: str
    weight: float
    """Share of the utility's premises."""


TOWNS: tuple[Town, ...] = (
    Town("Ashgrove", "Lancer County", "NE", "681", "402", "America/Chicago", "ELEC-N", 0.20),
    Town("Brindle Falls", "Lancer County", "NE", "681", "402", "America/Chicago", "ELEC-N", 0.06),
    Town("Cedar Hollow", "Pawling County", "NE", "683", "402", "America/Chicago", "ELEC-N", 0.05),
    Town("Dunmore Springs", "Pawling County", "NE", "684", "531", "America/Chicago", "ELEC-N", 0.04),
    Town("Elk Prairie", "Haskett County", "NE", "686", "402", "America/Chicago", "ELEC-N", 0.03),
    Town("Fallowfield", "Haskett County", "NE", "687", "402", "America/Chicago", "ELEC-N", 0.03),
    Town("Grainger Bluff", "Orrin County", "NE", "688", "308", "America/Chicago", "ELEC-N", 0.04),
    Town("Harrowgate", "Orrin County", "NE", "689", "308", "America/Chicago", "ELEC-N", 0.02),
    Town("Sandreed", "Kimbrell County", "NE", "691", "308", "America/Denver", "ELEC-N", 0.03),
    Town("Windcliff", "Kimbrell County", "NE", "693", "308", "America/Denver", "ELEC-N", 0.02),
    Town("Wheatley Crossing", "Marlow County", "KS", "672", "316", "America/Chicago", "ELEC-S", 0.16),
    Town("Cottonwood Bend", "Marlow County", "KS", "670", "316", "America/Chicago", "ELEC-S", 0.05),
    Town("Prairie Rose", "Tellis County", "KS", "675", "620", "America/Chicago", "ELEC-S", 0.04),
    Town("Sunflower Flats", "Tellis County", "KS", "676", "620", "America/Chicago", "ELEC-S", 0.04),
    Town("Larkspur Mill", "Amberly County", "KS", "664", "785", "America/Chicago", "ELEC-S", 0.05),
    Town("Quillan", "Amberly County", "KS", "665", "785", "America/Chicago", "ELEC-S", 0.03),
    Town("Rushmere", "Dorran County", "KS", "678", "620", "America/Chicago", "ELEC-S", 0.03),
    Town("Stonecrop", "Vessey County", "KS", "677", "785", "America/Denver", "ELEC-S", 0.02),
    Town("Thistledown", "Vessey County", "KS", "677", "785", "America/Denver", "ELEC-S", 0.02),
    Town("Vantage Hill", "Coble County", "KS", "669", "785", "America/Chicago", "ELEC-S", 0.04),
)

FIRST_NAMES = (
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth",
    "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Charles", "Karen",
    "Christopher", "Lisa", "Daniel", "Nancy", "Matthew", "Betty", "Anthony", "Margaret", "Mark", "Sandra",
    "Donald", "Ashley", "Steven", "Kimberly", "Paul", "Emily", "Andrew", "Donna", "Joshua", "Michelle",
    "Kenneth", "Carol", "Kevin", "Amanda", "Brian", "Dorothy", "George", "Melissa", "Timothy", "Deborah",
    "Ronald", "Stephanie", "Edward", "Rebecca", "Jason", "Sharon", "Jeffrey", "Laura", "Ryan", "Cynthia",
    "Jacob", "Kathleen", "Gary", "Amy", "Nicholas", "Angela", "Eric", "Shirley", "Jonathan", "Anna",
    "Stephen", "Brenda", "Larry", "Pamela", "Justin", "Emma", "Scott", "Nicole", "Brandon", "Helen",
    "Benjamin", "Samantha", "Samuel", "Katherine", "Gregory", "Christine", "Alexander", "Debra", "Frank",
    "Rachel", "Patrick", "Carolyn", "Raymond", "Janet", "Jack", "Catherine", "Dennis", "Maria", "Jerry",
    "Heather", "Tyler", "Diane", "Aaron", "Ruth", "Jose", "Julie", "Adam", "Olivia", "Nathan", "Joyce",
    "Henry", "Virginia", "Zachary", "Victoria", "Noah", "Grace",
)
LAST_NAME_STARTS = (
    "Ash", "Black", "Bram", "Brook", "Cald", "Carr", "Dal", "Dun", "Elm", "Fair", "Fox", "Gar", "Hal",
    "Hart", "Hol", "Kel", "Lang", "Lind", "Mar", "Mill", "Nor", "Oak", "Pem", "Ral", "Red", "Rock", "Shel",
    "Stan", "Thorn", "Wal", "West", "Whit", "Win", "Wood", "Har", "Brad", "Chal", "Pres", "Sel", "Tal",
)
LAST_NAME_ENDS = (
    "bury", "by", "croft", "den", "ford", "gate", "ham", "hurst", "ley", "low", "man", "mont", "more",
    "ridge", "son", "ston", "ton", "well", "wick", "worth",
)
STREET_NAMES = (
    "Oak", "Maple", "Cedar", "Elm", "Pine", "Willow", "Birch", "Walnut", "Hickory", "Aspen", "Chestnut",
    "Sycamore", "Cottonwood", "Juniper", "Magnolia", "Prairie", "Meadow", "Ridge", "Hillcrest", "Lakeview",
    "Sunset", "Highland", "Orchard", "Park", "Church", "Mill", "Spring", "Railroad", "Depot", "Market",
    "Center", "Main", "Lincoln", "Washington", "Jefferson", "Madison", "Franklin", "Jackson", "Grant",
    "Harvest", "Wheatfield", "Bluestem", "Sandhill", "Buffalo", "Harmony", "Liberty", "Pioneer",
    "Meadowlark", "Kestrel", "2nd", "3rd", "4th", "5th", "6th", "7th", "8th", "9th", "10th", "12th",
)
STREET_SUFFIXES = ("St", "Ave", "Rd", "Ln", "Dr", "Ct", "Blvd", "Way", "Pl", "Cir", "Ter")
EMAIL_DOMAINS = ("example.com", "example.net", "example.org")


# --- random draws as expressions -------------------------------------------------------------------------

ROW = pl.int_range(pl.len(), dtype=pl.UInt64)
"""The position of each row in the frame being built: the counter that draws are keyed on by default."""
_GOLDEN_GAMMA = 0x9E3779B97F4A7C15


def u64(value: int) -> pl.Expr:
    return pl.lit(value, dtype=pl.UInt64)


def splitmix64(x: pl.Expr) -> pl.Expr:
    """SplitMix64's finaliser, well-mixed bits from a counter (x >> k is x // 2**k; UInt64 products wrap)."""
    x = (x ^ (x // u64(2**30))) * u64(0xBF58476D1CE4E5B9)
    x = (x ^ (x // u64(2**27))) * u64(0x94D049BB133111EB)
    return x ^ (x // u64(2**31))


@dataclass(frozen=True)
class Dice:
    """Independent random streams, one per purpose, depending only on the seed and the row drawn for."""

    seed: int

    def bits(self, purpose: str, row: pl.Expr = ROW) -> pl.Expr:
        key = int.from_bytes(hashlib.sha256(f"{self.seed}/{purpose}".encode()).digest()[:8], "big")
        return splitmix64(row.cast(pl.UInt64) * u64(_GOLDEN_GAMMA) + u64(key))

    def uniform(self, purpose: str, row: pl.Expr = ROW) -> pl.Expr:
        """A float in [0, 1) from the top 53 bits."""
        return (self.bits(purpose, row) // u64(2**11)).cast(pl.Float64) / float(2**53)

    def below(self, purpose: str, bound: int | pl.Expr, row: pl.Expr = ROW) -> pl.Expr:
        """An integer in [0, bound); bound may vary per row."""
        bound_expr = u64(bound) if isinstance(bound, int) else bound.cast(pl.UInt64)
        return self.bits(purpose, row) % bound_expr

    def between(self, purpose: str, low: int, high: int, row: pl.Expr = ROW) -> pl.Expr:
        """An integer in [low, high], both included."""
        return self.below(purpose, high - low + 1, row) + low

    def chance(self, purpose: str, probability: float, row: pl.Expr = ROW) -> pl.Expr:
        return self.uniform(purpose, row) < probability

    def pick(self, purpose: str, values: Sequence[str] | Sequence[float], row: pl.Expr = ROW) -> pl.Expr:
        return gather(values, self.below(purpose, len(values), row))

    def pick_weighted(self, purpose: str, weights: Sequence[float], row: pl.Expr = ROW) -> pl.Expr:
        """The index of the chosen weight."""
        bounds = list(accumulate(weights))
        draw = self.uniform(purpose, row) * bounds[-1]
        return pl.sum_horizontal([draw >= bound for bound in bounds[:-1]]).cast(pl.UInt32)


def gather(values: Sequence[str] | Sequence[float] | pl.Series, index: pl.Expr) -> pl.Expr:
    """values[index] for every row: how a draw or a parent's position becomes a value."""
    series = values if isinstance(values, pl.Series) else pl.Series(values)
    return pl.lit(series).gather(index)


def spread_ids(dice: Dice, purpose: str, space: int, count: int | pl.Expr, slot: pl.Expr = ROW) -> pl.Expr:
    """Unique numbers in [0, space): slot i of count draws inside its own interval of width space // count.

    They come out ascending with irregular gaps, like keys handed out over decades, and never collide.
    """
    width = u64(space) // (u64(count) if isinstance(count, int) else count.cast(pl.UInt64))
    return slot.cast(pl.UInt64) * width + dice.below(purpose, width)


def cis_ids(dice: Dice, purpose: str, count: int) -> pl.Expr:
    """Ten-digit CIS keys (the vendor's are ten digits; FLOWS.md allows up to 30)."""
    return (spread_ids(dice, purpose, 9 * 10**9, count) + 10**9).cast(pl.String)


def digits(value: pl.Expr, width: int) -> pl.Expr:
    """value in decimal, zero-padded to width digits."""
    return value.cast(pl.String).str.zfill(width)


HEX_BYTES = pl.Series([f"{byte:02X}" for byte in range(256)])


def hex_string(value: pl.Expr, byte_count: int, separator: str) -> pl.Expr:
    """The low byte_count bytes of value in upper-case hex, most significant first."""
    return pl.concat_str([gather(HEX_BYTES, (value // u64(256**position)) % u64(256))
                          for position in reversed(range(byte_count))], separator=separator)


def town_of(premise: pl.Expr, premises: int) -> pl.Expr:
    """Towns take contiguous blocks of premises by weight: file neighbours are grid neighbours."""
    total = sum(town.weight for town in TOWNS)
    starts = [int(premises * share / total) for share in accumulate(town.weight for town in TOWNS)][:-1]
    return pl.sum_horizontal([premise >= start for start in starts]).cast(pl.UInt32)


def town_field(field: str, town: pl.Expr) -> pl.Expr:
    return gather([getattr(each, field) for each in TOWNS], town)


def days_after(dice: Dice, purpose: str, start: pl.Expr, max_years: int) -> pl.Expr:
    """A date up to max_years after start, never after AS_OF (start itself must not be after AS_OF)."""
    room = pl.min_horizontal((pl.lit(AS_OF.date()) - start).dt.total_days(), max_years * 365)
    return start + pl.duration(days=dice.below(purpose, room + 1))


def days_before_as_of(day_offset: pl.Expr) -> pl.Expr:
    return pl.lit(AS_OF.date()) - pl.duration(days=day_offset)


def runs(dice: Dice, purpose: str, items: int, sizes: tuple[int, int]) -> pl.Series:
    """Cut items 0..items-1 into consecutive runs of sizes[0]..sizes[1] items: each item's run number.

    Neighbouring service points share a transformer, neighbouring transformers a feeder.
    """
    most_runs = items // sizes[0] + 1
    ends = pl.select(dice.between(purpose, *sizes, row=pl.int_range(most_runs, dtype=pl.UInt64)).cum_sum())
    return ends.to_series().search_sorted(pl.Series(range(items)), side="right").alias(purpose)


# --- customers, premises, service points -----------------------------------------------------------------

def customer_frame(dice: Dice, customers: int, thermostat_share: float) -> pl.DataFrame:
    """One row per customer (a person with one account); the draws the customer-level tables share."""
    owns_thermostat = dice.chance("customer.owns_thermostat", thermostat_share)
    frame = pl.select(customer=pl.int_range(customers, dtype=pl.UInt64)).with_columns(
        cisPersonId=cis_ids(dice, "person.id", customers),
        cisAccountId=cis_ids(dice, "account.id", customers),
        rateCode=gather(list(RATE_CODES), dice.pick_weighted("account.rate", list(RATE_CODES.values()))),
        premises=(1 + dice.chance("account.second_premise", SECOND_PREMISE_SHARE).cast(pl.UInt32)),
        thermostats=pl.when(owns_thermostat)
        .then(1 + dice.chance("customer.second_thermostat", SECOND_THERMOSTAT_SHARE).cast(pl.UInt32))
        .otherwise(0),
    ).with_columns(firstPremise=pl.col("premises").cum_sum() - pl.col("premises"))
    return frame.with_columns(town=town_of(pl.col("firstPremise"), int(frame["premises"].sum())))


def site_frame(dice: Dice, customers: pl.DataFrame) -> pl.DataFrame:
    """One row per premise and its electric service point, in street order, with its transformer's number."""
    sites = customers.select("cisAccountId", "rateCode", slot=pl.int_ranges(0, "premises")).explode("slot")
    total = sites.height
    return sites.with_columns(
        cisPremiseId=cis_ids(dice, "premise.id", total),
        cisServicePointId=cis_ids(dice, "service_point.id", total),
        locationId=pl.concat_str(pl.lit("LOC"), cis_ids(dice, "service_point.location", total)),
        town=town_of(ROW, total),
        block=ROW // PREMISES_PER_STREET_BLOCK,
        transformer=runs(dice, "grid.transformer", total, SERVICE_POINTS_PER_TRANSFORMER),
    )


def rates_table() -> pl.DataFrame:
    """The rate schedules accounts and agreements refer to: a lookup, the same for every seed."""
    return pl.DataFrame({"rateCode": list(RATE_DESCRIPTIONS), "description": list(RATE_DESCRIPTIONS.values())})


def persons_table(dice: Dice, customers: pl.DataFrame) -> pl.DataFrame:
    first = dice.pick("person.first_name", FIRST_NAMES)
    last = pl.concat_str(dice.pick("person.last_name_start", LAST_NAME_STARTS),
                         dice.pick("person.last_name_end", LAST_NAME_ENDS))
    area_code = town_field("area_code", pl.col("town"))
    email = pl.concat_str(first, pl.lit("."), last, dice.between("person.email_number", 1, 9999), pl.lit("@"),
                          dice.pick("person.email_domain", EMAIL_DOMAINS)).str.to_lowercase()
    return customers.select(
        "cisPersonId",
        name=pl.concat_str(last, pl.lit(","), first),
        homePhone=pl.when(dice.chance("person.has_home_phone", HOME_PHONE_SHARE))
        .then(fictional_phone(dice, "person.home_phone", area_code)),
        businessPhone=pl.when(dice.chance("person.has_business_phone", BUSINESS_PHONE_SHARE))
        .then(fictional_phone(dice, "person.business_phone", area_code)),
        email=pl.when(dice.chance("person.has_email", EMAIL_SHARE)).then(email),
    )


def fictional_phone(dice: Dice, purpose: str, area_code: pl.Expr) -> pl.Expr:
    """A number in 555-0100..0199, the range reserved for fiction, in the CIS display format."""
    return pl.concat_str(pl.lit("("), area_code, pl.lit(") 555-01"),
                         digits(dice.below(purpose, 100), 2))


def accounts_table(customers: pl.DataFrame) -> pl.DataFrame:
    return customers.select("cisAccountId", "cisPersonId", division=town_field("division", pl.col("town")),
                            rateCode="rateCode")


def premises_table(dice: Dice, sites: pl.DataFrame) -> pl.DataFrame:
    block = pl.col("block")
    house_number = (100 * dice.between("premise.block_hundred", 1, 98, row=block)
                    + 2 * (ROW % PREMISES_PER_STREET_BLOCK) + dice.below("premise.street_side", 2, row=block))
    return sites.select(
        "cisPremiseId",
        address1=pl.concat_str(house_number.cast(pl.String),
                               dice.pick("premise.street", STREET_NAMES, row=block),
                               dice.pick("premise.street_suffix", STREET_SUFFIXES, row=block), separator=" "),
        city=town_field("name", pl.col("town")),
        county=town_field("county", pl.col("town")),
        state=town_field("state", pl.col("town")),
        postal=pl.concat_str(town_field("zip3", pl.col("town")),
                             digits(dice.below("premise.zip_suffix", 40, row=block), 2)),
        country=pl.lit("USA"),
        timeZone=town_field("time_zone", pl.col("town")),
    )


def service_agreements_table(dice: Dice, sites: pl.DataFrame) -> pl.DataFrame:
    """One electric agreement per service point; move-ins skew recent (people move, houses stay)."""
    years_ago = dice.uniform("agreement.start") ** 2 * 30
    return sites.select(
        cisServiceAgreementId=cis_ids(dice, "agreement.id", sites.height),
        cisAccountId="cisAccountId",
        cisServicePointId="cisServicePointId",
        rateCode="rateCode",
        startDate=days_before_as_of((years_ago * 365).cast(pl.Int64) + 30),
    )


def contacts_table(dice: Dice, persons: pl.DataFrame) -> pl.DataFrame:
    """One contact per phone number and e-mail address a person has, in person order."""
    kinds = {"homePhone": "HOME_PHONE", "businessPhone": "BUSINESS_PHONE", "email": "EMAIL"}
    contacts = (persons.with_row_index("person")
                .unpivot(index=["person", "cisPersonId"], on=list(kinds),
                         variable_name="kind", value_name="value")
                .drop_nulls("value")
                .sort("person", maintain_order=True))
    return contacts.select(contactId=cis_ids(dice, "contact.id", contacts.height), cisPersonId="cisPersonId",
                           kind=pl.col("kind").replace_strict(kinds), value="value")


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


# --- writing and the manifest ----------------------------------------------------------------------------

@dataclass(frozen=True)
class TableFile:
    name: str
    file: str
    rows: int
    bytes: int
    sha256: str
    seconds: float
    """Building plus writing; reported, but kept out of manifest.json, which must not vary between runs."""


@dataclass(frozen=True)
class Manifest:
    customers: int
    seed: int
    format: FileFormat
    thermostat_share: float
    tables: tuple[TableFile, ...]

    def table(self, name: str) -> TableFile:
        return next(table for table in self.tables if table.name == name)

    def to_json(self) -> str:
        return json.dumps({
            "formatVersion": FORMAT_VERSION, "customers": self.customers, "seed": self.seed,
            "format": self.format, "thermostatShare": self.thermostat_share,
            "asOf": AS_OF.isoformat().replace("+00:00", "Z"),
            "tables": {table.name: {"file": table.file, "rows": table.rows, "bytes": table.bytes,
                                    "sha256": table.sha256} for table in self.tables},
        }, indent=2) + "\n"


class TableWriter:
    """Writes one file per table, reports progress, and records what it wrote for the manifest."""

    def __init__(self, out_dir: Path, fmt: FileFormat, progress: Progress | None) -> None:
        self.out_dir = out_dir
        self.fmt = fmt
        self.progress = progress
        self.written: list[TableFile] = []

    def write(self, name: str, build: Callable[[], pl.DataFrame]) -> pl.DataFrame:
        started = time.perf_counter()
        frame = build()
        self._report(name, 0, frame.height)
        fmt: FileFormat = "csv" if name == "make_model" else self.fmt
        path = self.out_dir / f"{name}.{fmt}"
        write_frame(frame, path, fmt)
        self.written.append(TableFile(name, path.name, frame.height, path.stat().st_size, sha256_of(path),
                                      round(time.perf_counter() - started, 3)))
        self._report(name, frame.height, frame.height)
        return frame

    def _report(self, name: str, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(name, done, total)


def write_frame(frame: pl.DataFrame, path: Path, fmt: FileFormat) -> None:
    if fmt == "parquet":
        frame.write_parquet(path, compression="zstd", statistics=True, row_group_size=256 * 1024)
    else:
        frame.write_csv(path, datetime_format="%Y-%m-%dT%H:%M:%SZ", date_format="%Y-%m-%d")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def generate(out_dir: Path, customers: int, seed: int, fmt: FileFormat = "parquet",
             progress: Progress | None = None, *,
             thermostat_share: float = DEFAULT_THERMOSTAT_SHARE) -> Manifest:
    """Write every table of TABLES and manifest.json into out_dir; the same arguments give the same bytes."""
    if not 1 <= customers <= MAX_CUSTOMERS:
        raise ValueError(f"customers must be between 1 and {MAX_CUSTOMERS:,}")
    if not 0.0 <= thermostat_share <= 1.0:
        raise ValueError("thermostat_share must be between 0 and 1")
    if fmt not in ("parquet", "csv"):
        raise ValueError(f"unknown format {fmt!r}: parquet or csv")
    out_dir.mkdir(parents=True, exist_ok=True)
    dice = Dice(seed)
    writer = TableWriter(out_dir, fmt, progress)
    people = customer_frame(dice, customers, thermostat_share)
    sites = site_frame(dice, people)
    writer.write("rates", rates_table)
    persons = writer.write("persons", lambda: persons_table(dice, people))
    accounts = writer.write("accounts", lambda: accounts_table(people))
    writer.write("premises", lambda: premises_table(dice, sites))
    network = build_network(dice, sites)
    writer.write("service_points",
                 lambda: service_points_table(sites, network.service_point_locations["transformerId"]))
    agreements = writer.write("service_agreements", lambda: service_agreements_table(dice, sites))
    writer.write("contacts", lambda: contacts_table(dice, persons))
    writer.write("substations", lambda: network.substations)
    writer.write("feeders", lambda: network.feeders)
    writer.write("transformers", lambda: network.transformers)
    writer.write("service_point_locations", lambda: network.service_point_locations)
    devices = writer.write("devices", lambda: devices_table(dice, people, sites))
    make_model = writer.write("make_model", make_model_table)
    writer.write("enrolled_devices", lambda: enrolled_devices_table(devices, agreements, accounts, make_model))
    manifest = Manifest(customers, seed, fmt, thermostat_share, tuple(writer.written))
    (out_dir / "manifest.json").write_text(manifest.to_json())
    return manifest
