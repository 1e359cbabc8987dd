"""Where reference photos may come from, and what happens when an entry's expiry passes."""

from __future__ import annotations

from pathlib import Path

import pytest

from izde.api import Izde
from izde.watchlist.fusion import spaces_of
from tests.cli.helpers import RECORDED_AT, Deployment
from tests.conftest import HAMILTON, require_data
from tests.governance.support import execute, files_under, folder, rows, watch_alerts

# Every unlawful source, as people might type it, with the words its refusal must give.
UNLAWFUL = [
    ("web_scrape", "scraped from the web"),
    ("web", "scraped from the web"),
    ("Web-Scrape", "scraped from the web"),
    ("social_media", "social media"),
    ("social media", "social media"),
    ("cctv_crawl", "harvested from CCTV"),
    ("cctv", "harvested from CCTV"),
    ("open_source", "open-source image collections"),
    ("open-source", "open-source image collections"),
]


@pytest.mark.parametrize(("provenance", "reason"), UNLAWFUL)
def test_unlawful_provenance_is_refused_with_its_reason(deployment: Deployment, provenance: str, reason: str) -> None:
    photo = str(require_data(HAMILTON / "obama.jpg"))
    args = ["watchlist", "add", "Obama", "--category", "wanted", "--legal-basis", "W-1", "--authority", "Court"]
    r = deployment.run("curator", *args, "--expires", "2099-01-01", "--provenance", provenance, "--photo", photo)
    assert r.exit_code == 2
    assert "is refused" in r.stderr and reason in r.stderr
    assert rows(deployment.home, "select count(*) from persons") == [(0,)]
    assert files_under(deployment.home, "photos") == []


def test_unlawful_provenance_is_refused_for_added_photos_too(deployment: Deployment) -> None:
    pid = deployment.enrol("Obama", require_data(HAMILTON / "obama.jpg"))
    photo = str(require_data(HAMILTON / "obama2.jpg"))
    r = deployment.run("curator", "watchlist", "add-photo", pid, "--photo", photo, "--provenance", "social_media")
    assert r.exit_code == 2 and "social media" in r.stderr
    assert rows(deployment.home, "select count(*), max(status) from reference_photos, persons") == [(1, "active")]


def expire_today(dep: Deployment, pid: str) -> None:
    execute(dep.home, "update persons set expires_on = date('now') where id = ?", pid)


def test_an_expired_entry_leaves_the_gallery_and_stops_matching(deployment: Deployment, tmp_path: Path) -> None:
    obama = deployment.enrol("Obama", require_data(HAMILTON / "obama.jpg"))
    lin = deployment.enrol("Lin-Manuel Miranda", require_data(HAMILTON / "lin-manuel-miranda.png"))
    auth = deployment.authorise([obama, lin], ["door"])
    with Izde(home=deployment.home, token=deployment.tokens["op-a"]) as operator:
        assert set(operator.gallery()[0].person_ids) == {obama, lin}
        expire_today(deployment, obama)
        gallery, _ = operator.gallery()
        assert set(gallery.person_ids) == {lin}  # the entry stops matching at the start of its expiry day
        # Lin's one photo, in each network's space (dlib's and FaceRes's): nothing of Obama's is left.
        assert [len(s.owner) for s in spaces_of(gallery)] == [1, 1]  # type: ignore[arg-type]

    probe = folder(tmp_path, "probe", "obama.jpg")
    assert watch_alerts(deployment, probe, "door", auth) == []


def test_an_entry_expiring_during_a_session_stops_matching_at_once(
    deployment: Deployment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import datetime

    import izde.service.watching as watching
    from izde.api import AlertView

    monkeypatch.setattr(watching, "RECHECK_S", 0.0)  # re-read the watchlist before every frame
    lin = deployment.enrol("Lin-Manuel Miranda", require_data(HAMILTON / "lin-manuel-miranda.png"))
    obama = deployment.enrol("Obama", require_data(HAMILTON / "obama.jpg"))
    auth = deployment.authorise([lin, obama], ["door"])
    probe = folder(tmp_path, "probe", "lin-manuel-miranda.png", "obama2.jpg")  # Lin first, then Obama
    assert [a["person_id"] for a in watch_alerts(deployment, probe, "door", auth)] == [lin, obama]

    def expire_obama(alert: AlertView) -> None:
        if alert.person_id == lin:
            expire_today(deployment, obama)

    with Izde(home=deployment.home, token=deployment.tokens["op-a"]) as operator:
        recorded_at = datetime.fromisoformat(RECORDED_AT)
        report = operator.watch(str(probe), "door", auth, recorded_at=recorded_at, on_alert=expire_obama)
    assert report.status == "completed" and report.frames_analysed == 2
    assert [a.person_id for a in report.alerts] == [lin]  # Obama's photo came after the expiry: no alert


def test_retention_deletes_an_expired_entry_with_everything_it_holds(deployment: Deployment) -> None:
    home = deployment.home
    obama = deployment.enrol("Obama", require_data(HAMILTON / "obama.jpg"), require_data(HAMILTON / "obama2.jpg"))
    lin = deployment.enrol("Lin-Manuel Miranda", require_data(HAMILTON / "lin-manuel-miranda.png"))
    assert len(files_under(home, f"photos/{obama}")) == 2
    expire_today(deployment, obama)

    with Izde(home=home, token=deployment.tokens["admin"]) as admin:
        report = admin.purge()
    assert report.expired_persons == 1
    assert rows(home, "select id from persons") == [(lin,)]
    for table, per_photo in (("reference_photos", 1), ("templates", 2)):  # a template per network and photo
        assert rows(home, f"select count(*) from {table} where person_id = ?", obama) == [(0,)]
        assert rows(home, f"select count(*) from {table} where person_id = ?", lin) == [(per_photo,)]
    assert files_under(home, f"photos/{obama}") == []
    assert len(files_under(home, f"photos/{lin}")) == 1
    (purge,) = rows(home, "select details from audit_log where action = 'retention.purge'")
    assert '"expired_persons":1' in str(purge[0])
