"""The audit log's keyed hash chain: sealed at commit with AUDIT_KEY, checked by `flask --app app verify-audit`,
its head printed by `audit-head` to be kept elsewhere."""
import hashlib
import hmac
import json

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from domain import accounts
from domain.audit import REKEY_ACTION, event_hash, record_event, verify_chain
from models import GENESIS_HASH, AuditChainHead, AuditEvent, Role, User, db
from models.audit import HMAC_SCHEME, LEGACY_SCHEME
from tests.conftest import make_test_app, on_postgresql, race, racers


def _events() -> list[AuditEvent]:
    return list(db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.seq)))


def _record(n: int, actor: User) -> None:
    for i in range(n):
        record_event("test", actor, actor, f"第{i}件事", index=i)
    db.session.commit()


def _tamper(*statements: str, table: str | None = "audit_events") -> None:
    """Change the database behind the app's back, as someone with database access could, lifting the append-only
    trigger of `table` (None: a table without one)."""
    engine = db.engine
    with engine.begin() as conn:
        if table is None:
            for sql in statements:
                conn.execute(sa.text(sql))
        elif engine.dialect.name == "postgresql":
            conn.execute(sa.text(f"ALTER TABLE {table} DISABLE TRIGGER {table}_no_change"))
            try:
                for sql in statements:
                    conn.execute(sa.text(sql))
            finally:
                conn.execute(sa.text(f"ALTER TABLE {table} ENABLE TRIGGER {table}_no_change"))
        else:
            conn.execute(sa.text(f"DROP TRIGGER IF EXISTS {table}_no_update"))
            conn.execute(sa.text(f"DROP TRIGGER IF EXISTS {table}_no_delete"))
            for sql in statements:
                conn.execute(sa.text(sql))
    db.session.expire_all()


def _reseal_from(seq: int, seal) -> list[str]:
    """The statements that give rows seq.. new seals made by `seal(row)` (each linked to the one before) and move
    the head: what an insider rebuilding the chain after changing a row would run."""
    with db.session.no_autoflush:  # the rows changed in memory stay there; the statements change the database
        rows = [r for r in _events() if r.seq >= seq]
        prev = db.session.scalar(sa.select(AuditEvent.hash).filter_by(seq=seq - 1)) if seq > 1 else GENESIS_HASH
    statements = []
    for row in rows:
        row.prev_hash = prev
        prev = seal(row)
        statements.append(f"UPDATE audit_events SET prev_hash = '{row.prev_hash}', hash = '{prev}', "
                          f"scheme = {row.scheme} WHERE seq = {row.seq}")
    statements.append(f"UPDATE audit_chain_head SET seq = {rows[-1].seq}, last_hash = '{prev}'")
    db.session.expire_all()
    return statements


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
    _tamper("INSERT INTO audit_events (seq, at, action, object_type, summary, data, prev_hash, hash, scheme) "
            f"VALUES (3, '2026-01-01 00:00:00', 'forged', 'users', '伪造', '{{}}', '{last.hash}', '{'f' * 64}', 1)")
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
        assert report.intact and report.rows == 4  # the three, and the row that closes them when the key came
        db.session.remove()
        downgrade(revision="f3b1c2d4e5a6")  # and back, with the append-only triggers in place again
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), db.engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM audit_events"))
        db.engine.dispose()


# ---------------------------------------------------------------- the key

def test_rows_are_sealed_with_the_audit_key_not_a_bare_hash(app, ctx, make_user):
    _record(1, db.session.get(User, make_user(Role.ADMIN).id))
    row = _events()[0]
    content = {"seq": 1, "at": row.at.isoformat(timespec="microseconds"), "actor_id": row.actor_id,
               "action": "test", "object_type": "users", "object_id": row.object_id, "summary": "第0件事",
               "data": {"index": 0}, "prev_hash": GENESIS_HASH, "scheme": HMAC_SCHEME}
    text = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    assert row.scheme == HMAC_SCHEME
    assert row.hash == hmac.new(app.config["AUDIT_KEY"].encode(), text, hashlib.sha256).hexdigest()
    assert event_hash(row, b"another key") != row.hash


