"""The fields that move money are recorded in the audit chain by the app, and a change made around it is named."""
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from domain import DomainError, funds
from domain.audit import verify_chain
from domain.sealed_fields import VALUES_ACTION
from models import (
    Application, AppState, AuditEvent, DisbursementBatch, FundItem, FundPayment, Organisation, OrgKind, PartyOrgKind,
    PaymentKind, Unit, User, db,
)
from tests.conftest import make_test_app, zone_today
from tests.test_audit_chain import _tamper


@pytest.fixture
def paid(app, make_fund, make_user, monkeypatch):
    """One item paid in an approved batch and one waiting in a draft batch, through the verbs (the sheet's PDF is
    not what these tests are about: none is rendered). Returns (paid item, payment, other item, draft batch) ids."""
    monkeypatch.setattr("domain.sheets.file_batch_sheet", lambda batch_id: None)  # no render
    made = [make_fund("checked") for _ in range(2)]
    with app.app_context():
        finance = db.session.get(User, make_fund.finance_id[0])
        zone = db.session.get(User, make_fund.zone_id[0])
        item, other = (db.session.get(FundItem, m.id) for m in made)
        batch = funds.create_batch([item], actor=finance)
        funds.submit_batch(batch, actor=finance, version=batch.version)
        funds.approve_batch(batch, actor=zone, version=batch.version)
        payment = funds.record_payment(item, voucher_number="记-0001", paid_on=zone_today(), actor=finance,
                                       version=item.version)
        draft = funds.create_batch([other], actor=finance)
        db.session.commit()
        return item.id, payment.id, other.id, draft.id


def test_the_verbs_record_every_change_and_verify_agrees(app, ctx, paid):
    item_id, payment_id, _, _ = paid
    report = verify_chain()
    assert report.intact, report
    last = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == VALUES_ACTION,
                                                        AuditEvent.object_type == "fund_payments"))
    assert last.object_id == payment_id and last.data["rows"][str(payment_id)] == {
        "fund_item_id": item_id, "kind": "payment", "amount": "2000.00", "voucher_number": "记-0001",
        "paid_on": zone_today().isoformat(), "batch_id": last.data["rows"][str(payment_id)]["batch_id"],
        "reverses_id": None}
    assert last.data["rows"][str(payment_id)]["batch_id"] == db.session.get(FundPayment, payment_id).batch_id


def test_a_change_made_through_the_orm_without_a_verb_is_recorded_too(app, ctx, paid):
    """The record is written by a listener, not by the verbs: code that forgets to write one still gets it."""
    item = db.session.get(FundItem, paid[2])
    item.account_number, item.amount = "6222000011112222", Decimal("2500")
    db.session.commit()
    assert verify_chain().intact


_FIELDS = [
    ("fund_items", 0, "amount", "2999"),
    ("fund_items", 2, "account_name", "'别人的公司'"),
    ("fund_items", 2, "bank_name", "'别的银行'"),
    ("fund_items", 2, "account_number", "'6222999999999999'"),
    ("fund_items", 2, "batch_id", "NULL"),
    ("fund_payments", 1, "amount", "2999"),
    ("fund_payments", 1, "voucher_number", "'记-9999'"),
    ("fund_payments", 1, "paid_on", "'2020-01-02'"),
    ("fund_payments", 1, "fund_item_id", ":other"),
    ("fund_payments", 1, "kind", "'reversal'"),
]


@pytest.mark.parametrize("table, which, field, value", _FIELDS, ids=[f"{t}.{f}" for t, _, f, _ in _FIELDS])
def test_a_money_field_changed_by_sql_is_named(app, ctx, paid, table, which, field, value):
    row_id = paid[which]
    value = value.replace(":other", str(paid[2]))
    if table == "fund_payments" and field == "kind":  # the row must still satisfy its CHECK constraints
        _tamper(f"UPDATE fund_payments SET kind = 'reversal', reverses_id = {row_id} WHERE id = {row_id}",
                table=table)
    else:
        _tamper(f"UPDATE {table} SET {field} = {value} WHERE id = {row_id}",
                table=table if table == "fund_payments" else None)
    report = verify_chain()
    # Making a payment a reversal needs the payment it reverses too (a CHECK constraint): both fields are named.
    named = ["kind", "reverses_id"] if field == "kind" else [field]
    assert report.problem is None and len(report.changes) == len(named), report
    for change, name in zip(report.changes, named):
        assert change.startswith(f"{table}（") and f"第 {row_id} 行的 {name}（" in change


