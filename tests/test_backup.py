"""Backup and restore: a round trip finds every row and every byte, on SQLite and on PostgreSQL; the manifest beside
the backup lets the restore refuse what would do harm, and the restore checks the audit log afterwards."""
import json
import stat
import subprocess

import pytest
import sqlalchemy as sa

from domain import backup
from domain.backup import fingerprint, manifest_path, seal_manifest
from models import AuditEvent, DocumentCounter, Organisation, StoredFile, db
from seeding.demo import seed_demo
from tests.conftest import make_test_app, on_postgresql
from tests.test_audit_chain import _tamper


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _counter(year: int, last_number: int) -> None:
    """Set the year's document counter, as issuing that many 批复 would have."""
    row = db.session.get(DocumentCounter, year)
    if row is None:
        db.session.add(DocumentCounter(year=year, last_number=last_number))
    else:
        row.last_number = last_number
    db.session.commit()


def test_backup_and_restore_round_trip(app, tmp_path):
    runner = app.test_cli_runner()
    with app.app_context():
        seed_demo()
        db.session.commit()
        before = fingerprint()
        seal = db.session.scalar(sa.select(StoredFile.data).order_by(StoredFile.id).limit(1))
    assert before["stored_files"] and seal.startswith(b"\x89PNG")
    result = runner.invoke(args=["backup", str(tmp_path / "zone.backup")])
    assert result.exit_code == 0, result.output
    with app.app_context():  # changes after the backup, which the restore must undo
        db.session.execute(sa.update(Organisation).values(name="被改动"))
        db.session.execute(sa.update(StoredFile).values(data=b"overwritten"))
        db.session.add(Organisation(name="新增", credit_code="91150500MA1999999X", kind="enterprise",
                                    unit_id=1, contact_name="", contact_phone=""))
        db.session.commit()
        assert fingerprint() != before
    refused = runner.invoke(args=["restore", str(tmp_path / "zone.backup")])
    assert refused.exit_code != 0 and "--yes" in refused.output
    result = runner.invoke(args=["restore", str(tmp_path / "zone.backup"), "--yes"])
    assert result.exit_code == 0, result.output
    assert "恢复后核对通过" in result.output and "到达备份时的链尾" in result.output
    with app.app_context():
        assert fingerprint() == before
        assert db.session.scalar(sa.select(StoredFile.data).order_by(StoredFile.id).limit(1)) == seal


def test_the_backup_and_its_manifest_are_readable_by_their_owner_only(app, tmp_path):
    target = tmp_path / "zone.backup"
    target.write_bytes(b"an older backup, readable by all")
    target.chmod(0o644)
    assert app.test_cli_runner().invoke(args=["backup", str(target)]).exit_code == 0
    assert (_mode(target), _mode(manifest_path(target))) == (0o600, 0o600)


def test_the_manifest_says_what_the_backup_holds(app, ctx, tmp_path):
    seed_demo()
    db.session.commit()
    _counter(2026, 7)
    runner = app.test_cli_runner()
    head = runner.invoke(args=["audit-head"]).output.strip()
    assert runner.invoke(args=["backup", str(tmp_path / "zone.backup")]).exit_code == 0
    manifest = json.loads(manifest_path(tmp_path / "zone.backup").read_text())
    revision = db.session.scalar(sa.text("SELECT version_num FROM alembic_version"))
    organisations = db.session.scalar(sa.select(sa.func.count(Organisation.id)))
    # The demo's older organisations were founded, and their 批复 numbered, in the years their terms began.
    counters = {str(row.year): row.last_number for row in db.session.scalars(sa.select(DocumentCounter))}
    assert counters["2026"] == 7 and len(counters) > 1
    assert (manifest["schema_revision"], manifest["audit_head"], manifest["document_numbers"]) == (
        revision, head, counters)
    assert manifest["row_counts"]["organisations"] == organisations
    assert manifest["row_counts"]["document_counters"] == len(counters)