@pytest.mark.parametrize("seal", ["sha256", "guessed key"])
def test_a_chain_rebuilt_without_the_key_after_a_change_is_caught(ctx, make_user, seal):
    """An insider changes a row and re-seals it and every later row, moving the head: without AUDIT_KEY the seals
    are not the app's, and the changed row is named."""
    _record(4, db.session.get(User, make_user(Role.ADMIN).id))
    row = db.session.scalar(sa.select(AuditEvent).filter_by(seq=2))
    row.summary = "改过的"
    reseal = (lambda r: hashlib.sha256(r.summary.encode() + r.prev_hash.encode()).hexdigest()) if seal == "sha256" \
        else (lambda r: event_hash(r, b"guessed-key"))
    statements = _reseal_from(2, reseal)
    _tamper("UPDATE audit_events SET summary = '改过的' WHERE seq = 2", *statements)
    report = verify_chain()
    assert (report.seq, report.problem) == (2, f"第 2 条记录（id {row.id}）的内容被改动")


def test_a_keyed_row_passed_off_as_old_scheme_is_refused(ctx, make_user):
    """The plain SHA-256 of old rows is anyone's to compute; a row after the key came cannot claim it."""
    _record(3, db.session.get(User, make_user(Role.ADMIN).id))
    last = _events()[-1]
    last.summary, last.scheme = "改过的", LEGACY_SCHEME
    forged = event_hash(last)
    db.session.expire_all()
    _tamper(f"UPDATE audit_events SET summary = '改过的', scheme = 0, hash = '{forged}' WHERE seq = 3",
            f"UPDATE audit_chain_head SET last_hash = '{forged}'")
    report = verify_chain()
    assert report.seq == 3 and "冒充旧记录" in report.problem


def test_a_log_rewritten_wholly_in_the_old_scheme_is_refused(ctx, make_user):
    _record(3, db.session.get(User, make_user(Role.ADMIN).id))
    for row in _events():
        row.scheme = LEGACY_SCHEME
    statements = _reseal_from(1, event_hash)
    _tamper(*statements)
    report = verify_chain()
    assert report.seq == 1 and "全部按启用密钥前的旧算法封存" in report.problem


def _legacy_database(tmp_path, rows: int = 3):
    """A database from before the key: `rows` audit rows chained with the plain SHA-256, then upgraded."""
    app = make_test_app(f"sqlite:///{tmp_path / 'old.db'}")
    with app.app_context():
        upgrade(revision="f3b1c2d4e5a6")
        with db.engine.begin() as conn:
            for i in range(rows):
                conn.execute(sa.text(
                    "INSERT INTO audit_events (at, action, object_type, object_id, summary, data) "
                    "VALUES (:at, 'old', 'users', :i, :s, '{\"i\": 1}')"),
                    {"at": f"2026-01-0{i + 1} 08:00:00.000000", "i": i, "s": f"旧记录{i}"})
        upgrade()
    return app