def test_verify_audit_prints_each_change_and_fails(app, ctx, paid):
    item_id = paid[0]
    _tamper(f"UPDATE fund_items SET account_number = '6222999999999999', amount = 3000 WHERE id = {item_id}",
            table=None)
    result = app.test_cli_runner().invoke(args=["verify-audit"])
    assert result.exit_code == 1
    assert f"fund_items（启动经费）第 {item_id} 行的 amount（金额）被改动：记录为 2000.00，现为 3000.00" in result.output
    assert f"第 {item_id} 行的 account_number（账号）被改动" in result.output


def test_a_payment_inserted_by_sql_has_no_record(app, ctx, paid):
    item_id, payment_id, _, _ = paid
    payment = db.session.get(FundPayment, payment_id)
    _tamper("INSERT INTO fund_payments (fund_item_id, batch_id, kind, amount, voucher_number, paid_on, reason, "
            f"actor_id, at) VALUES ({item_id}, {payment.batch_id}, 'payment', 2000, '记-0002', '2026-01-05', '', "
            f"{payment.actor_id}, '2026-01-05 08:00:00')", table="fund_payments")
    new_id = db.session.scalar(sa.select(sa.func.max(FundPayment.id)))
    assert verify_chain().changes == [f"fund_payments（拨付记录）第 {new_id} 行没有任何记录：不是经本系统写入的"]


def test_a_payment_deleted_by_sql_is_named(app, ctx, paid):
    payment_id = paid[1]
    _tamper(f"DELETE FROM fund_payments WHERE id = {payment_id}", table="fund_payments")
    assert verify_chain().changes == [f"fund_payments（拨付记录）第 {payment_id} 行已不在表中：被删除"]


def test_an_item_moved_to_another_batch_by_sql_is_named(app, ctx, paid):
    """Which items a batch holds is the items' batch_id: moving one into the approved batch shows."""
    other_id, draft_id = paid[2], paid[3]
    approved = db.session.scalar(sa.select(DisbursementBatch.id).where(DisbursementBatch.id != draft_id))
    _tamper(f"UPDATE fund_items SET batch_id = {approved} WHERE id = {other_id}", table=None)
    assert verify_chain().changes == [
        f"fund_items（启动经费）第 {other_id} 行的 batch_id（所在批次）被改动：记录为 {draft_id}，现为 {approved}"]


@pytest.mark.parametrize("target", [FundItem, FundItem.__table__], ids=["model", "table"])
def test_a_bulk_statement_through_the_session_records_the_whole_table(app, ctx, paid, target):
    """A bulk statement names no rows (the bench's seeder writes 11,000 items so): the table is recorded whole."""
    id_column = FundItem.__table__.c.id if target is FundItem.__table__ else FundItem.id
    db.session.execute(sa.update(target).where(id_column == paid[2]).values(bank_name="批量改的开户行"))
    db.session.commit()
    assert verify_chain().intact
    baseline = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == VALUES_ACTION)
                                  .order_by(AuditEvent.seq.desc())).first()
    assert baseline.data["baseline"] is True and sorted(baseline.data["rows"]) == sorted(str(i) for i in paid[::2])


def test_a_payment_rolled_back_with_its_savepoint_is_not_recorded(app, ctx, paid):
    item_id, payment_id, _, _ = paid
    payment = db.session.get(FundPayment, payment_id)
    with pytest.raises(RuntimeError), db.session.begin_nested():
        db.session.add(FundPayment(fund_item_id=item_id, batch_id=payment.batch_id, kind=PaymentKind.PAYMENT,
                                   amount=Decimal("2000"), voucher_number="记-0003", paid_on=date(2026, 1, 5),
                                   actor_id=payment.actor_id))
        db.session.flush()
        raise RuntimeError("the savepoint's work fails")
    db.session.get(FundItem, item_id).bank_name = "改过的开户行"
    db.session.commit()
    recorded = db.session.scalars(sa.select(AuditEvent.object_type).where(AuditEvent.action == VALUES_ACTION)
                                  .order_by(AuditEvent.seq.desc()).limit(1)).one()
    assert recorded == "fund_items" and verify_chain().intact


