"""Backup and restore: a round trip finds every row and every byte, on SQLite and on PostgreSQL."""
import sqlalchemy as sa

from domain.backup import fingerprint
from domain.demo import seed_demo
from models import Organisation, StoredFile, db


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
    with app.app_context():
        assert fingerprint() == before
        assert db.session.scalar(sa.select(StoredFile.data).order_by(StoredFile.id).limit(1)) == seal