def test_the_upgrade_keeps_old_rows_and_closes_them_with_a_keyed_rekey_row(tmp_path, make_user):
    app = _legacy_database(tmp_path)
    with app.app_context():
        rows = _events()
        assert [(r.seq, r.scheme) for r in rows] == [(1, 0), (2, 0), (3, 0), (4, 1)]
        assert (rows[3].action, rows[3].data, rows[3].prev_hash) == (REKEY_ACTION, {"legacy_through": 3}, rows[2].hash)
        assert rows[0].hash == hashlib.sha256(json.dumps(
            {"seq": 1, "at": "2026-01-01T08:00:00.000000+00:00", "actor_id": None, "action": "old",
             "object_type": "users", "object_id": 0, "summary": "旧记录0", "data": {"i": 1}, "prev_hash": GENESIS_HASH},
            sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()).hexdigest()
        record_event("new", rows[0], None, "升级后的记录")
        db.session.commit()
        report = verify_chain()
        assert report.intact and report.rows == 5
        db.engine.dispose()


def test_an_old_row_changed_after_the_upgrade_breaks_its_link_to_the_rekey_row(tmp_path):
    app = _legacy_database(tmp_path)
    with app.app_context():
        row = db.session.scalar(sa.select(AuditEvent).filter_by(seq=2))
        row.summary = "改过的"
        statements = [s for s in _reseal_from(2, event_hash)[:-2]]  # rows 2 and 3 re-sealed; the rekey row can't be
        _tamper("UPDATE audit_events SET summary = '改过的' WHERE seq = 2", *statements)
        report = verify_chain()
        assert report.seq == 4 and "接不上" in report.problem
        db.engine.dispose()


def test_the_downgrade_reseals_keyed_rows_without_the_key(tmp_path):
    """Code older than the key checks plain SHA-256 only: going back gives it a chain it can check."""
    app = _legacy_database(tmp_path)
    with app.app_context():
        record_event("new", db.session.get(AuditEvent, 1), None, "升级后的记录")
        db.session.commit()
        db.session.remove()
        downgrade(revision="a1c3e5f7b9d2")
        with db.engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT seq, at, actor_id, action, object_type, object_id, summary, data, "
                                        "prev_hash, hash FROM audit_events ORDER BY seq")).mappings().all()
            head = conn.execute(sa.text("SELECT seq, last_hash FROM audit_chain_head")).one()
        prev = GENESIS_HASH
        for row in rows:
            content = {**row, "at": f"{row['at'].replace(' ', 'T')}+00:00", "data": json.loads(row["data"])}
            del content["hash"]
            assert row["prev_hash"] == prev
            prev = hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False,
                                             separators=(",", ":")).encode()).hexdigest()
            assert row["hash"] == prev, row["seq"]
        assert (len(rows), tuple(head)) == (5, (5, prev))
        upgrade()
        assert verify_chain().intact
        db.engine.dispose()


# ---------------------------------------------------------------- the head kept outside the database

def test_audit_head_prints_the_last_rows_seal_and_verify_audit_checks_it(app, ctx, make_user):
    admin = db.session.get(User, make_user(Role.ADMIN).id)
    _record(3, admin)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["audit-head"])
    last = _events()[-1]
    assert (result.exit_code, result.output) == (0, f"3:{last.hash}\n")
    _record(2, admin)  # the chain grows on; it still passes through the head kept earlier
    result = runner.invoke(args=["verify-audit", "--head", f"3:{last.hash}"])
    assert result.exit_code == 0 and "仍到达库外保存的第 3 条" in result.output


def test_cutting_the_newest_rows_and_moving_the_head_back_fails_only_against_the_kept_head(app, ctx, make_user):
    _record(4, db.session.get(User, make_user(Role.ADMIN).id))
    runner = app.test_cli_runner()
    kept = runner.invoke(args=["audit-head"]).output.strip()
    third = _events()[2]
    _tamper("DELETE FROM audit_events WHERE seq = 4",
            f"UPDATE audit_chain_head SET seq = 3, last_hash = '{third.hash}'")
    assert runner.invoke(args=["verify-audit"]).exit_code == 0  # the database alone agrees with itself
    result = runner.invoke(args=["verify-audit", "--head", kept])
    assert result.exit_code == 1 and "库外保存的链尾是第 4 条，库中只到第 3 条" in result.output


def test_a_head_from_another_history_fails(app, ctx, make_user):
    _record(2, db.session.get(User, make_user(Role.ADMIN).id))
    result = app.test_cli_runner().invoke(args=["verify-audit", "--head", "2:" + "ab" * 32])
    assert result.exit_code == 1 and "第 2 条记录的封存值与库外保存的链尾不符" in result.output


def test_a_malformed_head_is_refused_before_anything_is_read(app):
    result = app.test_cli_runner().invoke(args=["verify-audit", "--head", "12"])
    assert result.exit_code == 2 and "序号:64位十六进制" in result.output


def test_audit_head_prints_nothing_for_a_broken_chain(app, ctx, make_user):
    _record(3, db.session.get(User, make_user(Role.ADMIN).id))
    _tamper("UPDATE audit_events SET summary = '改过的' WHERE seq = 2")
    result = app.test_cli_runner().invoke(args=["audit-head"])
    assert result.exit_code == 1 and "第 2 条记录" in result.output and "链尾未打印" in result.output
