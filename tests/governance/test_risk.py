"""The risk classification, cell by cell: prohibited practices, high-risk obligations, and what is missing."""

from __future__ import annotations

from dataclasses import replace

import pytest

from izde.governance.risk import Deployment, RiskClass, classify

BASE = Deployment(
    law_enforcement=True,
    live=True,
    recorded=False,
    objective="missing_person",
    provenances=frozenset({"family_provided"}),
    fria_recorded=True,
    authorised=True,
)


@pytest.mark.parametrize(
    "change, risk, reason_part, missing",
    [
        ({}, RiskClass.HIGH, "Annex III 1(a)", []),
        ({"fria_recorded": False}, RiskClass.HIGH, "Annex III 1(a)", ["Art. 27"]),
        ({"authorised": False}, RiskClass.HIGH, "real-time", ["Art. 5(3)"]),
        ({"law_enforcement": False}, RiskClass.REFUSED, "Art. 5(1)(h)", []),
        ({"objective": "crowd_monitoring"}, RiskClass.REFUSED, "not one of those listed", []),
        ({"objective": None}, RiskClass.REFUSED, "not one of those listed", []),
        ({"objective": "serious_offence"}, RiskClass.HIGH, "Art. 5(1)(h)(iii)", ["Annex II"]),
        ({"objective": "serious_offence", "offence_code": "CC-105"}, RiskClass.HIGH, "(iii)", []),
        ({"objective": "imminent_threat"}, RiskClass.HIGH, "Art. 5(1)(h)(ii)", []),
        ({"provenances": frozenset({"web_scrape"})}, RiskClass.REFUSED, "Art. 5(1)(e)", []),
        ({"provenances": frozenset({"social-media", "official_record"})}, RiskClass.REFUSED, "social media", []),
        ({"provenances": frozenset({"found_somewhere"})}, RiskClass.REFUSED, "unknown provenance", []),
        ({"provenances": frozenset()}, RiskClass.HIGH, "Annex III", ["lawful provenance"]),
        ({"features": frozenset({"emotion"})}, RiskClass.REFUSED, "Art. 5(1)(f)", []),
        ({"features": frozenset({"gender"})}, RiskClass.REFUSED, "Art. 5(1)(g)", []),
        ({"features": frozenset({"attribute_inference"})}, RiskClass.REFUSED, "attributes", []),
        ({"features": frozenset({"clustering"})}, RiskClass.REFUSED, "unknown faces", []),
        ({"features": frozenset({"teleport"})}, RiskClass.REFUSED, "not something izde does", []),
        ({"features": frozenset({"alerts"})}, RiskClass.HIGH, "Annex III", []),
        # Recorded footage: no Art. 5(1)(h) limits, still high-risk with the FRIA before first use.
        ({"live": False, "recorded": True, "law_enforcement": False}, RiskClass.HIGH, "post", []),
        ({"live": False, "recorded": True, "objective": "other"}, RiskClass.HIGH, "post", []),
        ({"live": False, "recorded": True, "fria_recorded": False}, RiskClass.HIGH, "post", ["Art. 27"]),
        ({"live": False, "recorded": True, "authorised": False}, RiskClass.HIGH, "post", ["competent authority"]),
        ({"live": False, "recorded": True, "features": frozenset({"race"})}, RiskClass.REFUSED, "race", []),
        ({"identification": False}, RiskClass.OTHER, "verification", []),
        ({"identification": False, "features": frozenset({"emotion"})}, RiskClass.REFUSED, "emotion", []),
        ({"public_space": False, "law_enforcement": False}, RiskClass.HIGH, "Annex III", []),
    ],
)
def test_classification_table(change: dict[str, object], risk: RiskClass, reason_part: str, missing: list[str]) -> None:
    c = classify(replace(BASE, **change))  # type: ignore[arg-type]
    assert c.risk_class is risk, c
    assert any(reason_part in r for r in c.reasons), c.reasons
    assert len(c.missing) == len(missing) and all(m in got for m, got in zip(missing, c.missing, strict=True)), c
    assert c.allowed_now == (risk is not RiskClass.REFUSED and not missing)


def test_every_prohibition_is_listed_not_just_the_first() -> None:
    c = classify(replace(BASE, law_enforcement=False, features=frozenset({"emotion"})))
    assert c.risk_class is RiskClass.REFUSED and len(c.reasons) == 2


def test_the_reasons_name_the_lawful_sources_of_the_photos() -> None:
    c = classify(replace(BASE, provenances=frozenset({"official_record", "family_provided"})))
    assert "reference photos come from lawful sources: family_provided, official_record" in c.reasons
    assert not any("lawful sources" in r for r in classify(replace(BASE, provenances=frozenset())).reasons)
