"""What may happen to a fund item and to a disbursement batch: two tables of steps, each with the stages (or
states) it starts from, where it leads, and the role that takes it.

The fund verbs ask `require` before they change anything, the templates ask `can_fund` / `can_batch`
(blueprints/finance.py) before they show a button, and `flask --app app fund-diagram` draws both tables.
Checks beyond the state (is the payee entered, is the page current) stay in the verbs.
"""
import enum
from dataclasses import dataclass

from models import STAGE_IN_BATCH, BatchState, DisbursementBatch, FundItem, FundStage, Role, User

from .. import DomainError, StaleError

# How a refusal names the role that may take a step.
WHO = {Role.ZONE_APPROVER: "开发区党工委", Role.FINANCE: "财务人员", Role.APPLICANT: "本单位联系人"}


@dataclass(frozen=True)
class Step:
    action: str
    label: str
    sources: frozenset
    target: enum.Enum | None  # None: the step leaves the stage as it is
    role: Role
    refused: str  # why not, from any other stage: "{state}" is the stage's label, "{subject}" what is acted on
    style: str = "primary"


@dataclass(frozen=True)
class Machine:
    name: str
    states: type[enum.Enum]
    start: enum.Enum
    steps: tuple[Step, ...]

    def step(self, action: str) -> Step:
        return next(s for s in self.steps if s.action == action)

    def steps_from(self, state, role: Role | None = None) -> list[Step]:
        return [s for s in self.steps if state in s.sources and (role is None or s.role is role)]

    def allows(self, action: str, state, user: User | None = None) -> bool:
        """May this step be taken from this state (by this user's role, when a user is given)?"""
        step = self.step(action)
        return state in step.sources and (user is None or user.role is step.role)

    def require_role(self, action: str, actor: User) -> Step:
        step = self.step(action)
        if actor.role is not step.role:
            raise DomainError(f"只有{WHO[step.role]}可以{step.label}")
        return step

    def require(self, action: str, state, actor: User, subject: str = "") -> Step:
        """Refuse, in words the user understands, a step this actor may not take from this state."""
        step = self.require_role(action, actor)
        if state not in step.sources:
            raise DomainError(step.refused.format(state=state.label, subject=subject))
        return step

    def mermaid(self, extra: tuple[tuple, ...] = ()) -> str:
        """The machine as Mermaid stateDiagram-v2 text, drawn from its steps (and `extra` edges)."""
        order = list(self.states).index
        lines = ["stateDiagram-v2", f"    [*] --> {self.start.value}"]
        for step in self.steps:
            for source in sorted(step.sources, key=order):
                target = step.target or source
                lines.append(f"    {source.value} --> {target.value}: {step.label}（{step.role.label}）")
        lines += [f"    {source.value} --> {target.value}: {label}" for source, target, label in extra]
        lines += [f"    {state.value}: {state.label}" for state in self.states]
        return "\n".join(lines)


F = FundStage
PAYEE_OPEN = frozenset({F.APPROVED, F.IN_BATCH})  # confirmed, and in no batch past its draft

FUND_ITEM = Machine("启动经费", FundStage, F.PENDING, (
    Step("confirm", "核定启动经费", frozenset({F.PENDING}), F.APPROVED, Role.ZONE_APPROVER,
         "该笔经费当前为“{state}”，无需再核定", style="success"),
    Step("set_payee", "填报收款账户", PAYEE_OPEN | {F.PENDING}, None, Role.APPLICANT,
         "经费当前为“{state}”，已进入拨付审批或已拨付，收款账户不能再修改；如需更正请联系财务", style="danger"),
    Step("check_payee", "核验收款账户", PAYEE_OPEN, None, Role.FINANCE,
         "经费当前为“{state}”，此时不能核验收款账户", style="success"),
    Step("return_payee", "退回收款账户", PAYEE_OPEN, F.APPROVED, Role.FINANCE,
         "经费当前为“{state}”，收款账户不能再退回", style="outline-danger"),
    Step("join", "加入批次", frozenset({F.APPROVED}), F.IN_BATCH, Role.FINANCE,
         "{subject}的经费当前为“{state}”，不能加入批次"),
    Step("leave", "移出批次", frozenset({F.IN_BATCH}), F.APPROVED, Role.FINANCE,
         "{subject}的经费当前为“{state}”，不能移出批次", style="outline-secondary"),
    Step("pay", "登记拨付", frozenset({F.BATCH_APPROVED}), F.PAID, Role.FINANCE,
         "经费当前为“{state}”，只有已审批批次中的经费才能登记拨付", style="success"),
    Step("reverse", "冲销拨付", frozenset({F.PAID}), F.BATCH_APPROVED, Role.FINANCE,
         "经费当前为“{state}”，没有可冲销的拨付", style="outline-danger"),
))

B = BatchState
BATCH = Machine("拨付批次", BatchState, B.DRAFT, (
    Step("add", "加入经费", frozenset({B.DRAFT}), None, Role.FINANCE,
         "批次{subject}当前为“{state}”，只有草稿批次可以调整"),
    Step("remove", "移出经费", frozenset({B.DRAFT}), None, Role.FINANCE,
         "批次{subject}当前为“{state}”，只有草稿批次可以调整", style="outline-secondary"),
    Step("submit", "提交党工委审批", frozenset({B.DRAFT}), B.SUBMITTED, Role.FINANCE,
         "批次{subject}当前为“{state}”，只有草稿批次可以提交", style="danger"),
    Step("approve", "审批同意", frozenset({B.SUBMITTED}), B.APPROVED, Role.ZONE_APPROVER,
         "批次{subject}当前为“{state}”，不能审批", style="success"),
    Step("return", "退回财务", frozenset({B.SUBMITTED}), B.DRAFT, Role.ZONE_APPROVER,
         "批次{subject}当前为“{state}”，不能退回", style="outline-secondary"),
    # The batch is paid when its last item is; until then it stays approved.
    Step("pay", "登记拨付", frozenset({B.APPROVED}), B.PAID, Role.FINANCE,
         "批次{subject}当前为“{state}”，须经党工委审批后才能登记拨付", style="success"),
    Step("reverse", "冲销拨付", frozenset({B.APPROVED, B.PAID}), B.APPROVED, Role.FINANCE,
         "批次{subject}当前为“{state}”，没有可冲销的拨付", style="outline-danger"),
))


def batch_moves() -> list[tuple[FundStage, FundStage, Step]]:
    """The moves a batch's steps make for the items in it (submitting, approving, returning), drawn from
    STAGE_IN_BATCH; paying and reversing are the items' own steps."""
    return [(STAGE_IN_BATCH[source], STAGE_IN_BATCH[step.target], step)
            for step in BATCH.steps if step.target is not None and step.action not in ("pay", "reverse")
            for source in step.sources if STAGE_IN_BATCH[source] is not STAGE_IN_BATCH[step.target]]


def fund_diagrams() -> list[str]:
    """Both machines as Mermaid text: the item's (with its batch's moves), then the batch's."""
    carried = tuple((source, target, f"{step.label}（随批次，{step.role.label}）")
                    for source, target, step in batch_moves())
    return [FUND_ITEM.mermaid(carried), BATCH.mermaid()]


def check_version(obj: FundItem | DisbursementBatch, version: int) -> None:
    """Fund items and batches carry an optimistic lock: two clicks, two tabs or two finance users cannot record
    one payment twice."""
    if obj.version != version:
        raise StaleError("该事项已被他人处理或在其他页面修改，页面已更新为最新内容，本次操作未执行。")
