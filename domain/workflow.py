"""The founding workflow as one table: states, the steps between them, and the role that takes each.

The code that runs a step (domain/applications.py), the buttons on the application page and the
diagram (`flask --app app workflow-diagram`) all read STEPS; nothing else decides what may happen.
"""
from dataclasses import dataclass

from models import AppState, Role

S = AppState


@dataclass(frozen=True)
class Step:
    action: str
    label: str
    sources: frozenset[AppState]
    target: AppState
    role: Role
    needs_reason: bool = False
    notify: str | None = None  # who hears of it: "applicant", "unit" or "zone"
    style: str = "primary"
    panel: str = ""  # where its notice opens the card (domain/notices.py CARD_PANELS); empty: the top


STEPS: tuple[Step, ...] = (
    Step("submit", "提交申请", frozenset({S.DRAFT, S.RETURNED}), S.SUBMITTED, Role.APPLICANT, notify="unit"),
    Step("withdraw", "撤回申请", frozenset({S.DRAFT, S.SUBMITTED, S.RETURNED, S.UNIT_APPROVED}), S.WITHDRAWN,
         Role.APPLICANT, style="outline-secondary"),
    Step("pass", "初审通过", frozenset({S.SUBMITTED}), S.UNIT_APPROVED, Role.UNIT_REVIEWER, notify="zone",
         style="success"),
    Step("return", "退回修改", frozenset({S.SUBMITTED}), S.RETURNED, Role.UNIT_REVIEWER, needs_reason=True,
         notify="applicant", style="outline-danger"),
    Step("forward", "转办", frozenset({S.SUBMITTED}), S.SUBMITTED, Role.UNIT_REVIEWER, needs_reason=True,
         notify="unit", style="outline-secondary"),
    Step("approve", "批准成立", frozenset({S.UNIT_APPROVED}), S.APPROVED, Role.ZONE_APPROVER, notify="applicant",
         style="success"),
    Step("zone_return", "退回修改", frozenset({S.UNIT_APPROVED}), S.RETURNED, Role.ZONE_APPROVER,
         needs_reason=True, notify="applicant", style="outline-danger"),
    Step("reject", "不予批准", frozenset({S.UNIT_APPROVED}), S.REJECTED, Role.ZONE_APPROVER, needs_reason=True,
         notify="applicant", style="danger"),
    Step("report_election", "报告选举结果", frozenset({S.APPROVED}), S.ELECTION_REPORTED, Role.APPLICANT,
         notify="zone", panel="election"),
    Step("establish", "批准选举结果", frozenset({S.ELECTION_REPORTED}), S.ESTABLISHED, Role.ZONE_APPROVER,
         notify="applicant", style="success", panel="election"),
    Step("return_election", "退回选举结果", frozenset({S.ELECTION_REPORTED}), S.APPROVED, Role.ZONE_APPROVER,
         needs_reason=True, notify="applicant", style="outline-danger", panel="step-report_election"),
)
STEP_BY_ACTION = {step.action: step for step in STEPS}
FINAL_STATES = frozenset({S.REJECTED, S.WITHDRAWN, S.ESTABLISHED})
# Where the applicant may still change what the application says (修改): the states it is submitted from.
EDITABLE_STATES = STEP_BY_ACTION["submit"].sources
# Where an instructor guides the organisation: from the approval on (the applications table's
# instructed_states_have_instructor constraint says the same in SQL).
INSTRUCTED_STATES = frozenset({S.APPROVED, S.ELECTION_REPORTED, S.ESTABLISHED})
# Where someone other than the applicant owes the next move, and so where waiting can be overdue.
WAITING_ON = {S.SUBMITTED: Role.UNIT_REVIEWER, S.UNIT_APPROVED: Role.ZONE_APPROVER,
              S.ELECTION_REPORTED: Role.ZONE_APPROVER}


def steps_from(state: AppState, role: Role | None = None) -> list[Step]:
    """The steps that leave `state`, those of `role` only if given, in the table's order."""
    return [s for s in STEPS if state in s.sources and (role is None or s.role is role)]


def mermaid() -> str:
    """The machine as Mermaid stateDiagram-v2 text, drawn from STEPS."""
    lines = ["stateDiagram-v2", "    [*] --> draft"]
    for step in STEPS:
        for source in sorted(step.sources, key=list(AppState).index):
            lines.append(f"    {source.value} --> {step.target.value}: {step.label}（{step.role.label}）")
    lines += [f"    {state.value} --> [*]" for state in sorted(FINAL_STATES, key=list(AppState).index)]
    lines += [f"    {state.value}: {state.label}" for state in AppState]
    return "\n".join(lines)
