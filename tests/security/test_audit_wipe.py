"""Wiping or truncating the audit log is found, however the chain continues afterwards.

Each layer catches a different attack: the chain itself (gaps and restarts, as new entries continue after the
recorded head), the head kept in the database (newest rows deleted by SQL), the head file (the database's head
row deleted as well), and an export manifest held by the oversight body (the host rolled back as a whole)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from izde.api import Izde
from izde.cli.main import app
from izde.governance import audit_head
from izde.governance.audit_verify import BROKEN_EXIT, read_witness
from izde.governance.roles import Role
from izde.service.audit import manifest_path
from izde.store.models import AuditEntry, AuditHead
from tests.security.conftest import PASSWORD, add_user


def sql(izde: Izde, *statements: str) -> None:
    with izde.db.engine.begin() as conn:
        for st in statements:
            conn.exec_driver_sql(st)


def as_auditor(izde: Izde) -> None:
    izde.login("auditor", PASSWORD)


def test_wiped_log_then_a_login_is_a_break_not_a_new_chain(deployment: Izde) -> None:
    add_user(deployment, "auditor", Role.AUDITOR)
    as_auditor(deployment)
    assert deployment.verify_audit(head=True).ok
    with deployment.db.session(readonly=True) as s:
        before = s.query(AuditEntry).count()
    sql(deployment, "DELETE FROM audit_log")
    deployment.login("admin", PASSWORD)  # one ordinary action after the wipe
    with deployment.db.session(readonly=True) as s:
        first = s.query(AuditEntry.seq).order_by(AuditEntry.seq).first()
    assert first is not None and first[0] > before  # continued after the head, never restarted at 1
    as_auditor(deployment)
    plain = deployment.verify_audit()
    assert not plain.ok and plain.problems[0].kind == "deleted"
    assert not deployment.verify_audit(head=True).ok


def test_wiped_log_and_its_database_head_are_caught_by_the_head_file(deployment: Izde) -> None:
    add_user(deployment, "auditor", Role.AUDITOR)
    sql(deployment, "DELETE FROM audit_log", "DELETE FROM audit_head")
    deployment.login("admin", PASSWORD)  # ordinary work goes on: the chain continues after the head file
    as_auditor(deployment)
    r = deployment.verify_audit(head=True)
    assert not r.ok and any(p.kind == "deleted" for p in r.problems)
    # Even once the wiped chain grows past the old head, the file never moves back to a restarted chain.
    for _ in range(3):
        deployment.login("admin", PASSWORD)
    as_auditor(deployment)
    assert not deployment.verify_audit(head=True).ok


def test_empty_chain_after_a_head_is_a_break(deployment: Izde) -> None:
    add_user(deployment, "auditor", Role.AUDITOR)
    as_auditor(deployment)
    sql(deployment, "DELETE FROM audit_log")
    r = deployment.verify_audit(head=True)
    assert not r.ok and "wiped" in r.problems[0].message


def test_truncation_with_the_head_file_restored_is_caught_by_the_database_head(deployment: Izde) -> None:
    add_user(deployment, "auditor", Role.AUDITOR)
    as_auditor(deployment)
    path = audit_head.head_path(deployment.settings)
    old = path.read_bytes()
    with deployment.db.session(readonly=True) as s:
        seq = audit_head.read(path, deployment.audit_key).seq  # type: ignore[union-attr]
        assert s.get(AuditHead, 1) is not None
    for _ in range(3):
        deployment.login("admin", PASSWORD)
    sql(deployment, f"DELETE FROM audit_log WHERE seq > {seq}")
    path.write_bytes(old)  # an older head file from a backup
    as_auditor(deployment)  # this login already continues after the database's head, leaving the gap in the chain
    r = deployment.verify_audit(head=True)
    assert not r.ok and [p.kind for p in r.problems] == ["deleted"]
    assert f"entries {seq + 1}.." in r.problems[0].message


def test_host_rollback_is_caught_by_an_export_manifest(deployment: Izde, tmp_path: Path) -> None:
    """The database and the head file restored together from a backup: only a copy held elsewhere shows it."""
    add_user(deployment, "auditor", Role.AUDITOR)
    as_auditor(deployment)
    path = audit_head.head_path(deployment.settings)
    backup_file = path.read_bytes()
    with deployment.db.session(readonly=True) as s:
        head = s.get(AuditHead, 1)
        assert head is not None
        backup_row = (head.seq, head.hash, head.mac)
    deployment.login("admin", PASSWORD)
    as_auditor(deployment)
    out = tmp_path / "audit.jsonl"
    manifest = deployment.export_audit(out)
    assert manifest.head_seq is not None and manifest.head_seq > backup_row[0]
    witness = read_witness(manifest_path(out).read_text(), "the oversight body's copy")
    assert witness.seq == manifest.head_seq
    # Roll back: newest rows, the database's head row and the head file, all to the backup.
    sql(
        deployment,
        f"DELETE FROM audit_log WHERE seq > {backup_row[0]}",
        f"UPDATE audit_head SET seq = {backup_row[0]}, hash = '{backup_row[1]}', mac = '{backup_row[2]}'",
    )
    path.write_bytes(backup_file)
    assert deployment.verify_audit(head=True).ok  # the host's own records agree with each other
    r = deployment.verify_audit(head=True, witnesses=[witness])
    assert not r.ok and "oversight body" in " ".join(p.message for p in r.problems)


def test_cli_exits_6_after_a_wipe(deployment: Izde, tmp_path: Path) -> None:
    add_user(deployment, "auditor", Role.AUDITOR)
    token = deployment.login("auditor", PASSWORD)
    sql(deployment, "DELETE FROM audit_log")
    home = str(deployment.settings.home)
    env = {"IZDE_TOKEN": token}
    if deployment.settings.database_url:
        env["IZDE_DATABASE_URL"] = deployment.settings.database_url
    r = CliRunner().invoke(app, ["--home", home, "audit", "verify", "--head", "--json"], env=env)
    assert r.exit_code == BROKEN_EXIT, r.output
    assert json.loads(r.stdout)["ok"] is False
