"""Validated values for watchlist enrolment."""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from izde.errors import InvalidInput


class Category(enum.StrEnum):
    WANTED = "wanted"
    MISSING = "missing"
    VICTIM = "victim"
    SUSPECT = "suspect"


class Provenance(enum.StrEnum):
    """Lawful sources of a reference photo. Anything else is refused at enrolment."""

    OFFICIAL_RECORD = "official_record"
    CUSTODY_PHOTO = "custody_photo"
    IDENTITY_DOCUMENT = "identity_document"
    FAMILY_PROVIDED = "family_provided"
    COURT_ORDER = "court_order"


# Sources people name that are never lawful for a biometric watchlist, with the reason given back to them.
UNLAWFUL_SOURCES: dict[str, str] = {
    "web_scrape": "images scraped from the web may not be used to build biometric databases",
    "web": "images scraped from the web may not be used to build biometric databases",
    "social_media": "photos taken from social media may not be used to build biometric databases",
    "cctv_crawl": "faces harvested from CCTV footage may not be enrolled; enrolment needs an identified person",
    "cctv": "faces harvested from CCTV footage may not be enrolled; enrolment needs an identified person",
    "open_source": "open-source image collections may not be used to build biometric databases",
}


def parse_provenance(value: str) -> Provenance:
    key = value.strip().lower().replace("-", "_").replace(" ", "_")
    if key in UNLAWFUL_SOURCES:
        raise InvalidInput(
            f"provenance '{value}' is refused: {UNLAWFUL_SOURCES[key]}",
            "use one of: " + ", ".join(p.value for p in Provenance),
        )
    try:
        return Provenance(key)
    except ValueError:
        raise InvalidInput(
            f"unknown provenance '{value}'", "use one of: " + ", ".join(p.value for p in Provenance)
        ) from None


class PersonSpec(BaseModel):
    """What a curator states about a person to be enrolled. Every field is required."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    display_name: str = Field(min_length=1, max_length=200)
    category: Category
    legal_basis: str = Field(min_length=1, max_length=500, description="Reference of the legal basis (warrant...).")
    issuing_authority: str = Field(min_length=1, max_length=200)
    expires_on: date = Field(description="The entry stops matching at the start of this day (UTC).")

    @field_validator("expires_on")
    @classmethod
    def _in_future(cls, v: date) -> date:
        if v <= datetime.now(UTC).date():
            raise ValueError(f"expiry {v.isoformat()} is not in the future")
        return v


class PhotoSpec(BaseModel):
    """A reference photo to enrol, with where it came from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: Path
    provenance: Provenance
    capture_date: date | None = None
    face: int | None = Field(None, ge=1, description="Which face to use (1-based, left to right) when several.")

    @field_validator("provenance", mode="before")
    @classmethod
    def _lawful(cls, v: object) -> object:
        return parse_provenance(v) if isinstance(v, str) else v

    @field_validator("capture_date")
    @classmethod
    def _not_future(cls, v: date | None) -> date | None:
        if v is not None and v > datetime.now(UTC).date():
            raise ValueError(f"capture date {v.isoformat()} is in the future")
        return v
