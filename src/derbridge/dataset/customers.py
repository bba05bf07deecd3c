"""The CIS extract: persons, accounts, premises, service points' sites, service agreements, contacts and rates,
with synthetic names and streets, fictional phone numbers (555-01xx) and e-mail at example domains."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import accumulate

import polars as pl

from derbridge.dataset.draws import ROW, Dice, cis_ids, days_before_as_of, digits, gather, runs
from derbridge.dataset.spec import PREMISES_PER_STREET_BLOCK, SECOND_THERMOSTAT_SHARE, SERVICE_POINTS_PER_TRANSFORMER

SECOND_PREMISE_SHARE = 0.02
"""Of accounts: a second premise (a rental next door), each premise with one electric service point."""
HOME_PHONE_SHARE = 0.95
BUSINESS_PHONE_SHARE = 0.25
EMAIL_SHARE = 0.85

RATE_CODES = {"E-RES": 0.70, "E-RES-TOU": 0.17, "E-RES-EV": 0.08, "E-SGS": 0.05}
"""Share of accounts on each rate."""
RATE_DESCRIPTIONS = {
    "E-RES": "Residential service",
    "E-RES-TOU": "Residential time-of-use",
    "E-RES-EV": "Residential electric-vehicle time-of-use",
    "E-SGS": "Small general service",
}


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


def town_of(premise: pl.Expr, premises: int) -> pl.Expr:
    """Towns take contiguous blocks of premises by weight: file neighbours are grid neighbours."""
    total = sum(town.weight for town in TOWNS)
    starts = [int(premises * share / total) for share in accumulate(town.weight for town in TOWNS)][:-1]
    return pl.sum_horizontal([premise >= start for start in starts]).cast(pl.UInt32)


def town_field(field: str, town: pl.Expr) -> pl.Expr:
    return gather([getattr(each, field) for each in TOWNS], town)


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