def test_the_upgrade_records_the_money_fields_that_were_there_before(tmp_path):
    """Rows from before the records existed get a baseline at the upgrade; a change after it shows."""
    app = make_test_app(f"sqlite:///{tmp_path / 'old.db'}")
    with app.app_context():
        upgrade(revision="a1c3e5f7b9d2")
        # The tables' Core inserts fill the models' defaults and name only the columns given (as in test_migrations).
        with db.engine.begin() as conn:
            conn.execute(sa.insert(Unit.__table__), dict(id=1, code="u", name="单位", category="park", sort_order=1))
            conn.execute(sa.insert(Organisation.__table__), dict(
                id=1, name="企业", credit_code="91150500MA0000000X", kind=OrgKind.ENTERPRISE, unit_id=1))
            conn.execute(sa.insert(Application.__table__), dict(
                id=1, organisation_id=1, unit_id=1, state=AppState.DRAFT, requested_kind=PartyOrgKind.BRANCH))
            conn.execute(sa.insert(FundItem.__table__), dict(
                id=1, organisation_id=1, application_id=1, party_org_kind=PartyOrgKind.BRANCH,
                established_on=date(2026, 1, 1), standard_amount=Decimal(2000), amount=Decimal(2000),
                account_name="企业", bank_name="某银行", account_number="62220000111122223"))
        upgrade()
        assert verify_chain().intact
        _tamper("UPDATE fund_items SET account_number = '6222999999999999' WHERE id = 1", table=None)
        assert verify_chain().changes == [
            "fund_items（启动经费）第 1 行的 account_number（账号）被改动：记录为 62220000111122223，现为 6222999999999999"]
        db.engine.dispose()


# ---------------------------------------------------------------- a forgery is never sealed by an honest action

_FORGED = "UPDATE fund_items SET account_number = '6666888800001111', amount = 2999 WHERE id = {id}"
_REFUSED = "启动经费数据与审计记录不符，可能已被篡改，本次操作未执行"


def test_a_payee_forged_by_sql_is_not_laundered_by_the_next_honest_verb(app, ctx, paid, make_fund):
    """The laundering the review found: forge, see verify-audit name it, then an honest batch over the item."""
    item_id = make_fund("checked").id
    _tamper(_FORGED.format(id=item_id), table=None)
    assert len(verify_chain().changes) == 2
    finance = db.session.get(User, make_fund.finance_id[0])
    with pytest.raises(DomainError, match=_REFUSED):
        funds.create_batch([db.session.get(FundItem, item_id)], actor=finance)
    db.session.rollback()
    assert [c.split("行的 ")[1][:14] for c in verify_chain().changes] == ["amount（金额）被改动：", "account_number"]
    assert db.session.get(FundItem, item_id).batch_id is None


def test_a_forged_row_is_refused_at_commit_too(app, ctx, paid):
    """A change made without a verb (no early flush) is refused when the transaction commits."""
    item_id = paid[2]
    _tamper(_FORGED.format(id=item_id), table=None)
    db.session.get(FundItem, item_id).bank_name = "顺手改的开户行"
    with pytest.raises(DomainError, match=_REFUSED):
        db.session.commit()
    db.session.rollback()
    assert len(verify_chain().changes) == 2


def test_a_batch_approved_by_sql_pays_nothing(app, ctx, paid, make_fund):
    """A batch's state gates payments: set to approved in the database, it shows, and the app will not pay from it."""
    other_id, draft_id = paid[2], paid[3]
    zone_id = make_fund.zone_id[0]
    _tamper(f"UPDATE disbursement_batches SET state = 'approved', approved_by_id = {zone_id}, "
            f"approved_at = '2026-01-01 00:00:00' WHERE id = {draft_id}", table=None)
    assert [c.split("（")[0] + c.split("行的 ")[1].split("（")[0] for c in verify_chain().changes] == [
        "disbursement_batchesstate", "disbursement_batchesapproved_by_id", "disbursement_batchesapproved_at"]
    item, finance = db.session.get(FundItem, other_id), db.session.get(User, make_fund.finance_id[0])
    with pytest.raises(DomainError, match="拨付批次数据与审计记录不符"):
        funds.record_payment(item, voucher_number="记-0666", paid_on=zone_today(), actor=finance, version=item.version)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(FundPayment)
                             .where(FundPayment.fund_item_id == other_id)) == 0


