"""The founding verbs: open, edit and submit an application, and every step of the workflow table.

Each public function is one verb. It checks who may act and whether the page was current, changes the
state, appends a history row and notifications, and flushes; the request commits.
"""
import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from models import (
    THREE_SYNCS, AppState, Application, ApplicationEvent, ApplicationMember, Attachment, CoverageCause, Document,
    DocumentKind, Gender, Instructor, MemberStatus, Organisation, OrgKind, PartyOrgKind, Project, RegistrationStatus,
    Role, StoredFile, Unit, User, db, utcnow,
)

from . import DomainError, StaleError, allowed, bump_version
from .accounts import registration_of
from .audit import record_event
from .coverage import set_coverage
from .documents import issue_document
from .facts import check_date, chinese_date, date_problem
from .files import size_text, store_upload
from .funds import create_fund_item
from .instructors import assign_instructor
from .notices import card_panel, notify
from .party_orgs import create_party_org, months_later
from .party_rules import COMMITTEE_SIZE, check_org_kind
from .registry import Partners, resolve_partners
from .text import first_refused
from .revisions import snapshot_of
from .substitutes import record_acted
from .workflow import EDITABLE_STATES, STEP_BY_ACTION, Step, steps_from
from .zone_time import local_date, local_today


@dataclass
class MemberRow:
    name: str
    gender: Gender
    joined_on: date
    status: MemberStatus


PARTY_FOUNDED = date(1921, 7, 1)  # no one joined before: an earlier date is a slip of the year


def join_date_problem(joined_on: date, status: MemberStatus | None = None,
                      submitted_at: datetime | None = None) -> str | None:
    """What is wrong with a member's join date (入党日期), or None: the form shows it beside the row, and saving
    refuses it. A member joined before the application was first submitted, and a formal member has served the
    one-year probation (预备期一年, 党章第七条)."""
    if joined_on < PARTY_FOUNDED:
        return "入党日期不能早于1921年7月1日（中国共产党成立）"
    submitted = ("申请的首次提交日期", local_date(submitted_at)) if submitted_at is not None else None
    if problem := date_problem(joined_on, "入党日期", before=submitted):
        return problem
    latest = (local_date(submitted_at) if submitted_at is not None else local_today())
    if status is MemberStatus.FORMAL and joined_on > (year_before := _year_before(latest)):
        return f"正式党员须已满一年预备期，入党日期应不晚于{chinese_date(year_before)}；未满一年的请选“预备党员”"
    return None


def _year_before(day: date) -> date:
    return day.replace(year=day.year - 1) if (day.month, day.day) != (2, 29) else date(day.year - 1, 2, 28)


@dataclass
class ProjectData:
    """A construction project's application (工程项目): the project and the 三个同步 it ticks (THREE_SYNCS)."""

    name: str = ""
    builder: str = ""
    planned_start: date | None = None
    planned_end: date | None = None
    syncs: frozenset[str] = frozenset()  # the THREE_SYNCS columns ticked


@dataclass
class ApplicationData:
    """What the applicant fills in; a draft may be incomplete, a submission may not."""

    requested_kind: PartyOrgKind
    formal_members: int
    probationary_members: int
    proposed_secretary: str = ""
    partner_organisations: str = ""
    work_need: bool = False
    reasons: str = ""
    members: list[MemberRow] = field(default_factory=list)
    project: ProjectData = field(default_factory=ProjectData)  # read for an organisation of kind 工程项目 only


@dataclass(frozen=True)
class Elected:
    """A 委员 elected by the members' meeting, with the votes they received (得票数); votes None: not a number."""

    name: str
    votes: int | None


@dataclass
class ElectionReport:
    """The members' meeting (党员大会) and what it elected, as the kind's WORDING says (domain/documents.py): without a
    committee it elects the secretary; with one it elects the 委员 (committee), who elect the secretary from among
    themselves, secretary_votes being then the committee's votes."""

    election_date: date
    voters_expected: int
    voters_present: int
    secretary_name: str
    secretary_votes: int
    committee: tuple[Elected, ...] = ()


# ---------------------------------------------------------------- the applicant's own edits

