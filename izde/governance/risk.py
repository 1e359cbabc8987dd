"""Risk classification of a deployment, modelled on the EU AI Act. Pure functions over a small value.

- Art. 5(1)(h): real-time remote biometric identification in publicly accessible spaces is prohibited,
  except for law enforcement and only for the objectives listed in (h)(i)-(iii).
- Art. 5(1)(e): building facial recognition databases by untargeted scraping of the internet or CCTV
  footage is prohibited.
- Art. 5(1)(f)/(g): emotion recognition and biometric categorisation by sensitive attributes are refused
  (izde never infers any attribute of a person).
- Annex III 1(a): remote biometric identification is high-risk; Art. 27 requires a fundamental-rights
  impact assessment before first use. Verification (1:1, confirming a claimed identity) is excluded.
- Art. 5(2)-(3): real-time use needs prior authorisation by a judicial or independent authority.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from izde.governance.authorisations import Objective
from izde.watchlist.types import UNLAWFUL_SOURCES, Provenance


class RiskClass(enum.StrEnum):
    REFUSED = "refused"  # prohibited practice: izde will not run it
    HIGH = "high"  # allowed with the high-risk obligations met
    OTHER = "other"  # neither prohibited nor high-risk


# Features people ask for that izde refuses whatever the deployment, with the reason.
REFUSED_FEATURES: dict[str, str] = {
    "emotion": "emotion recognition is refused (AI Act Art. 5(1)(f); izde infers no emotions)",
    "emotion_recognition": "emotion recognition is refused (AI Act Art. 5(1)(f); izde infers no emotions)",
    "attribute_inference": "inferring attributes of people is refused (Art. 5(1)(g); izde infers none)",
    "attributes": "inferring attributes of people is refused (Art. 5(1)(g); izde infers none)",
    "gender": "inferring gender is refused (biometric categorisation, Art. 5(1)(g))",
    "race": "inferring race or ethnicity is refused (biometric categorisation, Art. 5(1)(g))",
    "ethnicity": "inferring race or ethnicity is refused (biometric categorisation, Art. 5(1)(g))",
    "age": "inferring age is refused (izde infers no attribute of a person)",
    "clustering": "clustering or enrolling unknown faces is refused (untargeted identification)",
    "auto_enrolment": "clustering or enrolling unknown faces is refused (untargeted identification)",
}
# Features that izde offers and that add nothing to the classification.
KNOWN_FEATURES = frozenset({"identification", "alerts", "evidence_blur", "counts"})

LISTED_OBJECTIVES: dict[Objective, str] = {
    Objective.MISSING_PERSON: "Art. 5(1)(h)(i): targeted search for victims and missing persons",
    Objective.IMMINENT_THREAT: "Art. 5(1)(h)(ii): prevention of a specific, imminent threat to life",
    Objective.SERIOUS_OFFENCE: "Art. 5(1)(h)(iii): locating a suspect of a serious offence (Annex II)",
}


@dataclass(frozen=True, slots=True)
class Deployment:
    """What the classification needs to know about one deployment (an authorisation and its context)."""

    law_enforcement: bool
    live: bool
    recorded: bool
    objective: str | None
    provenances: frozenset[str] = frozenset()
    fria_recorded: bool = False
    authorised: bool = False  # granted by the competent authority (not merely requested or urgent)
    offence_code: str | None = None
    features: frozenset[str] = frozenset()
    identification: bool = True  # False: 1:1 verification of a claimed identity only
    public_space: bool = True


@dataclass(frozen=True, slots=True)
class Classification:
    risk_class: RiskClass
    reasons: tuple[str, ...]
    missing: tuple[str, ...] = field(default=())  # what must be done before use

    @property
    def allowed_now(self) -> bool:
        return self.risk_class is not RiskClass.REFUSED and not self.missing


def _norm(value: str) -> str:
    return value.strip().lower().replace("-", "_").replace(" ", "_")


def prohibitions(d: Deployment) -> list[str]:
    """Every reason the deployment is a prohibited practice (empty when none)."""
    out: list[str] = []
    for f in sorted(_norm(x) for x in d.features):
        if f in REFUSED_FEATURES:
            out.append(REFUSED_FEATURES[f])
        elif f not in KNOWN_FEATURES:
            out.append(f"feature {f!r} is not something izde does; it is refused rather than guessed at")
    for p in sorted(_norm(x) for x in d.provenances):
        if p in UNLAWFUL_SOURCES:
            out.append(f"reference photos of provenance {p!r}: {UNLAWFUL_SOURCES[p]} (Art. 5(1)(e))")
        elif p not in {v.value for v in Provenance}:
            out.append(f"reference photos of unknown provenance {p!r} cannot be shown to be lawfully obtained")
    if d.live and d.identification and d.public_space:
        if not d.law_enforcement:
            out.append(
                "real-time remote biometric identification in public spaces is prohibited except for law "
                "enforcement (Art. 5(1)(h)); the organisation is not a law-enforcement authority"
            )
        objective = _objective(d.objective)
        if objective is None:
            out.append(
                f"objective {d.objective!r} is not one of those listed in Art. 5(1)(h)(i)-(iii) "
                f"({', '.join(o.value for o in Objective)})"
            )
    return out


def _objective(value: str | None) -> Objective | None:
    try:
        return Objective(_norm(value)) if value else None
    except ValueError:
        return None


def classify(d: Deployment) -> Classification:
    """Refused, high-risk or other; with the reasons and, for high-risk, what is still missing."""
    refused = prohibitions(d)
    if refused:
        return Classification(RiskClass.REFUSED, tuple(refused))
    if not d.identification:
        return Classification(
            RiskClass.OTHER,
            ("biometric verification that only confirms a claimed identity is excluded from Annex III 1(a)",),
        )
    reasons = ["remote biometric identification is high-risk (Annex III 1(a))"]
    missing: list[str] = []
    if not d.fria_recorded:
        missing.append("a fundamental-rights impact assessment before first use (Art. 27): izde auth fria")
    if d.live:
        objective = _objective(d.objective)
        assert objective is not None  # prohibitions() refused any other
        reasons.append(f"real-time use by a law-enforcement authority for {LISTED_OBJECTIVES[objective]}")
        if objective is Objective.SERIOUS_OFFENCE and not d.offence_code:
            missing.append("the offence code of the serious offence (Annex II)")
        if not d.authorised:
            missing.append("the grant of a judicial or independent administrative authority (Art. 5(3))")
    elif d.recorded:
        reasons.append("post (recorded-footage) identification")
        if not d.authorised:
            missing.append("the grant of the competent authority for this deployment")
    if d.provenances:
        reasons.append("reference photos come from lawful sources: " + ", ".join(sorted(d.provenances)))
    else:
        missing.append("at least one covered person with a reference photo of lawful provenance")
    return Classification(RiskClass.HIGH, tuple(reasons), tuple(missing))
