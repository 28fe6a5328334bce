"""The record's steps that end or change an organisation (撤销, 调整, 更名, 合并): each with the zone's numbered 批复.

A dissolved organisation's record stays (state DISSOLVED, read-only: no step leaves that state). Its host, and a
joint branch's partners, are no longer covered, unless the zone names the branch its members move into (调整): then
they are covered by that one, as a joint branch covers its partners (domain/coverage.py keeps the history).
"""
import sqlalchemy as sa

from models import (
    NAME_SUFFIX, CoverageCause, DocumentKind, Organisation, PartyOrg, PartyOrgState, Role, User, db,
)

from .. import DomainError
from ..coverage import set_coverage
from ..documents import issue_record_document
from ..notices import active_users, contacts_of, instructor_accounts, notify
from ..text import check_text
from .records import record_step
from .renewals import end_open_renewal
from .steps import require_step

REASON_MAX = 300
NAME_MAX = PartyOrg.name.type.length


def dissolve_party_org(party_org: PartyOrg, *, actor: User, version: int, reason: str,
                       receiving: PartyOrg | None = None) -> None:
    """撤销: the zone dissolves the organisation with a reason; its members move into `receiving` if named (调整),
    whose host then covers the organisations it covered."""
    step = require_step(party_org, "dissolve", actor, version, reason)
    reason = check_reason(reason)
    if receiving is not None:
        _check_receiving(party_org, receiving)
    moved = _release(party_org, receiving, CoverageCause.MOVE if receiving else CoverageCause.DISSOLUTION)
    document = _issue(party_org, DocumentKind.DISSOLUTION, actor, reason=reason,
                      receiving=receiving.name if receiving else "")
    details = {"covered": moved}
    if receiving is not None:
        details |= {"receiving_id": receiving.id, "receiving": receiving.name}
    record_step(party_org, step, actor, f"撤销（{document.number}）", reason=reason, document=document, **details)
    tail = f"，党员转入{receiving.name}" if receiving else ""
    _tell(party_org, f"{party_org.name}已撤销（{document.number}）{tail}。", receiving)


def rename_party_org(party_org: PartyOrg, *, actor: User, version: int, reason: str, new_name: str) -> None:
    """更名: the organisation takes a new name, with the zone's 批复; everything else stays."""
    step = require_step(party_org, "rename", actor, version, reason)
    reason = check_reason(reason)
    new_name = check_text(new_name, "新名称", "new_name").strip()
    if not new_name:
        raise DomainError("请填写新名称", "new_name")
    if len(new_name) > NAME_MAX:
        raise DomainError(f"新名称不能超过 {NAME_MAX} 字", "new_name")
    suffix = NAME_SUFFIX[party_org.kind]  # a rename keeps the kind: 中共 + the unit's name + the kind's ending
    if not (new_name.startswith("中共") and new_name.endswith(suffix) and len(new_name) > len("中共" + suffix)):
        raise DomainError(f"党组织名称应为“中共＋单位名称＋{suffix}”，如：{party_org.name_example}", "new_name")
    if new_name == party_org.name:
        raise DomainError("新名称与现名称相同", "new_name")
    old_name = party_org.name
    document = _issue(party_org, DocumentKind.RENAME, actor, reason=reason, new_name=new_name)
    party_org.name = new_name
    record_step(party_org, step, actor, f"更名为{new_name}（{document.number}）", reason=reason, document=document,
                old_name=old_name, new_name=new_name)
    _tell(party_org, f"{old_name}已更名为{new_name}（{document.number}）。")