def start_application(org: Organisation, data: ApplicationData, *, actor: User) -> Application:
    """Open a draft application (新建申请) for the actor's organisation."""
    if actor.role is not Role.APPLICANT or actor.organisation_id != org.id:
        raise DomainError("只有本单位联系人可以为本单位提出申请")
    if org.has_party_org:
        raise DomainError("本单位已建立党组织，无需再申请成立")
    if open_application_of(org) is not None:
        raise DomainError("本单位已有一份正在办理的申请，请在原申请上继续")
    application = Application(organisation=org, unit=org.unit, state=AppState.DRAFT)
    _apply_data(application, data)
    db.session.add(application)
    db.session.add(ApplicationEvent(application=application, actor=actor, actor_role=actor.role, action="create",
                                    from_state=None, to_state=AppState.DRAFT))
    try:
        with db.session.begin_nested():
            db.session.flush()
    except sa.exc.IntegrityError:
        # Two tabs creating at once: the partial unique index lets only one through.
        raise DomainError("本单位已有一份正在办理的申请，请在原申请上继续") from None
    return application


def save_application(application: Application, data: ApplicationData, *, actor: User, version: int) -> None:
    """Save the applicant's changes to a draft or returned application (保存)."""
    _check_editable(application, actor, version)
    _apply_data(application, data)
    _bump(application)


def add_attachment(application: Application, filename: str, content: bytes, *, actor: User, version: int) -> Attachment:
    """Attach a PDF, JPG or PNG (上传附件) to an editable application."""
    _check_editable(application, actor, version)
    if (same := _attached(application, hashlib.sha256(content).hexdigest())) is not None:
        return same  # chosen again (say, beside its kept copy): one attachment is enough
    _check_attachment_quotas(application, len(content))
    attachment = Attachment(application=application, file=store_upload(filename, content, actor=actor))
    db.session.add(attachment)
    _bump(application)
    return attachment


def _attached(application: Application, sha256: str) -> Attachment | None:
    return next((a for a in application.attachments if a.file.sha256 == sha256), None)


def _check_attachment_quotas(application: Application, size: int) -> None:
    """Refuse one more file of `size` bytes past the quotas in the config (附件数量与大小上限): files and bytes per
    application, bytes per organisation across all its applications. Every attachment passes here."""
    config = current_app.config
    files_limit = config["MAX_ATTACHMENTS_PER_APPLICATION"]
    bytes_limit = config["MAX_ATTACHMENT_BYTES_PER_APPLICATION"]
    organisation_limit = config["MAX_ATTACHMENT_BYTES_PER_ORGANISATION"]
    if len(application.attachments) + 1 > files_limit:
        raise DomainError(f"每份申请最多上传 {files_limit} 个附件，保存后将超过这一数量。"
                          "请删除已上传的附件或取消勾选部分文件后再保存", "attachments")
    fix = "，保存后将超过这一大小。请删除已上传的附件、取消勾选部分文件或压缩文件后再保存"
    own = sum(a.file.size for a in application.attachments)
    if own + size > bytes_limit:
        raise DomainError(f"每份申请的附件合计不能超过 {size_text(bytes_limit)}{fix}", "attachments")
    # The organisation's other applications (withdrawn, rejected, established) can no longer be edited: their
    # attachments count all the same, and the message says how much they take.
    others = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(StoredFile.size), 0))
        .join(Attachment, Attachment.file_id == StoredFile.id).join(Application)
        .where(Application.organisation_id == application.organisation_id,
               Application.id.is_distinct_from(application.id)))
    if others + own + size > organisation_limit:
        raise DomainError(f"本单位所有申请的附件合计不能超过 {size_text(organisation_limit)}"
                          f"（以往申请已占用 {size_text(others)}）{fix}", "attachments")


# A kept file never attached (the applicant gave up on the form) is deleted after this long.
KEPT_UPLOAD_LIFETIME = timedelta(days=1)
# However often a form fails, one applicant keeps at most this many files waiting (they are in the database).
MAX_KEPT_UPLOADS = 20


def _unattached_of(actor: User):
    # Applicants upload nothing but attachments, so an applicant's file that no attachment holds is a kept one.
    attached = sa.select(Attachment.id).where(Attachment.file_id == StoredFile.id).exists()
    return sa.select(StoredFile).where(StoredFile.created_by_id == actor.id, ~attached)