def test_a_payee_checked_by_sql_shows_and_is_not_acted_on(app, ctx, make_fund):
    item_id = make_fund("approved").id
    finance_id = make_fund.finance_id[0]
    _tamper(f"UPDATE fund_items SET account_name = '某公司', bank_name = '某银行', account_number = '62220000123456', "
            f"payee_checked_by_id = {finance_id}, payee_checked_at = '2026-01-01 00:00:00', "
            f"payee_check_method = 'retyped' WHERE id = {item_id}", table=None)
    named = [c.split("行的 ")[1].split("（")[0] for c in verify_chain().changes]
    assert named == ["account_name", "bank_name", "account_number", "payee_checked_by_id", "payee_checked_at",
                     "payee_check_method"]
    with pytest.raises(DomainError, match=_REFUSED):
        funds.create_batch([db.session.get(FundItem, item_id)], actor=db.session.get(User, finance_id))


def test_an_item_whose_state_was_set_by_sql_is_named(app, ctx, paid):
    _tamper(f"UPDATE fund_items SET state = 'approved' WHERE id = {paid[0]}", table=None)
    assert verify_chain().changes == [
        f"fund_items（启动经费）第 {paid[0]} 行的 state（状态）被改动：记录为 paid，现为 approved"]


def test_a_payment_marked_as_reversed_by_sql_is_named(app, ctx, paid):
    item_id, payment_id = paid[0], paid[1]
    payment = db.session.get(FundPayment, payment_id)
    _tamper("INSERT INTO fund_payments (fund_item_id, batch_id, kind, amount, voucher_number, paid_on, reverses_id, "
            f"reason, actor_id, at) VALUES ({item_id}, {payment.batch_id}, 'reversal', 2000, '记-0001', '2026-01-05', "
            f"{payment_id}, '', {payment.actor_id}, '2026-01-05 08:00:00')", table="fund_payments")
    new_id = db.session.scalar(sa.select(sa.func.max(FundPayment.id)))
    assert verify_chain().changes == [f"fund_payments（拨付记录）第 {new_id} 行没有任何记录：不是经本系统写入的"]


def test_a_row_deleted_by_sql_is_not_laundered_by_a_new_row_with_its_id(app, ctx, paid):
    """SQLite gives a new row the id of the last one deleted: the app's record of the new row would replace the
    record that shows the deletion."""
    item_id, payment_id, _, _ = paid
    payment = db.session.get(FundPayment, payment_id)
    values = dict(fund_item_id=item_id, batch_id=payment.batch_id, kind=PaymentKind.PAYMENT, amount=Decimal("2000"),
                  voucher_number="记-0001", paid_on=payment.paid_on, actor_id=payment.actor_id)
    _tamper(f"DELETE FROM fund_payments WHERE id = {payment_id}", table="fund_payments")
    db.session.add(FundPayment(id=payment_id, **values))
    with pytest.raises(DomainError, match="拨付记录数据与审计记录不符"):
        db.session.commit()
    db.session.rollback()
    assert verify_chain().changes == [f"fund_payments（拨付记录）第 {payment_id} 行已不在表中：被删除"]


def test_a_bulk_statement_does_not_launder_its_table(app, ctx, paid):
    _tamper(_FORGED.format(id=paid[2]), table=None)
    with pytest.raises(DomainError, match=_REFUSED):
        db.session.execute(sa.update(FundItem).where(FundItem.id == paid[0]).values(bank_name="批量改的开户行"))
    db.session.rollback()
    assert len(verify_chain().changes) == 2


def test_paying_a_batch_reads_the_records_twice_whatever_its_size(app, ctx, make_fund, monkeypatch):
    """The last records are read once at the first flush and once at commit, not once per item."""
    monkeypatch.setattr("domain.sheets.file_batch_sheet", lambda batch_id: None)  # no render
    made = [make_fund("checked") for _ in range(5)]
    finance = db.session.get(User, make_fund.finance_id[0])
    zone = db.session.get(User, make_fund.zone_id[0])
    batch = funds.create_batch([db.session.get(FundItem, m.id) for m in made], actor=finance)
    funds.submit_batch(batch, actor=finance, version=batch.version)
    funds.approve_batch(batch, actor=zone, version=batch.version)
    db.session.commit()
    batch = db.session.get(DisbursementBatch, batch.id)
    statements = []
    listen = lambda *args: statements.append(args[2])  # noqa: E731 (before_cursor_execute's statement)
    sa.event.listen(db.engine, "before_cursor_execute", listen)
    try:
        paid_now = funds.record_batch_payment(batch, voucher_number="记-0100", paid_on=zone_today(), actor=finance,
                                              version=batch.version)
        db.session.commit()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", listen)
    assert len(paid_now) == 5 and verify_chain().intact
    assert sum("FROM audit_events" in s and "audit_events.seq >=" in s for s in statements) == 2


