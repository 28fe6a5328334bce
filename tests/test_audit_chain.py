"""The audit log's hash chain: sealed at commit, checked by `flask --app app verify-audit`."""
import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from domain import accounts
from domain.audit import event_hash, record_event, verify_chain
from models import GENESIS_HASH, AuditChainHead, AuditEvent, Role, User, db
from tests.conftest import make_test_app, on_postgresql, race, racers


def _events() -> list[AuditEvent]:
    return list(db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.seq)))


def _record(n: int, actor: User) -> None:
    for i in range(n):
        record_event("test", actor, actor, f"第{i}件事", index=i)
    db.session.commit()


def _tamper(sql: str) -> None:
    """Change the log behind the app's back, as someone with database access could."""
    engine = db.engine
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(sa.text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_change"))
            try:
                conn.execute(sa.text(sql))
            finally:
                conn.execute(sa.text("ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_change"))
        else:
            conn.execute(sa.text("DROP TRIGGER audit_events_no_update"))
            conn.execute(sa.text("DROP TRIGGER audit_events_no_delete"))
            conn.execute(sa.text(sql))
    db.session.expire_all()


def test_events_are_chained_in_commit_order(ctx, make_user, make_org):
    admin = db.session.get(User, make_user(Role.ADMIN).id)
    org = db.session.merge(make_org())
    accounts.set_account_active(db.session.get(User, make_user(Role.FINANCE).id), False, actor=admin)
    record_event("note", org, admin, "新对象的 id 在提交时才有", x=[1, 2])
    db.session.commit()
    rows = _events()
    assert [r.seq for r in rows] == [1, 2]
    assert rows[0].prev_hash == GENESIS_HASH and rows[1].prev_hash == rows[0].hash
    assert all(r.hash == event_hash(r) for r in rows)
    assert rows[1].object_id == org.id and rows[1].actor_id == admin.id and rows[1].data == {"x": [1, 2]}
    head = db.session.get(AuditChainHead, 1)
    assert (head.seq, head.last_hash) == (2, rows[1].hash)
    assert verify_chain().intact and verify_chain().rows == 2


def test_a_rolled_back_transaction_leaves_no_event(ctx, make_user):
    admin = db.session.get(User, make_user(Role.ADMIN).id)
    record_event("never", admin, admin, "回滚后不应留下")
    db.session.rollback()
    record_event("kept", admin, admin, "提交")
    db.session.commit()
    assert [(r.seq, r.action) for r in _events()] == [(1, "kept")]


def test_events_of_a_rollback_before_any_sql_or_of_a_rolled_back_savepoint_are_dropped(ctx, make_user):
    admin = db.session.get(User, make_user(Role.ADMIN).id)
    db.session.commit()  # no transaction open now
    record_event("never", admin, admin, "提交前回滚")
    db.session.rollback()
    record_event("kept", admin, admin, "保存点之前")
    with pytest.raises(RuntimeError), db.session.begin_nested():
        record_event("never", admin, admin, "保存点内，随保存点回滚")
        raise RuntimeError("the savepoint's work fails")
    with db.session.begin_nested():
        record_event("kept", admin, admin, "保存点内，随外层提交")
    db.session.commit()
    assert [(r.action, r.summary) for r in _events()] == [("kept", "保存点之前"), ("kept", "保存点内，随外层提交")]


def test_a_lost_head_is_rebuilt_from_the_last_row(ctx, make_user):
    admin = db.session.get(User, make_user(Role.ADMIN).id)
    _record(2, admin)
    db.session.execute(sa.delete(AuditChainHead))
    db.session.commit()
    _record(1, admin)
    assert [r.seq for r in _events()] == [1, 2, 3] and verify_chain().intact


def test_a_row_added_past_the_head_is_named(ctx, make_user):
    admin = db.session.get(User, make_user(Role.ADMIN).id)
    _record(2, admin)
    last = _events()[-1]
    _tamper("INSERT INTO audit_events (seq, at, action, object_type, summary, data, prev_hash, hash) "
            f"VALUES (3, '2026-01-01 00:00:00', 'forged', 'users', '伪造', '{{}}', '{last.hash}', '{'f' * 64}')")
    report = verify_chain()
    assert not report.intact and report.seq == 3, report


def test_verify_audit_names_the_changed_row(app, ctx, make_user):
    _record(5, db.session.get(User, make_user(Role.ADMIN).id))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["verify-audit"])
    assert result.exit_code == 0 and "审计日志完整：共 5 条" in result.output

    _tamper("UPDATE audit_events SET summary = '改过的' WHERE seq = 3")
    result = runner.invoke(args=["verify-audit"])
    assert result.exit_code == 1
    assert "第 3 条记录" in result.output and "内容被改动" in result.output


