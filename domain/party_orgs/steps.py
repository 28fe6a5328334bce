"""What may happen to an established organisation's record: one table of steps, each with the states it starts
from, where it leads, and the role that takes it (the founding workflow's style, domain/workflow.py).

The verbs ask `require_step` before they change anything and write their history with records.record_step; the
record page asks `available_steps` for its buttons. A helper adding a step (换届, 撤销, 更名...) adds its row here,
its verb beside records.py, and, for a new state, the state to PartyOrgState (models/party_org.py) with a migration
of the party_org_state check.
"""
from collections.abc import Callable
from dataclasses import dataclass

from models import PartyOrg, PartyOrgState, Role, User

from .. import StaleError, allowed
from ..zone_time import local_today

P = PartyOrgState
# How a refusal names the role that may take a step.
WHO = {Role.ZONE_APPROVER: "开发区党工委", Role.UNIT_REVIEWER: "初审单位", Role.APPLICANT: "本单位联系人"}


@dataclass(frozen=True)
class Step:
    action: str
    label: str
    sources: frozenset[PartyOrgState]
    target: PartyOrgState | None  # None: the step leaves the state as it is
    role: Role
    needs_reason: bool = False
    style: str = "primary"
    # Why the step does not apply to this organisation now (a project's steps to a project's branch), or None.
    when: Callable[[PartyOrg], str | None] | None = None


def _project_running(party_org: PartyOrg) -> str | None:
    if party_org.project is None:
        return "只有工程项目党组织可以报告项目结束"
    if party_org.project.ended_on is not None:
        return f"已报告项目于{party_org.project.ended_on:%Y-%m-%d}结束，等待党工委决定"
    return None


def _decision_due(party_org: PartyOrg) -> str | None:
    if party_org.project is None or not party_org.project.decision_due(local_today()):
        return "项目尚未结束（或已决定保留至复核日期），暂无需决定是否保留"
    return None


STEPS: tuple[Step, ...] = (
    # Between elections the zone, which approved the committee, fills a seat (补选) or ends / changes one (调整).
    Step("fill_seat", "补选委员", frozenset({P.ACTIVE}), None, Role.ZONE_APPROVER, needs_reason=True),
    Step("adjust_seat", "调整班子成员", frozenset({P.ACTIVE}), None, Role.ZONE_APPROVER, needs_reason=True,
         style="outline-secondary"),
    # The zone, the higher organisation, renames, merges or dissolves an organisation, each with its 批复
    # (dissolution.py); a dissolved one, merged or not, stays on record and takes no further step.
    Step("rename", "更名", frozenset({P.ACTIVE}), None, Role.ZONE_APPROVER, needs_reason=True,
         style="outline-secondary"),
    Step("merge", "并入其他党组织", frozenset({P.ACTIVE}), P.DISSOLVED, Role.ZONE_APPROVER, needs_reason=True,
         style="outline-danger"),
    Step("dissolve", "撤销党组织", frozenset({P.ACTIVE}), P.DISSOLVED, Role.ZONE_APPROVER, needs_reason=True,
         style="danger"),
    # A project's branch (projects.py): its contact reports the project ended; once it has, or its planned end has
    # passed, the zone dissolves it, moves its members (撤销 with the receiving branch) or keeps it with a reason.
    Step("report_project_end", "报告项目结束", frozenset({P.ACTIVE}), None, Role.APPLICANT, when=_project_running,
         style="outline-secondary"),
    Step("keep_branch", "保留党组织", frozenset({P.ACTIVE}), None, Role.ZONE_APPROVER, needs_reason=True,
         when=_decision_due, style="outline-primary"),
)
STEP_BY_ACTION = {step.action: step for step in STEPS}


def steps_from(state: PartyOrgState, role: Role | None = None) -> list[Step]:
    """The steps that leave `state`, those of `role` only if given, in the table's order."""
    return [s for s in STEPS if state in s.sources and (role is None or s.role is role)]


def step_refusal(party_org: PartyOrg, step: Step, user: User, version: int | None = None) -> str | None:
    """Why this user may not take `step` now, in their words, or None: the button and the verb ask the same. With
    the version of the page the verb was sent from, an older page raises StaleError."""
    if user.role is not step.role or not party_org.can_view(user):
        return f"只有{WHO.get(step.role, step.role.label)}可以{step.label}"
    if version is not None and party_org.version != version:
        raise StaleError(f"该党组织档案已被他人修改，当前为“{party_org.state.label}”。页面已更新为最新内容，本次操作未执行。")
    if party_org.state not in step.sources:
        return f"{party_org.name}当前为“{party_org.state.label}”，不能{step.label}"
    return step.when(party_org) if step.when is not None else None


def require_step(party_org: PartyOrg, action: str, actor: User, version: int, reason: str = "") -> Step:
    """The step, if this actor may take it now; refused in words otherwise (a reason is asked where it needs one)."""
    step = STEP_BY_ACTION[action]
    return allowed(step, step_refusal(party_org, step, actor, version), reason)


def available_steps(party_org: PartyOrg, user: User) -> list[Step]:
    """The steps this user may take now: what the record page shows as buttons."""
    return [s for s in steps_from(party_org.state, user.role) if step_refusal(party_org, s, user) is None]


def mermaid() -> str:
    """The record's steps as Mermaid stateDiagram-v2 text."""
    order = list(PartyOrgState).index
    lines = ["stateDiagram-v2", f"    [*] --> {P.ACTIVE.value}"]
    for step in STEPS:
        for source in sorted(step.sources, key=order):
            lines.append(f"    {source.value} --> {(step.target or source).value}: {step.label}（{step.role.label}）")
    lines += [f"    {state.value}: {state.label}" for state in PartyOrgState]
    return "\n".join(lines)