def _backup_then_change(app, tmp_path) -> tuple:
    """A backup of a small database, then a change the restore would undo; returns the path and the fingerprint now."""
    runner = app.test_cli_runner()
    with app.app_context():
        _counter(2026, 1)
    path = tmp_path / "zone.backup"
    assert runner.invoke(args=["backup", str(path)]).exit_code == 0
    with app.app_context():
        db.session.execute(sa.update(Organisation).values(name="备份之后改的"))
        db.session.commit()
        return path, fingerprint()


def _rewrite_manifest(path, reseal: bool, **changes) -> None:
    manifest = json.loads(manifest_path(path).read_text())
    manifest.update(changes)
    if reseal:  # as only someone holding AUDIT_KEY could
        del manifest["mac"]
        manifest["mac"] = seal_manifest(manifest)
    manifest_path(path).write_text(json.dumps(manifest))


def test_a_backup_of_another_schema_revision_is_refused(app, tmp_path, make_org):
    make_org()
    path, now = _backup_then_change(app, tmp_path)
    with app.app_context():
        _rewrite_manifest(path, reseal=True, schema_revision="0a78c971a3e3")
    result = app.test_cli_runner().invoke(args=["restore", str(path), "--yes", "--force", "--reason", "试试"])
    assert result.exit_code == 1 and "备份的数据库版本为 0a78c971a3e3" in result.output and "版本不同，不能恢复" in result.output
    with app.app_context():
        assert fingerprint() == now  # nothing was replaced


@pytest.mark.parametrize("harm, message", [
    ("manifest edited", "校验码不符"),
    ("file changed", "与清单不符：文件被改动或不完整"),
    ("manifest missing", "找不到备份清单"),
])
def test_a_backup_that_does_not_match_its_manifest_is_refused(app, tmp_path, make_org, harm, message):
    make_org()
    path, now = _backup_then_change(app, tmp_path)
    with app.app_context():
        if harm == "manifest edited":
            _rewrite_manifest(path, reseal=False, document_numbers={"2026": 99})
        elif harm == "file changed":
            path.write_bytes(path.read_bytes() + b"\0")
        else:
            manifest_path(path).unlink()
    result = app.test_cli_runner().invoke(args=["restore", str(path), "--yes"])
    assert result.exit_code == 1 and message in result.output
    with app.app_context():
        assert fingerprint() == now


def test_rewinding_a_document_counter_needs_force_and_a_reason_which_the_audit_log_keeps(app, tmp_path, make_org):
    make_org()
    path, _ = _backup_then_change(app, tmp_path)
    with app.app_context():
        _counter(2026, 3)  # numbers 2 and 3 issued after the backup
        _counter(2027, 1)
    runner = app.test_cli_runner()
    refused = runner.invoke(args=["restore", str(path), "--yes"])
    assert refused.exit_code == 1
    assert "2026 年已发到第 3 号，备份中只到第 1 号（第 2 至 3 号会被重复使用）" in refused.output
    assert "2027 年已发到第 1 号，备份中只到第 0 号" in refused.output and "--force --reason" in refused.output
    no_reason = runner.invoke(args=["restore", str(path), "--yes", "--force"])
    assert no_reason.exit_code == 1 and "强制恢复须用 --reason 写明原因" in no_reason.output
    with app.app_context():
        assert db.session.get(DocumentCounter, 2026).last_number == 3  # still nothing replaced

    result = runner.invoke(args=["restore", str(path), "--yes", "--force", "--reason", "误删了一批数据，经党工委同意回退"])
    assert result.exit_code == 0, result.output
    assert "恢复后核对通过" in result.output and "原因已写入审计日志" in result.output
    with app.app_context():
        assert db.session.get(DocumentCounter, 2026).last_number == 1
        last = db.session.scalar(sa.select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1))
        assert (last.action, last.data["reason"], last.data["file"]) == (
            "backup.restore_forced", "误删了一批数据，经党工委同意回退", "zone.backup")