def keep_upload(filename: str, content: bytes, *, actor: User) -> StoredFile:
    """Keep a file sent with a form that failed (暂存附件), so that the applicant need not choose it again."""
    if actor.role is not Role.APPLICANT:
        raise DomainError("只有本单位联系人可以上传申请附件", "attachments")
    for stale in db.session.scalars(_unattached_of(actor).where(
            StoredFile.created_at < utcnow() - KEPT_UPLOAD_LIFETIME)):
        db.session.delete(stale)
    # The same file sent again with another failing form is kept once.
    same = db.session.scalar(_unattached_of(actor).where(StoredFile.sha256 == hashlib.sha256(content).hexdigest(),
                                                         StoredFile.size == len(content)).limit(1))
    if same is not None:
        return same
    kept = db.session.scalar(_unattached_of(actor).with_only_columns(sa.func.count(StoredFile.id)))
    if kept >= MAX_KEPT_UPLOADS:
        raise DomainError(f"暂存的附件已有 {MAX_KEPT_UPLOADS} 个，请先改正表单中的错误并保存，再上传其他文件",
                          "attachments")
    return store_upload(filename, content, actor=actor)


def kept_uploads(ids: list[int], *, actor: User) -> list[StoredFile]:
    """The files among ids that this applicant kept and has not attached yet; anyone else's are ignored."""
    if not ids or actor.role is not Role.APPLICANT:
        return []
    return list(db.session.scalars(_unattached_of(actor).where(StoredFile.id.in_(ids)).order_by(StoredFile.id)))


def attach_kept_upload(application: Application, stored: StoredFile, *, actor: User, version: int) -> Attachment:
    """Attach a file kept from a failed form (附加暂存附件) to an editable application."""
    _check_editable(application, actor, version)
    if stored.created_by_id != actor.id:
        raise DomainError("只能附加本人上传的文件", "attachments")
    if (same := _attached(application, stored.sha256)) is not None:
        db.session.delete(stored)
        return same
    _check_attachment_quotas(application, stored.size)
    attachment = Attachment(application=application, file=stored)
    db.session.add(attachment)
    _bump(application)
    return attachment


def remove_attachment(application: Application, attachment: Attachment, *, actor: User, version: int) -> None:
    """Remove an attachment (删除附件) from an editable application."""
    _check_editable(application, actor, version)
    if attachment.application_id != application.id:
        raise DomainError("附件不属于该申请")
    db.session.delete(attachment)
    db.session.delete(attachment.file)
    _bump(application)


def open_application_of(org: Organisation) -> Application | None:
    return db.session.scalar(sa.select(Application).where(
        Application.organisation_id == org.id,
        Application.state.not_in([AppState.REJECTED, AppState.WITHDRAWN])))


def problems_before_submission(application: Application) -> list[str]:
    """What still keeps this application from being submitted, in the applicant's words."""
    problems = []
    if not application.organisation.verified:
        problems.append("本组织的注册信息尚待所属初审单位核实（或未通过核实），核实通过后才能提交申请")
    formal = sum(1 for m in application.members if m.status is MemberStatus.FORMAL)
    probationary = len(application.members) - formal
    if (formal, probationary) != (application.formal_members, application.probationary_members):
        problems.append(f"党员名单中有正式党员 {formal} 名、预备党员 {probationary} 名，"
                        f"与填写的人数（正式 {application.formal_members} 名、预备 {application.probationary_members} 名）不一致")
    try:
        check_org_kind(application.requested_kind, application.formal_members, application.probationary_members,
                       partners=application.partner_organisations, work_need=application.work_need)
    except DomainError as refusal:
        problems.append(refusal.message)
    if application.requested_kind is PartyOrgKind.JOINT_BRANCH:
        problems += _partner_problems(resolve_partners(application.partner_organisations, application.organisation))
    secretary = application.proposed_secretary.strip()
    if not secretary:
        problems.append("请填写拟任书记人选")
    elif not any(m.name == secretary and m.status is MemberStatus.FORMAL for m in application.members):
        problems.append(f"拟任书记“{secretary}”应是党员名单中的正式党员")
    if not application.reasons.strip():
        problems.append("请填写申请理由")
    if application.organisation.kind is OrgKind.PROJECT:
        problems += _project_problems(application)
    return problems


# "一个项目一个支部": a project of six months or more sets up a branch of its own; a shorter one joins a joint branch.
PROJECT_MONTHS = 6