def test_rewriting_a_row_with_a_fresh_hash_still_breaks_the_next_link(ctx, make_user):
    _record(4, db.session.get(User, make_user(Role.ADMIN).id))
    row = db.session.scalar(sa.select(AuditEvent).filter_by(seq=2))
    row.summary = "改过的"
    forged = event_hash(row)
    db.session.expire_all()
    _tamper(f"UPDATE audit_events SET summary = '改过的', hash = '{forged}' WHERE seq = 2")
    report = verify_chain()
    assert report.seq == 3 and "接不上" in report.problem


def test_a_removed_row_is_named(ctx, make_user):
    _record(4, db.session.get(User, make_user(Role.ADMIN).id))
    _tamper("DELETE FROM audit_events WHERE seq = 2")
    report = verify_chain()
    assert not report.intact and report.seq == 2 and "缺失" in report.problem


def test_removing_the_newest_rows_shows_against_the_head(ctx, make_user):
    _record(4, db.session.get(User, make_user(Role.ADMIN).id))
    _tamper("DELETE FROM audit_events WHERE seq = 4")
    report = verify_chain()
    assert not report.intact and "最新的记录被删除" in report.problem


def test_parallel_writers_form_one_unbroken_chain(app, make_user):
    """Writers commit at the same moment (50 on PostgreSQL): the head's lock makes them take turns, so
    no two rows claim the same predecessor."""
    admin_id = make_user(Role.ADMIN).id
    n = racers(app)

    def attempt(k, go):
        admin = db.session.get(User, admin_id)
        go()
        record_event("race", admin, admin, f"并发写入 {k}")
        db.session.commit()
        return "ok"

    results = race(app, attempt, range(n))
    with app.app_context():
        rows = _events()
        assert len(rows) == results.count("ok") and [r.seq for r in rows] == list(range(1, len(rows) + 1))
        assert verify_chain().intact
    if on_postgresql(app):
        assert results == ["ok"] * n  # PostgreSQL queues them; SQLite may time a loser out
    else:
        assert results.count("ok") >= 2, results  # a chain of one proves nothing about taking turns
        assert all(r == "ok" or isinstance(r, sa.exc.OperationalError) for r in results)


def test_the_migration_chains_rows_written_before_it(tmp_path):
    """A database with audit rows from before the chain existed gets them chained by the upgrade."""
    app = make_test_app(f"sqlite:///{tmp_path / 'old.db'}")
    with app.app_context():
        upgrade(revision="f3b1c2d4e5a6")
        with db.engine.begin() as conn:
            for i in range(3):
                conn.execute(sa.text(
                    "INSERT INTO audit_events (at, action, object_type, object_id, summary, data) "
                    "VALUES (:at, 'old', 'users', :i, :s, '{\"i\": 1}')"),
                    {"at": f"2026-01-0{i + 1} 08:00:00.000000", "i": i, "s": f"旧记录{i}"})
        upgrade()
        report = verify_chain()
        assert report.intact and report.rows == 3
        db.session.remove()
        downgrade(revision="f3b1c2d4e5a6")  # and back, with the append-only triggers in place again
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), db.engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM audit_events"))
        db.engine.dispose()