def test_a_restore_of_a_tampered_audit_log_fails_its_check(app, tmp_path, make_org):
    from domain.audit import record_event

    made = make_org()
    runner = app.test_cli_runner()
    with app.app_context():
        org = db.session.get(Organisation, made.id)
        for i in range(3):
            record_event("test", org, None, f"第{i}件事")
        db.session.commit()
        _tamper("UPDATE audit_events SET summary = '改过的' WHERE seq = 2")
    assert runner.invoke(args=["backup", str(tmp_path / "zone.backup")]).exit_code == 0
    result = runner.invoke(args=["restore", str(tmp_path / "zone.backup"), "--yes"])
    assert result.exit_code == 1 and "已从" in result.output
    assert "恢复后的审计日志校验未通过" in result.output and "第 2 条记录" in result.output


def test_the_database_password_goes_to_the_childs_environment_not_its_command_line(monkeypatch):
    url = sa.make_url("postgresql+psycopg://zone:pa%40ss-word@db.internal:5433/zone?sslmode=require")
    seen = {}
    monkeypatch.setattr(backup.subprocess, "run", lambda command, **kwargs: seen.update(command=command, **kwargs))
    backup._run(["pg_dump", f"--dbname={backup._libpq_url(url)}"], url)
    assert seen["command"] == ["pg_dump", "--dbname=postgresql://zone@db.internal:5433/zone?sslmode=require"]
    assert seen["env"]["PGPASSWORD"] == "pa@ss-word"


def test_pg_dump_and_pg_restore_never_see_the_password_on_their_command_line(app, tmp_path, monkeypatch):
    if not on_postgresql(app):
        pytest.skip("pg_dump and pg_restore: PostgreSQL only")
    url = sa.make_url(app.config["SQLALCHEMY_DATABASE_URI"]).set(password="not-on-the-command-line")
    with_password = make_test_app(url.render_as_string(hide_password=False))
    calls, real_run = [], subprocess.run

    def run(command, **kwargs):
        calls.append((command, kwargs["env"].get("PGPASSWORD")))
        return real_run(command, **kwargs)

    monkeypatch.setattr(backup.subprocess, "run", run)
    runner = with_password.test_cli_runner()
    assert runner.invoke(args=["backup", str(tmp_path / "zone.backup")]).exit_code == 0
    assert runner.invoke(args=["restore", str(tmp_path / "zone.backup"), "--yes"]).exit_code == 0
    with with_password.app_context():
        db.engine.dispose()
    assert [command[0] for command, _ in calls] == ["pg_dump", "pg_restore"]
    assert all("not-on-the-command-line" not in " ".join(command) and env == "not-on-the-command-line"
               for command, env in calls)



def _events(app, n: int) -> str:
    """Record n audit events (as any verb would) and return the chain's head."""
    from domain.audit import record_event

    with app.app_context():
        org = db.session.scalars(sa.select(Organisation).limit(1)).one()
        for i in range(n):
            record_event("test", org, None, f"第{i}件事")
        db.session.commit()
    return app.test_cli_runner().invoke(args=["audit-head"]).output.strip()


def test_a_restore_that_would_cut_the_audit_log_back_needs_force_and_a_reason(app, tmp_path, make_org):
    make_org()
    backed_up = _events(app, 2)
    path, _ = _backup_then_change(app, tmp_path)
    live = _events(app, 3)  # the document counters stay as they were: only the audit log runs past the backup
    with app.app_context():
        now = fingerprint()
    runner = app.test_cli_runner()
    refused = runner.invoke(args=["restore", str(path), "--yes"])
    assert refused.exit_code == 1
    assert "恢复会让审计日志倒退：当前审计日志已到第 5 条，备份中只到第 2 条（第 3 至 5 条会丢失）" in refused.output
    assert "--force --reason" in refused.output
    with app.app_context():
        assert fingerprint() == now  # nothing replaced

    result = runner.invoke(args=["restore", str(path), "--yes", "--force", "--reason", "审计日志之外的数据损坏，回到昨晚"])
    assert result.exit_code == 0, result.output
    assert "恢复前的审计链尾已写入审计日志" in result.output and "恢复后核对通过" in result.output
    with app.app_context():
        last = db.session.scalar(sa.select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1))
        assert (last.seq, last.action, last.data["reason"], last.data["live_audit_head"]) == (
            3, "backup.restore_forced", "审计日志之外的数据损坏，回到昨晚", live)
    assert runner.invoke(args=["verify-audit", "--head", backed_up]).exit_code == 0


