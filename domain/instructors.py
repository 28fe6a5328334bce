"""The 61 instructors (党建指导员): managing them, ranking them for an assignment, assigning and reassigning."""
import re
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from models import Application, Assignment, Instructor, Role, Unit, User, db, instructor_units, utcnow

from . import DomainError
from .audit import record_event
from .notices import instructor_accounts, notify
from .spreadsheets import Limits, read_spreadsheet, refused_characters
from .substitutes import record_acted
from .text import check_text
from .validators import normalise_phone
from .workflow import INSTRUCTED_STATES

IMPORT_COLUMNS = ["姓名", "派出单位", "联系电话", "负责初审单位", "最多指导组织数"]


class ImportRefused(DomainError):
    """An import with bad rows: nothing was written; problems names each row."""

    def __init__(self, problems: list[str]):
        super().__init__(f"导入未执行：{len(problems)} 行有误，请修改后重新上传")
        self.problems = problems


@dataclass
class InstructorData:
    name: str
    home_organ: str
    phone: str
    capacity: int
    units: list[Unit] = field(default_factory=list)


@dataclass
class Suggestion:
    """An instructor ranked for one application, with the load and the reasons shown beside the name."""

    instructor: Instructor
    load: int
    covers_unit: bool
    last_assigned_at: datetime | None

    @property
    def full(self) -> bool:
        return self.load >= self.instructor.capacity

    @property
    def why(self) -> str:
        parts = [f"负责{'本单位' if self.covers_unit else '其他单位'}", f"已指导 {self.load}/{self.instructor.capacity}"]
        parts.append(f"上次选派 {self.last_assigned_at:%Y-%m-%d}" if self.last_assigned_at else "尚未选派")
        if self.full:
            parts.append("已满额")
        return "，".join(parts)


# ---------------------------------------------------------------- managing instructors

def create_instructor(data: InstructorData, *, actor: User) -> Instructor:
    """Add an instructor (新增指导员)."""
    instructor = Instructor(active=True)
    _apply(instructor, data)
    db.session.add(instructor)
    db.session.flush()
    record_event("create_instructor", instructor, actor, f"新增党建指导员{instructor.name}")
    return instructor


def update_instructor(instructor: Instructor, data: InstructorData, *, actor: User) -> None:
    """Edit an instructor's details (修改指导员信息)."""
    _apply(instructor, data)
    record_event("update_instructor", instructor, actor, f"修改党建指导员{instructor.name}的信息")


def set_instructor_active(instructor: Instructor, active: bool, *, actor: User) -> None:
    """Deactivate (停用) an instructor, once their organisations have been reassigned; or reactivate."""
    if not active and (load := current_load(instructor)):
        raise DomainError(f"{instructor.name}仍在指导 {load} 个组织，请先将这些组织改派给其他指导员，再停用")
    instructor.active = active
    record_event("activate_instructor" if active else "deactivate_instructor", instructor, actor,
                 f"{'启用' if active else '停用'}党建指导员{instructor.name}")


def import_instructors(filename: str, content: bytes, units: list[Unit], default_capacity: int, *,
                       actor: User) -> int:
    """Import instructors from XLSX or CSV (批量导入): all rows or none; each bad row named with its line."""
    if not content:
        raise DomainError(f"文件“{filename}”是空的，请重新选择")
    rows = read_table(content)
    by_name = {u.name: u for u in units} | {u.code: u for u in units}
    parsed, problems = [], []
    for line, row in rows:
        if refused := refused_characters(row):
            problems.append(f"第 {line} 行：{refused}")
            continue
        try:
            parsed.append(_parse_row(row, by_name, default_capacity))
        except DomainError as refusal:
            problems.append(f"第 {line} 行：{refusal.message}")
    if problems:
        raise ImportRefused(problems)
    if not parsed:
        raise DomainError("文件中没有指导员数据")
    for data in parsed:
        create_instructor(data, actor=actor)
    return len(parsed)


# The zone has 61 instructors; a file of more rows than this is not an instructor list.
INSTRUCTOR_ROWS_MAX = 1000


def read_table(content: bytes) -> list[tuple[int, list[str]]]:
    """The data rows of an uploaded XLSX or CSV with their line numbers, the header row and blank rows skipped;
    read within bounds (domain/spreadsheets.py)."""
    rows = read_spreadsheet(content, Limits(rows=INSTRUCTOR_ROWS_MAX + 1, columns=len(IMPORT_COLUMNS) + 10))
    return [(number, row) for number, row in enumerate(rows, start=1) if number > 1 and any(row)]