def _project_problems(application: Application) -> list[str]:
    """What a project organisation's application still lacks: the project, its planned dates, the 三个同步."""
    project = application.project
    if project is None:
        return ["请填写工程项目信息（项目名称、建设单位、计划开工和竣工日期）"]
    problems = [f"请填写{label}" for label, value in (("工程项目名称", project.name), ("建设单位", project.builder))
                if not value]
    if project.planned_start is None or project.planned_end is None:
        problems.append("请填写项目计划开工和计划竣工日期")
    elif (application.requested_kind is not PartyOrgKind.JOINT_BRANCH
          and project.planned_end < months_later(project.planned_start, PROJECT_MONTHS)):
        problems.append(f"项目计划工期不足{PROJECT_MONTHS}个月，一般不单独成立党支部，请申请联合党支部")
    problems += [f"请确认“{label}”" for column, label in THREE_SYNCS if not getattr(project, column)]
    return problems


# ---------------------------------------------------------------- the workflow steps

def submit_application(application: Application, *, actor: User, version: int) -> None:
    """Submit (提交) a draft or returned application to its unit for first review."""
    step = _check_step(application, "submit", actor, version)
    if (review := registration_of(actor)) is not None and review.status is not RegistrationStatus.VERIFIED:
        raise DomainError("您的注册尚待所属初审单位核实，核实通过后才能提交申请")
    if problems := problems_before_submission(application):
        raise DomainError("尚不能提交：" + "；".join(problems))
    _move(application, step, actor)


def withdraw_application(application: Application, *, actor: User, version: int, comment: str = "") -> None:
    """Withdraw (撤回) an application before the zone decides."""
    _move(application, _check_step(application, "withdraw", actor, version), actor, comment)


def pass_application(application: Application, *, actor: User, version: int, comment: str = "",
                     internal_note: str = "") -> None:
    """Pass the first review (初审通过) on to the zone."""
    _move(application, _check_step(application, "pass", actor, version), actor, comment, internal_note)


def return_application(application: Application, *, actor: User, version: int, comment: str,
                       internal_note: str = "") -> None:
    """Return (退回修改) to the applicant with reasons; resubmission goes through the unit again."""
    action = "zone_return" if actor.role is Role.ZONE_APPROVER else "return"
    step = _check_step(application, action, actor, version, comment)
    # What they saw, so that the resubmission can show them what changed (domain/revisions.py).
    _move(application, step, actor, comment, internal_note, snapshot=snapshot_of(application))


def forward_application(application: Application, *, actor: User, version: int, unit: Unit | None, comment: str,
                        internal_note: str = "") -> None:
    """Forward (转办) to another first-level unit, with the reason."""
    step = _check_step(application, "forward", actor, version, comment)
    if unit is None or unit.id == application.unit_id:
        raise DomainError("请选择另一个初审单位", "unit_id")
    previous = application.unit.name
    application.unit = unit
    _move(application, step, actor, f"由{previous}转办至{unit.name}：{comment}", internal_note)


def approve_application(application: Application, *, actor: User, version: int, instructor: Instructor | None,
                        comment: str = "", internal_note: str = "", capacity_reason: str = "") -> None:
    """Approve the founding (批准成立), assign a party-building instructor and issue the numbered approval."""
    step = _check_step(application, "approve", actor, version)
    if instructor is None:
        raise DomainError("批准时须选派一名党建指导员", "instructor_id")
    assign_instructor(application, instructor, actor=actor, reason=capacity_reason)
    _move(application, step, actor, comment or f"同意成立，选派党建指导员{instructor.name}", internal_note)
    issue_document(application, DocumentKind.APPROVAL, actor=actor)


def reject_application(application: Application, *, actor: User, version: int, comment: str,
                       internal_note: str = "") -> None:
    """Refuse the founding (不予批准); final."""
    _move(application, _check_step(application, "reject", actor, version, comment), actor, comment, internal_note)


def approval_issued_on(application: Application) -> date | None:
    """The zone's date the approval 批复 was issued: the members' meeting that elects comes after it."""
    issued = db.session.scalar(sa.select(Document.issued_at).where(
        Document.application_id == application.id, Document.kind == DocumentKind.APPROVAL))
    return local_date(issued) if issued is not None else None


