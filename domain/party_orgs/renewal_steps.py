"""换届 and the change of its date (延期换届, 提前换届) as one table: the states of a request (models/renewal.py), the
steps between them and the role that takes each, in the founding workflow's style (domain/workflow.py).

The verbs (renewals.py) ask `require_renewal_step` before they change anything, the record page's 换届 panel asks
`available_renewal_steps` for its buttons, and `flask --app app workflow-diagram --renewal` draws the table. A source
of None is "no open request": the steps that open one.
"""
from dataclasses import dataclass

from models import OPEN_RENEWAL_STATES, PartyOrg, PartyOrgState, Renewal, RenewalState, Role, User

from .. import StaleError, allowed
from .steps import WHO

R = RenewalState


@dataclass(frozen=True)
class RenewalStep:
    action: str
    label: str
    sources: frozenset[RenewalState | None]
    target: RenewalState
    role: Role
    needs_reason: bool = False
    notify: str | None = None  # who hears of it: "applicant", "unit" or "zone"
    style: str = "primary"
    form: bool = False  # the step asks for more than a reason (the 请示, the election's result, the new date)
    # The step changes the record itself (its term, its committee): the record's version moves with the request's,
    # so a 补选 or 调整 form opened before it is told to reload. Any other step leaves those forms good.
    changes_record: bool = False


RENEWAL_STEPS: tuple[RenewalStep, ...] = (
    RenewalStep("submit", "提交换届请示", frozenset({None, R.RETURNED}), R.SUBMITTED, Role.APPLICANT, notify="unit",
                form=True),
    RenewalStep("withdraw", "撤回请示", frozenset({R.SUBMITTED, R.RETURNED, R.UNIT_PASSED, R.ASKED}), R.WITHDRAWN,
                Role.APPLICANT, style="outline-secondary"),
    RenewalStep("pass", "初审通过", frozenset({R.SUBMITTED}), R.UNIT_PASSED, Role.UNIT_REVIEWER, notify="zone",
                style="success"),
    RenewalStep("return", "退回修改", frozenset({R.SUBMITTED}), R.RETURNED, Role.UNIT_REVIEWER, needs_reason=True,
                notify="applicant", style="outline-danger"),
    RenewalStep("approve", "批准换届", frozenset({R.UNIT_PASSED}), R.APPROVED, Role.ZONE_APPROVER,
                notify="applicant", style="success"),
    RenewalStep("zone_return", "退回修改", frozenset({R.UNIT_PASSED}), R.RETURNED, Role.ZONE_APPROVER,
                needs_reason=True, notify="applicant", style="outline-danger"),
    RenewalStep("report_election", "报告换届选举结果", frozenset({R.APPROVED}), R.ELECTION_REPORTED, Role.APPLICANT,
                notify="zone", form=True),
    RenewalStep("approve_election", "批准换届选举结果", frozenset({R.ELECTION_REPORTED}), R.COMPLETED,
                Role.ZONE_APPROVER, notify="applicant", style="success", changes_record=True),
    RenewalStep("return_election", "退回选举结果", frozenset({R.ELECTION_REPORTED}), R.APPROVED, Role.ZONE_APPROVER,
                needs_reason=True, notify="applicant", style="outline-danger"),
    # An approved 换届 whose election must move: the same request, asking the zone for the new day (改期).
    RenewalStep("ask_reschedule", "申请延期或提前换届", frozenset({R.APPROVED}), R.RESCHEDULING, Role.APPLICANT,
                needs_reason=True, notify="zone", style="outline-primary", form=True),
    RenewalStep("grant_reschedule", "批准延期或提前换届", frozenset({R.RESCHEDULING}), R.APPROVED, Role.ZONE_APPROVER,
                notify="applicant", style="success", changes_record=True),
    RenewalStep("refuse_reschedule", "不予批准", frozenset({R.RESCHEDULING}), R.APPROVED, Role.ZONE_APPROVER,
                needs_reason=True, notify="applicant", style="outline-danger"),
    RenewalStep("ask_date_change", "申请延期或提前换届", frozenset({None}), R.ASKED, Role.APPLICANT,
                needs_reason=True, notify="zone", style="outline-primary", form=True),
    RenewalStep("grant_date_change", "批准延期或提前换届", frozenset({R.ASKED}), R.GRANTED, Role.ZONE_APPROVER,
                notify="applicant", style="success", changes_record=True),
    RenewalStep("refuse_date_change", "不予批准", frozenset({R.ASKED}), R.REFUSED, Role.ZONE_APPROVER,
                needs_reason=True, notify="applicant", style="outline-danger"),
)
RENEWAL_STEP_BY_ACTION = {step.action: step for step in RENEWAL_STEPS}
FINAL_RENEWAL_STATES = frozenset({R.COMPLETED, R.GRANTED, R.REFUSED, R.WITHDRAWN, R.ENDED})
# Not a step of this table: the record's dissolve and merge steps (steps.py) end any open request (renewals.py
# end_open_renewal), since an organisation that no longer exists holds no election.
ENDED_BY = "党组织撤销或并入其他党组织"
# Where someone other than the organisation owes the next move: the 待办 of the unit and of the zone.
RENEWAL_WAITING_ON = {R.SUBMITTED: Role.UNIT_REVIEWER, R.UNIT_PASSED: Role.ZONE_APPROVER,
                      R.ELECTION_REPORTED: Role.ZONE_APPROVER, R.ASKED: Role.ZONE_APPROVER,
                      R.RESCHEDULING: Role.ZONE_APPROVER}