def test_a_restore_of_the_same_audit_log_needs_no_force(app, tmp_path, make_org):
    make_org()
    _events(app, 2)
    path, _ = _backup_then_change(app, tmp_path)
    result = app.test_cli_runner().invoke(args=["restore", str(path), "--yes"])
    assert result.exit_code == 0 and "恢复后核对通过" in result.output, result.output


@pytest.mark.parametrize("name", ["zone.backup.partial", "zone.backup.manifest.json.partial"])
def test_a_symlink_planted_as_the_temporary_file_is_refused_not_followed(app, tmp_path, make_org, name):
    make_org()
    victim = tmp_path / "victim.conf"
    victim.write_text("someone else's file")
    victim.chmod(0o644)
    (tmp_path / name).symlink_to(victim)
    result = app.test_cli_runner().invoke(args=["backup", str(tmp_path / "zone.backup")])
    assert result.exit_code == 1 and f"临时文件 {tmp_path / name} 已存在" in result.output
    assert (victim.read_text(), _mode(victim), (tmp_path / name).is_symlink()) == ("someone else's file", 0o644, True)


def test_a_restore_restores_the_bytes_it_checked_even_if_the_file_changes_after(app, tmp_path, make_org, monkeypatch):
    """The file swapped between the hash and the restore (a race in a shared folder): the restore reads its own
    private copy of what it hashed, not the file by name again."""
    org = make_org()
    path, _ = _backup_then_change(app, tmp_path)
    with app.app_context():
        db.session.execute(sa.update(Organisation).values(name="冒名顶替的备份"))
        db.session.commit()
    forged = tmp_path / "forged.backup"
    assert app.test_cli_runner().invoke(args=["backup", str(forged)]).exit_code == 0
    with app.app_context():
        db.session.execute(sa.update(Organisation).values(name="恢复之前"))
        db.session.commit()
    real_replace, restored_from = backup._replace_database, []

    def swap_then_replace(source):
        path.write_bytes(forged.read_bytes())  # after the hash, before the restore reads the file
        restored_from.append(source)
        real_replace(source)

    monkeypatch.setattr(backup, "_replace_database", swap_then_replace)
    result = app.test_cli_runner().invoke(args=["restore", str(path), "--yes"])
    assert result.exit_code == 0, result.output
    assert restored_from[0] != path and not restored_from[0].exists()  # a private copy, removed afterwards
    with app.app_context():
        assert list(db.session.scalars(sa.select(Organisation.name))) == [org.name]  # the backup's, not the forgery's


def test_the_manifest_seal_is_labelled_so_an_unlabelled_hmac_is_refused(app, tmp_path, make_org):
    """The audit chain's seals are HMACs of unlabelled JSON under the same key: such a seal over the manifest's own
    text does not pass as the manifest's."""
    import hashlib
    import hmac

    make_org()
    path, now = _backup_then_change(app, tmp_path)
    manifest = json.loads(manifest_path(path).read_text())
    del manifest["mac"]
    with app.app_context():
        text = json.dumps(manifest, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
        unlabelled = hmac.new(app.config["AUDIT_KEY"].encode(), text, hashlib.sha256).hexdigest()
        assert manifest["format"] == 2 and seal_manifest(manifest) == hmac.new(
            app.config["AUDIT_KEY"].encode(), b"backup-manifest\n" + text, hashlib.sha256).hexdigest()
    manifest_path(path).write_text(json.dumps({**manifest, "mac": unlabelled}))
    result = app.test_cli_runner().invoke(args=["restore", str(path), "--yes"])
    assert result.exit_code == 1 and "校验码不符" in result.output
    with app.app_context():
        assert fingerprint() == now


def test_a_manifest_written_before_the_label_still_restores(app, tmp_path, make_org):
    make_org()
    path, _ = _backup_then_change(app, tmp_path)
    with app.app_context():
        _rewrite_manifest(path, reseal=True, format=1)  # sealed as format 1 was: without the label
    result = app.test_cli_runner().invoke(args=["restore", str(path), "--yes"])
    assert result.exit_code == 0 and "恢复后核对通过" in result.output, result.output