def report_election(application: Application, report: ElectionReport, *, actor: User, version: int) -> None:
    """Report the election result (报告选举结果) of the approved organisation's members' meeting."""
    step = _check_step(application, "report_election", actor, version)
    check_date(report.election_date, "选举日期", "election_date", after=("成立批复的印发日期", approval_issued_on(application)))
    if problems := _election_problems(application, report):
        raise DomainError("选举结果不符合要求：" + "；".join(problems))
    for name in ("election_date", "voters_expected", "voters_present", "secretary_votes"):
        setattr(application, name, getattr(report, name))
    application.secretary_name = report.secretary_name.strip()
    committee = [e for e in report.committee if e.name.strip()] if application.requested_kind.has_committee else []
    application.committee_members = "、".join(e.name.strip() for e in committee)
    application.committee_votes = [{"name": e.name.strip(), "votes": e.votes} for e in committee] or None
    if committee:
        what = f"选举{application.committee_members}为委员，委员会选举{application.secretary_name}为书记"
    else:
        what = f"选举{application.secretary_name}为书记"
    _move(application, step, actor, f"{report.election_date:%Y年%-m月%-d日}召开党员大会，{what}")


def establish_organisation(application: Application, *, actor: User, version: int, comment: str = "",
                           internal_note: str = "") -> None:
    """Approve the election (批准选举结果): the Party organisation is established and counts as formed."""
    step = _check_step(application, "establish", actor, version)
    org = application.organisation
    # It now has its own organisation: out of any joint branch, and counted with the members it reported.
    set_coverage(org, own=True, joint_code=None, cause=CoverageCause.ESTABLISH)
    org.formal_members, org.probationary_members = application.formal_members, application.probationary_members
    if application.requested_kind is PartyOrgKind.JOINT_BRANCH:
        _join_partners(application, actor)
    _move(application, step, actor, comment or "同意选举结果，党组织正式成立", internal_note)
    party_org = create_party_org(application)
    issue_document(application, DocumentKind.ELECTION_APPROVAL, actor=actor, party_org=party_org)
    create_fund_item(application, actor=actor)


def return_election(application: Application, *, actor: User, version: int, comment: str,
                    internal_note: str = "") -> None:
    """Send the election report back (退回选举结果) for correction."""
    step = _check_step(application, "return_election", actor, version, comment)
    _move(application, step, actor, comment, internal_note)


# ---------------------------------------------------------------- queries the pages need

def visible_application(application_id: int, user: User, *options) -> Application | None:
    """The application, if this user may see it (Application.visible_to); None as for one that does not exist."""
    return db.session.execute(sa.select(Application).where(Application.id == application_id,
                                                           Application.visible_to(user)).options(*options)
                              ).unique().scalar_one_or_none()


def step_refusal(application: Application, step: Step, user: User, version: int | None = None) -> str | None:
    """Why this user may not take `step` now, in their words, or None. The card shows a step's button only where
    this says None (available_steps), and the step's verb refuses with its answer: one rule for both. With the
    version of the page a verb was sent from, a page older than the application raises StaleError."""
    if user.role is not step.role or not application.can_view(user):
        return f"您无权对该申请执行“{step.label}”"
    if version is not None:
        _check_version(application, version)
    if application.state not in step.sources:
        return f"申请当前为“{application.state.label}”，不能{step.label}"
    return None


def available_steps(application: Application, user: User) -> list[Step]:
    """The steps this user may take now: what the card shows as buttons."""
    return [s for s in steps_from(application.state, user.role) if step_refusal(application, s, user) is None]


def edit_refusal(application: Application, user: User, version: int | None = None) -> str | None:
    """Why this user may not change the application now (修改), or None: the card's 修改 and every editing verb
    ask this. `version` as for step_refusal."""
    if user.role is not Role.APPLICANT or not application.can_view(user):
        return "只有本单位联系人可以修改申请"
    if version is not None:
        _check_version(application, version)
    if application.state not in EDITABLE_STATES:
        return f"申请当前为“{application.state.label}”，不能再修改"
    return None


def can_edit(application: Application, user: User) -> bool:
    return edit_refusal(application, user) is None


# ---------------------------------------------------------------- internals