def test_an_approval_of_another_request_is_stale_not_tampering(app, ctx, paid, make_fund):
    """A row read before another request changed it differs from the record too: that is a stale page."""
    from domain import StaleError

    draft_id, finance = paid[3], db.session.get(User, make_fund.finance_id[0])
    batch = db.session.get(DisbursementBatch, draft_id)
    version, state = batch.version, batch.state
    with app.app_context():  # another request submits the batch meanwhile
        other = db.session.get(DisbursementBatch, draft_id)
        funds.submit_batch(other, actor=db.session.get(User, finance.id), version=other.version)
        db.session.commit()
    assert state.value == "draft"
    with pytest.raises(StaleError):
        funds.submit_batch(batch, actor=finance, version=version)


def test_the_upgrade_adds_the_payment_gates_beside_the_records_without_laundering_them(tmp_path):
    """d6f8a0c2e4b6 records the fields added later; a money field changed by SQL before it still shows after it."""
    app = make_test_app(f"sqlite:///{tmp_path / 'old.db'}")
    with app.app_context():
        upgrade(revision="a1c3e5f7b9d2")
        with db.engine.begin() as conn:
            conn.execute(sa.insert(Unit.__table__), dict(id=1, code="u", name="单位", category="park", sort_order=1))
            conn.execute(sa.insert(Organisation.__table__), dict(
                id=1, name="企业", credit_code="91150500MA0000000X", kind=OrgKind.ENTERPRISE, unit_id=1))
            conn.execute(sa.insert(Application.__table__), dict(
                id=1, organisation_id=1, unit_id=1, state=AppState.DRAFT, requested_kind=PartyOrgKind.BRANCH))
            conn.execute(sa.insert(User.__table__), dict(id=1, username="finance", name="财务", role="finance",
                                                         password_hash="x"))
            conn.execute(sa.insert(DisbursementBatch.__table__), dict(id=1, year=2026, serial=1, created_by_id=1))
            conn.execute(sa.insert(FundItem.__table__), dict(
                id=1, organisation_id=1, application_id=1, party_org_kind=PartyOrgKind.BRANCH,
                established_on=date(2026, 1, 1), standard_amount=Decimal(2000), amount=Decimal(2000),
                account_name="企业", bank_name="某银行", account_number="62220000111122223", batch_id=1))
        upgrade(revision="b8d0f2a4c6e8")
        _tamper("UPDATE fund_items SET account_number = '6222999999999999' WHERE id = 1", table=None)
        upgrade()
        assert verify_chain().changes == [
            "fund_items（启动经费）第 1 行的 account_number（账号）被改动：记录为 62220000111122223，现为 6222999999999999"]
        _tamper("UPDATE disbursement_batches SET state = 'submitted' WHERE id = 1", table=None)
        assert verify_chain().changes[1] == (
            "disbursement_batches（拨付批次）第 1 行的 state（状态）被改动：记录为 draft，现为 submitted")
        db.engine.dispose()


def test_a_payee_sent_back_and_let_in_again_by_sql_is_named(app, ctx, make_fund):
    """Sending a payee back keeps its item out of batches; clearing that by SQL shows and is not acted on."""
    item_id = make_fund("approved").id
    item = db.session.get(FundItem, item_id)
    contact = db.session.scalar(sa.select(User).where(User.organisation_id == item.organisation_id))
    finance = db.session.get(User, make_fund.finance_id[0])
    funds.set_payee(item, funds.Payee("某公司", "某银行", "62220000123456"), actor=contact)
    funds.return_payee(item, actor=finance, version=item.version, reason="开户名不符")
    db.session.commit()
    assert verify_chain().intact
    _tamper(f"UPDATE fund_items SET payee_returned_at = NULL WHERE id = {item_id}", table=None)
    assert [c.split("行的 ")[1].split("（")[0] for c in verify_chain().changes] == ["payee_returned_at"]
    with pytest.raises(DomainError, match=_REFUSED):
        funds.create_batch([db.session.get(FundItem, item_id)], actor=finance)