def renewal_step_refusal(party_org: PartyOrg, renewal: Renewal | None, step: RenewalStep, user: User,
                         version: int | None = None) -> str | None:
    """Why this user may not take `step` on the organisation's open request (`renewal`, None when it has none), in
    their words, or None. With the version of the page the verb was sent from, an older page than the request's
    raises StaleError. Where there is no request yet, nothing is stale: the record's other steps (补选, 调整) leave a
    请示's form good, and of two requests opened at once the database keeps one (uq_renewals_one_open)."""
    if user.role is not step.role or not party_org.can_view(user):
        return f"只有{WHO.get(step.role, step.role.label)}可以{step.label}"
    if version is not None and renewal is not None and renewal.version != version:
        raise StaleError("该换届事项已被他人处理或在其他页面修改，页面已更新为最新内容，本次操作未执行。")
    if party_org.state is not PartyOrgState.ACTIVE:
        return f"{party_org.name}当前为“{party_org.state.label}”，不能{step.label}"
    state = renewal.state if renewal is not None else None
    if state in step.sources:
        return None
    if renewal is None:
        return f"{party_org.name}没有正在办理的换届请示，不能{step.label}"
    if None in step.sources:
        return (f"{party_org.name}已有一份{renewal.kind.label}请示正在办理（{renewal.state.label}），"
                f"须办结或撤回后才能{step.label}")
    return f"该{renewal.kind.label}请示当前为“{renewal.state.label}”，不能{step.label}"


def require_renewal_step(party_org: PartyOrg, renewal: Renewal | None, action: str, actor: User, version: int,
                         reason: str = "") -> RenewalStep:
    """The step, if this actor may take it now; refused in words otherwise (a reason is asked where it needs one)."""
    step = RENEWAL_STEP_BY_ACTION[action]
    return allowed(step, renewal_step_refusal(party_org, renewal, step, actor, version), reason)


def available_renewal_steps(party_org: PartyOrg, renewal: Renewal | None, user: User) -> list[RenewalStep]:
    """The steps this user may take now on the organisation's open request: the 换届 panel's buttons."""
    return [s for s in RENEWAL_STEPS if renewal_step_refusal(party_org, renewal, s, user) is None]


def renewal_mermaid() -> str:
    """The table as Mermaid stateDiagram-v2 text."""
    order = [None, *RenewalState].index
    lines = ["stateDiagram-v2"]
    for step in RENEWAL_STEPS:
        for source in sorted(step.sources, key=order):
            start = "[*]" if source is None else source.value
            lines.append(f"    {start} --> {step.target.value}: {step.label}（{step.role.label}）")
    lines += [f"    {state.value} --> {R.ENDED.value}: {ENDED_BY}（{Role.ZONE_APPROVER.label}）"
              for state in OPEN_RENEWAL_STATES]
    lines += [f"    {state.value} --> [*]" for state in sorted(FINAL_RENEWAL_STATES, key=order)]
    lines += [f"    {state.value}: {state.label}" for state in RenewalState]
    return "\n".join(lines)