def _apply_data(application: Application, data: ApplicationData) -> None:
    for m in data.members:
        if problem := join_date_problem(m.joined_on, m.status, application.submitted_at):
            raise DomainError(f"{m.name.strip()}：{problem}")
    application.requested_kind = data.requested_kind
    application.formal_members = data.formal_members
    application.probationary_members = data.probationary_members
    application.proposed_secretary = data.proposed_secretary.strip()
    application.partner_organisations = data.partner_organisations.strip()
    application.work_need = data.work_need
    application.reasons = data.reasons.strip()
    _apply_project(application, data.project)
    application.members = [
        ApplicationMember(position=i, name=m.name.strip(), gender=m.gender, joined_on=m.joined_on, status=m.status)
        for i, m in enumerate(data.members)
    ]


def _apply_project(application: Application, data: ProjectData) -> None:
    """The project of a 工程项目's application (kept as typed, checked at submission); none for another kind."""
    if application.organisation.kind is not OrgKind.PROJECT:
        application.project = None
        return
    if data.planned_start and data.planned_end and data.planned_end <= data.planned_start:
        raise DomainError("计划竣工日期应晚于计划开工日期", "project_end")
    project = application.project or Project()
    project.name, project.builder = data.name.strip(), data.builder.strip()
    project.planned_start, project.planned_end = data.planned_start, data.planned_end
    for column, _ in THREE_SYNCS:
        setattr(project, column, column in data.syncs)
    application.project = project


def _check_editable(application: Application, actor: User, version: int) -> None:
    if (refusal := edit_refusal(application, actor, version)) is not None:
        raise DomainError(refusal)


def _check_version(application: Application, version: int) -> None:
    if application.version != version:
        raise StaleError(f"该申请已被他人处理或在其他页面修改，当前状态为“{application.state.label}”。"
                         "页面已更新为最新内容，本次操作未执行。")


def _check_step(application: Application, action: str, actor: User, version: int, comment: str = "") -> Step:
    step = STEP_BY_ACTION[action]
    return allowed(step, step_refusal(application, step, actor, version), comment, "comment")


def _bump(application: Application) -> None:
    bump_version(application, "该申请刚刚被他人处理，本次操作未执行。请查看最新状态。")


def _move(application: Application, step: Step, actor: User, comment: str = "", internal_note: str = "",
          snapshot: dict | None = None) -> None:
    previous = application.state
    application.state = step.target
    application.state_changed_at = utcnow()
    if step.target is AppState.SUBMITTED and application.submitted_at is None:
        application.submitted_at = application.state_changed_at  # the first submission; a resubmission keeps it
    _bump(application)  # the race is decided here, before the history and notices are written
    # In the zone-wide, hash-chained audit log, and in the application's own history; both say whose step it was (代理).
    stood_in_for = record_acted(step.action, application, application, actor,
                                f"{step.label}：{previous.label} → {step.target.label}")
    db.session.add(ApplicationEvent(
        application=application, actor=actor, actor_role=actor.role, action=step.action, from_state=previous,
        to_state=step.target, comment=comment.strip(), internal_note=internal_note.strip(), snapshot=snapshot,
        on_behalf_of=stood_in_for))
    _notify(application, step, comment)
    db.session.flush()


def _recipients(application: Application, audience: str) -> list[User]:
    query = sa.select(User).where(User.active)
    if audience == "applicant":
        query = query.where(User.organisation_id == application.organisation_id)
    elif audience == "unit":
        query = query.where(User.role == Role.UNIT_REVIEWER, User.unit_id == application.unit.id)
    else:
        query = query.where(User.role == Role.ZONE_APPROVER)
    return list(db.session.scalars(query))


def _notify(application: Application, step: Step, comment: str) -> None:
    if step.notify is None:
        return
    message = f"{application.organisation.name}的成立党组织申请：{step.label}"
    if comment.strip() and step.notify == "applicant":
        message += f"。{comment.strip()}"
    notify(_recipients(application, step.notify), message, application=application,
           link=card_panel(application.id, step.panel) if step.panel else "")


def _partner_problems(partners: Partners) -> list[str]:
    problems = [f"联合组建单位的统一社会信用代码 {code} 不在摸底名录中，请核对；名录外的单位请填写全称"
                for code in partners.unknown_codes]
    for org in partners.found:
        if org.has_party_org:
            problems.append(f"联合组建单位“{org.name}”已建立党组织，不能再参加联合组建")
        elif org.joint_branch_code:
            problems.append(f"联合组建单位“{org.name}”已在另一个联合党支部中（牵头单位代码 {org.joint_branch_code}）")
    return problems


