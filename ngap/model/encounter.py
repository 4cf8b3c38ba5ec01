"""The encounter: what happened, when, where, for whom and by whom.  Never codes.

Input files (JSON or YAML) are validated by these pydantic models; unknown fields, impossible
dates, dates after today, negative ages and times out of range are errors naming the field, in
French and English (``FieldError``).  A yes/no circumstance left out is false; written ``null`` it
stays *unknown*, and the rule base keeps it open (a claims extract does not record the time of an
act, urgency or regulation).

French users write French: aliases (``cabinet``, ``visite``, ``femme``, ``oui``, ``secteur 1``,
``21h30``…) are normalised to the canonical values before validation (``ngap.model.labels``), so
the JSON Schema and every answer keep the stable identifiers.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ngap.clock import today
from ngap.model import labels
from ngap.model.vocabulary import ACTIVITIES, CCAM_ACTS, DEPARTMENTS, TRIPS

KNOWN_DONE = tuple(ACTIVITIES) + CCAM_ACTS
_KNOWN = frozenset(KNOWN_DONE)
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_LOOSE_TIME = re.compile(r"^(\d{1,2})\s*(?::|h|H)\s*(\d{2})?$")

Flag = bool | None


class FieldError(ValueError):
    """A refused value, explained in French and in English (``str()`` is the English text)."""

    def __init__(self, fr: str, en: str) -> None:
        super().__init__(en)
        self.fr = fr
        self.en = en


def _flags(data: object, names: tuple[str, ...]) -> object:
    """``oui`` / ``non`` (``vrai``, ``faux``…) read as yes/no for the named fields."""
    if isinstance(data, dict):
        changed = {
            k: labels.canonical_flag(v)
            for k, v in data.items()
            if isinstance(v, str) and k in names
        }
        if changed:
            data = {**data, **changed}
    return data


def _enum(data: object, field: str, valid: tuple[str, ...]) -> object:
    """A French or loosely written value of an enumerated field, as its canonical value."""
    if isinstance(data, dict):
        value = data.get(field)
        if isinstance(value, str) and value not in valid:
            data = {**data, field: labels.canonical(field, value, valid)}
    return data


def _iso_date(value: object, field: str) -> object:
    """A date must be written YYYY-MM-DD: no number of seconds, no implicit conversion."""
    if value is None or isinstance(value, (str, dt.date)):
        return value
    raise FieldError(
        f"{value!r} n'est pas une date AAAA-MM-JJ (écrire par exemple {field}: 2025-01-10)",
        f"{value!r} is not a date YYYY-MM-DD (write e.g. {field}: 2025-01-10)",
    )


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Practitioner(_Strict):
    specialty: Literal["gp", "gp_specialist"] = Field(
        "gp", description="gp: médecin généraliste; gp_specialist: qualified specialist in MG."
    )
    sector: Literal["1", "2"] | None = Field("1", description="Convention sector (1 DP: use 2).")
    optam: Flag = Field(False, description="Sector 2 doctor who signed OPTAM / OPTAM-CO.")
    rate: Literal["opposable", "above"] | None = Field(
        "opposable", description="Billing at the opposable rate, or above it (dépassement)."
    )
    treating_doctor: Flag = Field(
        False, description="The doctor is the patient's médecin traitant."
    )

    @model_validator(mode="before")
    @classmethod
    def _aliases(cls, data: object) -> object:
        sector = data.get("sector") if isinstance(data, dict) else None
        if isinstance(data, dict) and isinstance(sector, int) and not isinstance(sector, bool):
            data = {**data, "sector": str(sector)}
        data = _enum(data, "specialty", ("gp", "gp_specialist"))
        data = _enum(data, "sector", ("1", "2"))
        data = _enum(data, "rate", ("opposable", "above"))
        return _flags(data, ("optam", "treating_doctor"))


class Age(_Strict):
    years: Annotated[int, Field(ge=0, le=130)] = 0
    months: Annotated[int, Field(ge=0, le=11)] = 0
    days: Annotated[int, Field(ge=0, le=31)] = 0


class Patient(_Strict):
    birth_date: dt.date | None = Field(None, description="Preferred: exact ages matter (COE).")
    age: Age | None = Field(None, description="Completed age, when the birth date is unknown.")
    sex: Literal["f", "m"] | None = None
    ald: Flag = Field(False, description="Long-term condition (ALD) with co-payment exemption.")
    ald_neuro: Flag = Field(False, description="ALD for a neurodegenerative disease.")
    palliative: Flag = Field(False, description="Palliative care (CSP L.1110-10).")
    has_treating_doctor: Flag = Field(True, description="A médecin traitant is declared.")
    unable_to_move: Flag = Field(False, description="Cannot move for a medical reason.")

    @model_validator(mode="before")
    @classmethod
    def _aliases(cls, data: object) -> object:
        if isinstance(data, dict):
            age = data.get("age")
            if isinstance(age, int) and not isinstance(age, bool):
                data = {**data, "age": {"years": age}}
            elif isinstance(age, str) and age.strip().isdigit():
                data = {**data, "age": {"years": int(age.strip())}}
        data = _enum(data, "sex", ("f", "m"))
        return _flags(
            data,
            ("ald", "ald_neuro", "palliative", "has_treating_doctor", "unable_to_move"),
        )

    @field_validator("birth_date", mode="before")
    @classmethod
    def _birth_text(cls, value: object) -> object:
        return _iso_date(value, "birth_date")

    @model_validator(mode="after")
    def _one_age(self) -> Patient:
        if self.birth_date is not None and self.age is not None:
            raise ValueError("give patient.birth_date or patient.age, not both")
        return self


class Circumstances(_Strict):
    emergency: Flag = Field(False, description="Emergency justified by the patient's state.")
    regulated: Flag = Field(False, description="Sent by the SAS / centre 15 regulator.")
    regulated_duty: Flag = Field(False, description="Act on regulated out-of-hours duty (PDSA).")
    sas_within_24h: Flag = Field(False, description="Home visit within 24 h of the SAS request.")
    left_at_once: Flag = Field(False, description="Interrupted consultations, left at once (MU).")
    correspondent: Flag = Field(False, description="Correspondent in the coordinated pathway.")
    mt_request: Flag = Field(False, description="Explicit request of the médecin traitant (APC).")
    seen_last_4_months: Flag = Field(False, description="Consultant saw the patient < 4 months.")
    fast_referral: Flag = Field(False, description="Correspondent appointment within the delay.")
    home_justified: Flag = Field(False, description="Home visit justified (other criteria).")
    discharge_30d: Flag = Field(False, description="Within 30 days of a qualifying discharge.")
    discharge_heart_failure: Flag = Field(False, description="Within 2 months, heart failure.")
    discharge_45d: Flag = Field(False, description="Within 45 days of a discharge (GL1).")
    new_treating_doctor: Flag = Field(False, description="First visit of a new médecin traitant.")
    burn_face_hands: Flag = Field(False, description="Burn on the face or hands.")
    multiple_recent_trauma: Flag = Field(
        False, description="Technical acts for several recent traumatic lesions (CCAM III-3 B)."
    )
    different_limbs: Flag = Field(
        False, description="Surgical acts on different limbs, or trunk / head and a limb."
    )


    @model_validator(mode="before")
    @classmethod
    def _aliases(cls, data: object) -> object:
        return _flags(data, tuple(cls.model_fields))


PLAIN_ALLOWANCE_KM = 2.0
MOUNTAIN_ALLOWANCE_KM = 1.0
"""NGAP general provisions art. 13 C: IK are paid on the distance travelled less 2 km in the
plain, 1 km in the mountain, deducted on the way out and on the way back."""


class Travel(_Strict):
    mountain: Flag = Field(False, description="Home or practice in a mountain zone.")
    ik_distance: Flag = Field(False, description="Outside the town and beyond the allowance.")
    on_foot_or_ski: Flag = Field(False, description="Trip made on foot or on skis.")
    km: Annotated[float, Field(ge=0, le=500)] = Field(
        0, description="Billable kilometres for IK (allowance already deducted, both legs)."
    )
    distance_km: float | None = Field(
        None,
        ge=0,
        le=250,
        description="One-way distance from the practice to the patient, in km; the billable km "
        "are then computed: 2 x (distance - 2 km) in the plain, 2 x (distance - 1 km) in the "
        "mountain (NGAP art. 13 C). Give km or distance_km, not both.",
    )

    @model_validator(mode="after")
    def _one_distance(self) -> Travel:
        if self.distance_km is not None:
            if self.km:
                raise ValueError("give travel.km (billable) or travel.distance_km, not both")
            if self.mountain is None:
                raise ValueError(
                    "travel.distance_km needs travel.mountain stated: the allowance is 2 km in "
                    "the plain and 1 km in the mountain"
                )
        return self

    @property
    def billable_km(self) -> float:
        """The kilometres IK is paid on: ``km`` as given, or computed from the distance."""
        return billable_km(self.km, self.distance_km, self.mountain)

    @model_validator(mode="before")
    @classmethod
    def _aliases(cls, data: object) -> object:
        return _flags(data, ("mountain", "ik_distance", "on_foot_or_ski"))


def billable_km(km: float, distance_km: float | None, mountain: bool | None) -> float:
    """Billable km: ``km`` when no distance is given; otherwise the distance less the allowance
    (1 km in the mountain, 2 km elsewhere), on both legs, never below zero (NGAP art. 13 C)."""
    if distance_km is None:
        return km
    allowance = MOUNTAIN_ALLOWANCE_KM if mountain else PLAIN_ALLOWANCE_KM
    return round(max(0.0, 2 * (distance_km - allowance)), 3)


class Encounter(_Strict):
    """One patient encounter.  Only ``date``, ``place`` and ``done`` are required."""

    id: str | None = None
    date: dt.date
    time: str | None = Field(None, description="Time of the act, HH:MM (unknown if absent).")
    call_time: str | None = Field(None, description="Time of the call, HH:MM (night rule).")
    place: Literal["office", "home", "institution", "tele"]
    zone: Literal["metro", "drom"] = "metro"
    department: Literal["metro", "971", "972", "973", "974", "976"] | None = Field(
        None,
        description="Department, for the tariffs that differ between overseas departments "
        "(971 Guadeloupe, 972 Martinique, 973 Guyane, 974 La Réunion, 976 Mayotte); an "
        "overseas department implies zone drom. Unknown if absent: zone drom alone leaves the "
        "per-department amounts unknown.",
    )
    alsace_moselle: bool = False
    pdsa_extended: Flag = Field(
        None,
        description="The regional PDSA order covers Saturday afternoon and bridge days "
        "(CSP R.6315-1); these are then out-of-hours duty periods. Unknown unless stated: "
        "it depends on the region's order, so answers on those days are conditional on it.",
    )
    trip: str = Field("single", description="Rank of the patient in a several-patient trip.")
    practitioner: Practitioner = Field(default_factory=Practitioner)
    patient: Patient = Field(default_factory=Patient)
    circumstances: Circumstances = Field(default_factory=Circumstances)
    travel: Travel = Field(default_factory=Travel)
    done: tuple[str, ...] = Field(description="What was performed (activities, CCAM codes).")
    claimed: tuple[str, ...] | None = Field(None, description="Codes claimed (check only).")

    @model_validator(mode="before")
    @classmethod
    def _aliases(cls, data: object) -> object:
        data = _enum(data, "place", ("office", "home", "institution", "tele"))
        data = _enum(data, "zone", ("metro", "drom"))
        data = _enum(data, "trip", TRIPS)
        data = _flags(data, ("alsace_moselle", "pdsa_extended"))
        done = data.get("done") if isinstance(data, dict) else None
        loose = isinstance(done, (list, tuple)) and any(
            isinstance(item, str) and item not in _KNOWN for item in done
        )
        if isinstance(data, dict) and isinstance(done, (list, tuple)) and loose:
            data = {
                **data,
                "done": [
                    labels.canonical_activity(item, KNOWN_DONE) if isinstance(item, str) else item
                    for item in done
                ],
            }
        return data

    @field_validator("date", mode="before")
    @classmethod
    def _date_text(cls, value: object) -> object:
        return _iso_date(value, "date")

    @field_validator("date")
    @classmethod
    def _not_future(cls, value: dt.date) -> dt.date:
        now = today()
        if value > now:
            raise FieldError(
                f"{value.isoformat()} est après aujourd'hui ({now.isoformat()}) : "
                "un acte à venir ne se cote pas",
                f"{value.isoformat()} is after today ({now.isoformat()}): "
                "an act yet to come cannot be coded",
            )
        return value

    @field_validator("time", "call_time", mode="before")
    @classmethod
    def _loose_time(cls, value: object) -> object:
        """``21h30``, ``21 h``, ``9:30`` read as ``21:30``, ``21:00``, ``09:30``."""
        if isinstance(value, str) and not _TIME.match(value):
            match = _LOOSE_TIME.match(value.strip())
            if match:
                return f"{int(match.group(1)):02d}:{match.group(2) or '00'}"
        return value

    @model_validator(mode="before")
    @classmethod
    def _zone_of_department(cls, data: object) -> object:
        """An overseas department implies the overseas zone when the zone is not written."""
        if isinstance(data, dict) and isinstance(data.get("department"), int):
            data = {**data, "department": str(data["department"])}  # `department: 971` in YAML
        if isinstance(data, dict) and "zone" not in data:
            department = data.get("department")
            if department is not None and str(department) in DEPARTMENTS:
                return {**data, "zone": "drom"}
        return data

    @model_validator(mode="after")
    def _department_in_zone(self) -> Encounter:
        if self.department is not None:
            overseas = self.department in DEPARTMENTS
            if overseas != (self.zone == "drom"):
                raise ValueError(
                    f"department {self.department} is not in zone {self.zone}"
                )
        return self

    @field_validator("time", "call_time")
    @classmethod
    def _hhmm(cls, value: str | None) -> str | None:
        if value is not None and not _TIME.match(value):
            raise FieldError(
                f"{value!r} n'est pas une heure HH:MM entre 00:00 et 23:59",
                f"{value!r} is not a time HH:MM between 00:00 and 23:59",
            )
        return value

    @field_validator("trip")
    @classmethod
    def _trip(cls, value: str) -> str:
        if value not in TRIPS:
            fr = labels.suggestion(value, TRIPS, labels.ENUM_ALIASES["trip"], "fr")
            en = labels.suggestion(value, TRIPS, labels.ENUM_ALIASES["trip"], "en")
            raise FieldError(
                f"déplacement inconnu {value!r} ; valeurs possibles : {', '.join(TRIPS)}{fr}",
                f"unknown trip {value!r}; expected one of {', '.join(TRIPS)}{en}",
            )
        return value

    @field_validator("done")
    @classmethod
    def _done(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            if item not in KNOWN_DONE:
                fr = labels.suggestion(item, KNOWN_DONE, labels.ACTIVITY_ALIASES, "fr")
                en = labels.suggestion(item, KNOWN_DONE, labels.ACTIVITY_ALIASES, "en")
                raise FieldError(
                    f"activité inconnue {item!r}{fr} (liste : ngap vocabulary)",
                    f"unknown activity {item!r}{en} (list: ngap vocabulary)",
                )
        return value

    @model_validator(mode="after")
    def _dates(self) -> Encounter:
        birth = self.patient.birth_date
        if birth is not None and birth > self.date:
            raise FieldError(
                "patient.birth_date est après la date de la rencontre",
                "patient.birth_date is after the date of the encounter",
            )
        return self

    @staticmethod
    def minutes(hhmm: str) -> int:
        hours, minutes = hhmm.split(":")
        return int(hours) * 60 + int(minutes)