def merge_party_org(party_org: PartyOrg, *, actor: User, version: int, reason: str, into: PartyOrg | None) -> None:
    """合并: the organisation is merged into another (并入) and dissolved; its hosts are covered by the absorbing one."""
    step = require_step(party_org, "merge", actor, version, reason)
    reason = check_reason(reason)
    if into is None:
        raise DomainError("请选择并入的党组织", "receiving_id")
    _check_receiving(party_org, into)
    moved = _release(party_org, into, CoverageCause.MERGE)
    document = _issue(party_org, DocumentKind.MERGE, actor, reason=reason, receiving=into.name)
    record_step(party_org, step, actor, f"并入{into.name}（{document.number}）", reason=reason, document=document,
                receiving_id=into.id, receiving=into.name, covered=moved)
    _tell(party_org, f"{party_org.name}已并入{into.name}（{document.number}）。", into)


def receiving_choices(party_org: PartyOrg) -> list[PartyOrg]:
    """The organisations whose members' branch this one's members may join: the active ones of other hosts."""
    return list(db.session.scalars(sa.select(PartyOrg).where(
        PartyOrg.state == PartyOrgState.ACTIVE, PartyOrg.id != party_org.id,
        PartyOrg.organisation_id != party_org.organisation_id).order_by(PartyOrg.name, PartyOrg.id)))


def check_reason(reason: str) -> str:
    """A step's reason, checked: no refused character, at most REASON_MAX characters."""
    reason = check_text(reason, "理由", "reason", multiline=True).strip()
    if len(reason) > REASON_MAX:
        raise DomainError(f"理由不能超过 {REASON_MAX} 字", "reason")
    return reason


def _check_receiving(party_org: PartyOrg, receiving: PartyOrg) -> None:
    if receiving.id == party_org.id or receiving.organisation_id == party_org.organisation_id:
        raise DomainError("党员不能转入本党组织或同一单位的党组织，请选择其他党组织", "receiving_id")
    if receiving.state is not PartyOrgState.ACTIVE:
        raise DomainError(f"{receiving.name}当前为“{receiving.state.label}”，不能接收党员", "receiving_id")


def covered_by(party_org: PartyOrg) -> list[Organisation]:
    """The organisations this Party organisation covers: its host, and those in its host's joint branch."""
    host = party_org.organisation
    partners = db.session.scalars(sa.select(Organisation).where(Organisation.joint_branch_code == host.credit_code)
                                  .order_by(Organisation.id))
    return [host, *partners]


def _release(party_org: PartyOrg, receiving: PartyOrg | None, cause: CoverageCause) -> list[int]:
    """The organisation goes (撤销 or 合并): its open 换届 request, if any, ends with it, and the organisations it
    covered lose that coverage: covered by `receiving`'s host from now on, or by none. Returns their ids, for the
    history."""
    end_open_renewal(party_org)
    code = receiving.organisation.credit_code if receiving is not None else None
    orgs = covered_by(party_org)
    for org in orgs:
        set_coverage(org, own=False, joint_code=code, cause=cause)
    return [org.id for org in orgs]


def _issue(party_org: PartyOrg, kind: DocumentKind, actor: User, *, reason: str, receiving: str = "",
           new_name: str = ""):
    """The step's 批复: its title from documents.RECORD_WORDING, its body from templates/pdf/document.html."""
    reason = reason if reason.endswith(("。", "！", "？")) else reason + "。"
    return issue_record_document(party_org, kind, actor=actor, receiving=receiving, new_name=new_name,
                                 context={"reason": reason, "receiving": receiving, "new_name": new_name})


def _tell(party_org: PartyOrg, message: str, receiving: PartyOrg | None = None) -> None:
    """The host's contacts, the unit's reviewers and the instructor learn of the step; a receiving organisation's
    contacts too."""
    users = contacts_of(party_org.organisation_id) + active_users(
        User.role == Role.UNIT_REVIEWER, User.unit_id == party_org.unit_id)
    if party_org.application.instructor_id is not None:
        users += instructor_accounts(party_org.application.instructor_id)
    if receiving is not None:
        users += contacts_of(receiving.organisation_id)
    notify(list({u.id: u for u in users}.values()), message, link=f"/orgs/{party_org.id}", event="application")