def _parse_row(row: list[str], units: dict[str, Unit], default_capacity: int) -> InstructorData:
    row = (row + [""] * 5)[:5]
    name, organ, phone, unit_names, capacity = row
    if not name or len(name) > 40:
        raise DomainError("姓名不能为空，且不超过40个字")
    if not organ:
        raise DomainError("派出单位不能为空")
    covered = []
    for unit_name in filter(None, re.split(r"[、,，;；\s]+", unit_names)):
        if unit_name not in units:
            raise DomainError(f"没有名为“{unit_name}”的初审单位")
        covered.append(units[unit_name])
    if capacity and not re.fullmatch(r"\d+(\.0)?", capacity):
        raise DomainError(f"最多指导组织数“{capacity}”不是正整数")
    data = InstructorData(name=name, home_organ=organ, phone=phone, capacity=int(float(capacity or default_capacity)),
                          units=covered)
    _validate(data)
    return data


def _validate(data: InstructorData) -> None:
    if not 1 <= data.capacity <= 100:
        raise DomainError("最多指导组织数应在 1 到 100 之间", "capacity")
    if data.phone:
        data.phone = normalise_phone(data.phone, "phone")


def _apply(instructor: Instructor, data: InstructorData) -> None:
    _validate(data)
    instructor.name, instructor.home_organ = data.name.strip(), data.home_organ.strip()
    instructor.phone, instructor.capacity, instructor.units = data.phone, data.capacity, list(data.units)


# ---------------------------------------------------------------- load and ranking

def _guided():
    """Applications still being guided, each counted for its instructor: Application.instructor_id, which
    assign_instructor keeps the open assignment's. Counted from ix_applications_guided alone."""
    return Application.state.in_(INSTRUCTED_STATES)


def current_load(instructor: Instructor) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Application).where(
        Application.instructor_id == instructor.id, _guided())) or 0


def suggest_instructors(application: Application) -> list[Suggestion]:
    """Active instructors ranked for this application: those covering its unit first, then those under
    capacity, then the fewest organisations, then the longest since their last assignment (one query)."""
    # Grouped once and joined, not counted per instructor (a correlated count per each of the 61 instructors).
    loads = (sa.select(Application.instructor_id, sa.func.count().label("n"))
             .where(_guided()).group_by(Application.instructor_id).subquery())
    lasts = (sa.select(Assignment.instructor_id, sa.func.max(Assignment.assigned_at).label("at"))
             .group_by(Assignment.instructor_id).subquery())
    covers = sa.exists().where(instructor_units.c.instructor_id == Instructor.id,
                               instructor_units.c.unit_id == application.unit_id)
    rows = db.session.execute(
        sa.select(Instructor, loads.c.n, lasts.c.at, covers).where(Instructor.active)
        .outerjoin(loads, loads.c.instructor_id == Instructor.id)
        .outerjoin(lasts, lasts.c.instructor_id == Instructor.id)).all()
    suggestions = [Suggestion(i, n or 0, bool(c), _aware(t)) for i, n, t, c in rows]
    epoch = datetime.min.replace(tzinfo=utcnow().tzinfo)
    suggestions.sort(key=lambda s: (not s.covers_unit, s.full, s.load, s.last_assigned_at or epoch,
                                    s.instructor.name, s.instructor.id))
    return suggestions


def _aware(value):
    # An aggregate loses the column's type on SQLite, so the zone is put back here.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=utcnow().tzinfo) if value is not None and value.tzinfo is None else value


# ---------------------------------------------------------------- assigning

def assign_instructor(application: Application, instructor: Instructor | None, *, actor: User,
                      reason: str = "") -> Assignment:
    """Assign an instructor (选派); at or over capacity only with a reason, which is recorded."""
    if instructor is None:
        raise DomainError("请选择一名党建指导员", "instructor_id")
    if not instructor.active:
        raise DomainError(f"指导员{instructor.name}已停用，请另选", "instructor_id")
    current = current_assignment(application)
    if current is not None and current.instructor_id == instructor.id:
        raise DomainError(f"{instructor.name}已是该组织的指导员", "instructor_id")
    load = current_load(instructor)
    over = load >= instructor.capacity
    if over and not reason.strip():
        raise DomainError(f"{instructor.name}已指导 {load}/{instructor.capacity} 个组织，已满额。"
                          "如仍要选派，请填写理由", "reason")
    if current is not None:
        current.ended_at = utcnow()
        db.session.flush()  # end the old one before the unique "one current" index sees the new one
    assignment = Assignment(application=application, instructor=instructor, assigned_by=actor,
                            reason=reason.strip(), over_capacity=over)
    db.session.add(assignment)
    application.instructor = instructor
    notify(instructor_accounts(instructor.id), f"您已被选派为{application.organisation.name}的党建指导员，请及时联系并开展指导",
           application=application)
    db.session.flush()
    return assignment


