"""The fund steps' tables (domain/funds/steps.py): what they hold, that the verbs obey them, and the diagram."""
from pathlib import Path

import pytest

from domain import DomainError, funds
from domain.funds import BATCH, FUND_ITEM, fund_diagrams
from domain.funds.steps import batch_moves
from models import BatchState, FundStage, Role, User, db
from tests.conftest import zone_today


@pytest.mark.parametrize("machine", [FUND_ITEM, BATCH], ids=["item", "batch"])
def test_each_table_is_whole(machine):
    actions = [step.action for step in machine.steps]
    assert len(actions) == len(set(actions))
    # An item reaches some stages only as its batch moves; the walk follows those moves too.
    moves = batch_moves() if machine is FUND_ITEM else []
    reached, frontier = {machine.start}, [machine.start]
    while frontier:
        state = frontier.pop()
        targets = [step.target or state for step in machine.steps_from(state)]
        for target in targets + [t for s, t, _ in moves if s is state]:
            if target not in reached:
                reached.add(target)
                frontier.append(target)
    assert reached == set(machine.states)


def test_the_diagrams_are_drawn_from_the_tables_and_the_readme_has_them(app):
    item, batch = fund_diagrams()
    for machine, text in ((FUND_ITEM, item), (BATCH, batch)):
        for step in machine.steps:
            for source in step.sources:
                assert f"{source.value} --> {(step.target or source).value}: {step.label}（{step.role.label}）" in text
    assert "in_batch --> batch_submitted: 提交党工委审批（随批次，财务）" in item
    output = app.test_cli_runner().invoke(args=["fund-diagram"]).output.strip()
    assert output == f"{item}\n\n{batch}"
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    for text in (item, batch):
        assert f"```mermaid\n{text}\n```" in readme, "README's fund diagrams are stale: paste `flask --app app fund-diagram`"


def _at(stage: FundStage, make_fund, make_user):
    """An item at this stage, with its contact, finance and the zone, in this session."""
    finance = db.session.get(User, make_user(Role.FINANCE).id)
    zone = db.session.get(User, make_user(Role.ZONE_APPROVER).id)
    item = db.session.merge(make_fund("pending" if stage is FundStage.PENDING else "checked"))
    contact = db.session.get(User, make_user(Role.APPLICANT, organisation=item.organisation).id)
    if stage not in (FundStage.PENDING, FundStage.APPROVED):
        batch = funds.create_batch([item], actor=finance)
        if stage is not FundStage.IN_BATCH:
            funds.submit_batch(batch, actor=finance, version=batch.version)
        if stage in (FundStage.BATCH_APPROVED, FundStage.PAID):
            funds.approve_batch(batch, actor=zone, version=batch.version)
        if stage is FundStage.PAID:
            funds.record_payment(item, voucher_number="记-1", paid_on=zone_today(), actor=finance, version=item.version)
    db.session.flush()
    assert item.stage is stage
    return item, contact, finance, zone


VERBS = {
    "confirm": lambda item, who: funds.confirm_fund(item, actor=who["zone"], version=item.version),
    "set_payee": lambda item, who: funds.set_payee(
        item, funds.Payee("新户名有限公司", "中国银行通辽分行", "6222 0206 9999 0001"), actor=who["contact"]),
    "pay": lambda item, who: funds.record_payment(item, voucher_number="记-2", paid_on=zone_today(),
                                                  actor=who["finance"], version=item.version),
    "return_payee": lambda item, who: funds.return_payee(item, actor=who["finance"], version=item.version,
                                                         reason="账号与开户许可证不一致"),
}


@pytest.mark.parametrize("stage", list(FundStage), ids=lambda s: s.value)
@pytest.mark.parametrize("action", list(VERBS))
def test_a_verb_runs_exactly_where_the_table_allows_it(ctx, make_fund, make_user, monkeypatch, stage, action):
    monkeypatch.setattr("domain.sheets.file_batch_sheet", lambda batch_id: None)  # no render
    item, contact, finance, zone = _at(stage, make_fund, make_user)
    who = {"contact": contact, "finance": finance, "zone": zone}
    if FUND_ITEM.allows(action, stage):
        VERBS[action](item, who)
    else:
        with pytest.raises(DomainError) as refused:
            VERBS[action](item, who)
        # the table's refusal names the stage; paying twice says it was paid already
        assert f"“{stage.label}”" in refused.value.message or "本次未重复登记" in refused.value.message


def test_a_step_by_the_wrong_role_names_the_role_that_takes_it(ctx, make_fund, make_user):
    item = db.session.merge(make_fund("pending"))
    finance = db.session.get(User, make_user(Role.FINANCE).id)
    with pytest.raises(DomainError, match="只有开发区党工委可以核定启动经费"):
        funds.confirm_fund(item, actor=finance, version=item.version)
    assert BATCH.allows("approve", BatchState.SUBMITTED, finance) is False
    assert [s.action for s in BATCH.steps_from(BatchState.SUBMITTED, Role.ZONE_APPROVER)] == ["approve", "return"]