def _join_partners(application: Application, actor: User) -> None:
    """The partners found in the registry now belong to this joint branch: the formation rate counts them as
    covered, as the registry's import does for joint branches founded before the system."""
    host = application.organisation
    for org in resolve_partners(application.partner_organisations, host).found:
        if not org.has_party_org and org.joint_branch_code is None:
            set_coverage(org, own=False, joint_code=host.credit_code, cause=CoverageCause.JOINT_BRANCH)
            record_event("joint_branch.join", org, actor, f"{org.name}加入{host.name}牵头的联合党支部",
                         host=host.credit_code)


def _election_problems(application: Application, report: ElectionReport) -> list[str]:
    problems = []
    if report.voters_expected <= 0 or report.voters_present > report.voters_expected:
        problems.append("实到人数不能超过应到人数，应到人数须大于0")
    # 选举时有选举权的到会人数须超过应到会人数的五分之四，会议方为有效。
    elif report.voters_present * 5 <= report.voters_expected * 4:
        problems.append("到会有选举权的党员须超过应到人数的五分之四，选举方为有效")
    if report.voters_expected != application.formal_members:
        problems.append(f"应到会有选举权的党员应为正式党员人数 {application.formal_members} 名（预备党员没有表决权和选举权）")
    formal = {m.name for m in application.members if m.status is MemberStatus.FORMAL}
    secretary = report.secretary_name.strip()
    if application.requested_kind.has_committee:
        problems += _committee_problems(application.requested_kind, report, formal)
    else:
        if report.secretary_votes * 2 <= report.voters_present:
            problems.append("书记当选须获得超过实到人数一半的赞成票")
        if report.secretary_votes > report.voters_present:
            problems.append("书记得票数不能超过实到人数")
        if secretary and secretary not in formal:
            problems.append(f"当选书记“{secretary}”应是党员名单中的正式党员")
    if not secretary:
        problems.append("请填写当选书记的姓名")
    return problems


def _committee_problems(kind: PartyOrgKind, report: ElectionReport, formal: set[str]) -> list[str]:
    """The 委员 the members' meeting elected and the secretary the committee elected from them: each 委员 a formal
    member elected by more than half of those present, as many as the kind's committee has."""
    problems = []
    elected = [e for e in report.committee if e.name.strip()]
    names = [e.name.strip() for e in elected]
    least, most = COMMITTEE_SIZE[kind]
    if not least <= len(names) <= most:
        # Alone: the rows are checked once there are as many as a committee has. A form posted with thousands of
        # rows is refused in one line, not with a message per row and a duplicate search that grows as their square.
        return [f"{kind.label}须选举产生委员{least}至{most}名，已填写 {len(names)} 名"]
    if duplicates := sorted({n for n in names if names.count(n) > 1}):
        problems.append(f"委员“{'、'.join(duplicates)}”填写了不止一次")
    for e in elected:
        name = e.name.strip()
        if len(name) > 40 or first_refused(name):
            problems.append("委员姓名须为一行文字，不超过40个字")
        elif name not in formal:
            problems.append(f"委员“{name}”应是党员名单中的正式党员")
        if e.votes is None or e.votes < 0:
            problems.append(f"请填写委员“{name}”的得票数（0或正整数）")
        elif e.votes > report.voters_present:
            problems.append(f"委员“{name}”的得票数 {e.votes} 超过了实到人数 {report.voters_present}")
        elif e.votes * 2 <= report.voters_present:
            problems.append(f"委员“{name}”的得票数 {e.votes} 未超过实到人数的一半，不能当选")
    secretary = report.secretary_name.strip()
    if secretary and names and secretary not in names:
        problems.append(f"书记由委员会从委员中选举产生，“{secretary}”不在当选委员中")
    if names and report.secretary_votes > len(names):
        problems.append(f"委员会选举书记的得票数不能超过委员人数 {len(names)}")
    elif names and report.secretary_votes * 2 <= len(names):
        problems.append(f"书记须获得超过委员会委员半数的赞成票（委员 {len(names)} 名）")
    return problems