def reassign_instructor(application: Application, instructor: Instructor | None, *, actor: User,
                        reason: str) -> Assignment:
    """Reassign (改派) the organisation to another instructor, with the reason."""
    if actor.role is not Role.ZONE_APPROVER:
        raise DomainError("只有党工委可以改派指导员")
    if application.state not in INSTRUCTED_STATES:
        raise DomainError("只有已批准成立的组织才能改派指导员")
    if not reason.strip():
        raise DomainError("改派须填写理由", "reason")
    previous = application.instructor
    assignment = assign_instructor(application, instructor, actor=actor, reason=reason)
    record_acted("reassign_instructor", application, application, actor,
                 f"{application.organisation.name}的指导员由{previous.name if previous else '（无）'}"
                 f"改派为{assignment.instructor.name}：{reason.strip()}")
    return assignment


def bulk_assign(applications: list[Application], instructor: Instructor | None, *, actor: User, reason: str,
                replace: bool) -> tuple[list[Application], list[Application]]:
    """Assign one instructor to several organisations (批量选派). One already guided by someone else is
    left alone unless replace is chosen; the skipped ones are returned so the page can name them."""
    if not applications:
        raise DomainError("请至少勾选一个组织")
    check_text(reason, "理由", "reason", multiline=True)
    done, skipped = [], []
    for application in applications:
        current = current_assignment(application)
        if current is not None and (current.instructor_id == getattr(instructor, "id", None) or not replace):
            skipped.append(application)
            continue
        reassign_instructor(application, instructor, actor=actor, reason=reason)
        done.append(application)
    return done, skipped


def current_assignment(application: Application) -> Assignment | None:
    return db.session.scalar(sa.select(Assignment).where(Assignment.application_id == application.id,
                                                         Assignment.ended_at.is_(None)))


def assigned_since(application_ids: list[int]) -> dict[int, datetime]:
    """When each application's current assignment began (one query, for lists)."""
    if not application_ids:
        return {}
    return dict(db.session.execute(sa.select(Assignment.application_id, Assignment.assigned_at).where(
        Assignment.application_id.in_(application_ids), Assignment.ended_at.is_(None))).all())


def assignment_history(application: Application) -> list[Assignment]:
    return list(db.session.scalars(sa.select(Assignment).where(Assignment.application_id == application.id)
                                   .order_by(Assignment.id.desc())))


def current_loads(instructor_ids: list[int]) -> dict[int, int]:
    """How many organisations each of these instructors guides now (one grouped count, for a page of a list)."""
    if not instructor_ids:
        return {}
    return dict(db.session.execute(
        sa.select(Application.instructor_id, sa.func.count())
        .where(Application.instructor_id.in_(instructor_ids), _guided()).group_by(Application.instructor_id)).all())


def instructor_load_table(sort: str = "load") -> list[dict]:
    """Every instructor with the organisations they guide, in total and per unit (two queries)."""
    per_unit = db.session.execute(
        sa.select(Application.instructor_id, Application.unit_id, sa.func.count())
        .where(_guided()).group_by(Application.instructor_id, Application.unit_id)).all()
    by_instructor: dict[int, dict[int, int]] = {}
    for instructor_id, unit_id, count in per_unit:
        by_instructor.setdefault(instructor_id, {})[unit_id] = count
    rows = [{"instructor": i, "load": sum(by_instructor.get(i.id, {}).values()), "by_unit": by_instructor.get(i.id, {})}
            for i in db.session.scalars(sa.select(Instructor).order_by(Instructor.name))]
    keys = {"load": lambda r: (-r["load"], r["instructor"].name), "name": lambda r: r["instructor"].name,
            "organ": lambda r: (r["instructor"].home_organ, r["instructor"].name),
            "free": lambda r: (-(r["instructor"].capacity - r["load"]), r["instructor"].name)}
    return sorted(rows, key=keys.get(sort, keys["load"]))
