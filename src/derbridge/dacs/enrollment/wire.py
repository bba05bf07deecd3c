"""The enroll request, as the program system's enroll API takes it (the vendor's cross-system shape)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# ---- the request (the program system's enroll API) ------------------------------------------------------


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CustomerInfo(Strict):
    cisPersonId: str | None = Field(default=None, max_length=30)
    cisAccountId: str | None = Field(default=None, max_length=30)
    name: str | None = Field(default=None, max_length=254)
    homePhone: str | None = Field(default=None, max_length=24)
    businessPhone: str | None = Field(default=None, max_length=24)
    email: str | None = Field(default=None, max_length=254)


class ProgramInfo(Strict):
    programCode: str = Field(min_length=1, max_length=30)
    cisServiceAgreementId: str | None = Field(default=None, max_length=30)
    startDate: date | None = None


class LocationInfo(Strict):
    locationId: str | None = Field(default=None, max_length=30)
    division: str | None = Field(default=None, max_length=30)
    cisPremiseId: str | None = Field(default=None, max_length=30)
    cisServicePointId: str | None = Field(default=None, max_length=30)
    timeZone: str | None = Field(default=None, max_length=40)
    address1: str | None = Field(default=None, max_length=254)
    city: str | None = Field(default=None, max_length=90)
    county: str | None = Field(default=None, max_length=90)
    state: str | None = Field(default=None, max_length=6)
    postal: str | None = Field(default=None, max_length=12)
    country: str | None = Field(default=None, max_length=3)


class Asset(Strict):
    sequence: int = Field(ge=1, le=999)
    assetId: str | None = Field(default=None, max_length=30)
    specification: str | None = Field(default=None, max_length=60)
    assetType: str | None = Field(default=None, max_length=30)
    badgeNo: str | None = Field(default=None, max_length=30)
    serialNo: str | None = Field(default=None, max_length=60)
    nicId: str | None = Field(default=None, max_length=100)
    headEndSystem: str | None = Field(default=None, max_length=50)


class AssetInfo(Strict):
    installationMethod: Literal["X1RE", "X1SD", "X1SI", "X1UI"]
    assetOwnership: Literal["W1CO", "W1OW"]
    assetList: list[Asset] = Field(default_factory=list, max_length=20)


class EnrollRequest(Strict):
    """A request to enroll a customer in a program with devices."""

    transactionId: str | None = Field(default=None, min_length=1, max_length=120)
    enrollmentSource: Literal["X1BY", "X1CC", "X1SS"] = "X1BY"
    customerInfo: CustomerInfo
    programInfo: ProgramInfo
    locationInfo: LocationInfo = Field(default_factory=LocationInfo)
    assetInfo: AssetInfo
