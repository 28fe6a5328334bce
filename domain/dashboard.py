"""The formation-rate dashboard (组建率看板) and the committee's to-do lists (应建未建、应联未联).

Every figure is one SQL aggregate; no loop walks organisations or events in Python. The rates and their months add
up the counts kept per unit and kind as organisations change (domain/formation_counts.py), and the days per step
average the days each event was written with. A unit reviewer's figures are those of their unit; the zone's cover
everything.
"""
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from domain.funds import fund_totals
from models import (
    COUNTED, AppState, Application, ApplicationEvent, CoverageMonth, FormationCount, Instructor, Organisation, OrgKind,
    Unit, db, utcnow,
)

from .formation_counts import SHOULD_BUILD, SHOULD_JOIN, recount_marked
from .paging import paginate
from .party_orgs import term_counts
from .registry import name_or_code_matches
from .settings import get_settings
from .workbooks import Table, as_of, tables_workbook
from .workflow import STEP_BY_ACTION, WAITING_ON
from .zone_time import local_today

TODO_LISTS = {"build": ("应建未建", SHOULD_BUILD), "join": ("应联未联", SHOULD_JOIN)}

DEFINITION = ("组建率 = 已被党组织覆盖的组织数 ÷ 有党员的组织数。“已被覆盖”指本组织已建立党组织（含在本系统批准成立的和"
              "此前已有的），或已纳入联合党支部；“有党员”指正式党员与预备党员合计至少1名。")
COVERAGE_NOTE = "名录覆盖率 = 已被党组织覆盖的组织数 ÷ 名录中全部组织数（多数市场主体没有党员，因此远低于组建率）。"


@dataclass
class Rate:
    """One line of the formation-rate table: a zone, a unit or a kind."""

    label: str
    organisations: int = 0
    with_members: int = 0
    covered_with_members: int = 0
    covered: int = 0
    should_build: int = 0
    should_join: int = 0

    @property
    def rate(self) -> float | None:
        """组建率 in per cent, or None when no organisation has a Party member."""
        return round(100 * self.covered_with_members / self.with_members, 1) if self.with_members else None

    @property
    def coverage(self) -> float | None:
        return round(100 * self.covered / self.organisations, 1) if self.organisations else None


@dataclass
class Dashboard:
    scope: Unit | None
    reference: float
    zone: Rate
    by_unit: list[Rate]
    by_kind: list[Rate]
    by_month: list[dict]
    states: list[tuple[AppState, int]]
    step_days: list[dict]
    overdue: list[tuple[AppState, int]]
    overdue_oldest: list[Application]
    instructors: list[dict]
    overdue_days: int = 5
    # Startup funds (启动经费): items, approved, in batches and paid, summed from the finance overview.
    funds: dict | None = None
    # The established organisations' terms (党组织任期): how many are 在届, 半年内届满, 届满未换届.
    terms: dict | None = None


def _kept(query: sa.Select, model, unit: Unit | None) -> sa.Select:
    """A query of kept counts (domain/formation_counts.py), of the zone or one unit, once this transaction's own
    writes are counted in them."""
    recount_marked()
    return query if unit is None else query.where(model.unit_id == unit.id)


def _rate(label: str, row) -> Rate:
    return Rate(label, **{name: int(row[name] or 0) for name in RATE_FIGURES})


RATE_FIGURES = ("organisations", "with_members", "covered_with_members", "covered", "should_build", "should_join")


def formation_rate(unit: Unit | None = None) -> Rate:
    """组建率 of the zone, or of one unit."""
    row = db.session.execute(_kept(sa.select(*(sa.func.sum(getattr(FormationCount, name)).label(name)
                                               for name in RATE_FIGURES)), FormationCount, unit)).one()
    return _rate(unit.name if unit else "全区", row._mapping)


def _rates(unit: Unit | None) -> tuple[Rate, list[Rate], list[Rate]]:
    """The zone's (or unit's) rate, per unit and per kind, from the kept counts per unit and kind (at most 9 x 5
    rows, never organisations)."""
    units = list(db.session.scalars(sa.select(Unit).order_by(Unit.sort_order)))
    if unit is not None:
        units = [u for u in units if u.id == unit.id]
    cells = [row._mapping for row in db.session.execute(_kept(sa.select(FormationCount.__table__), FormationCount,
                                                                unit))]

    def total(label: str, rows) -> Rate:
        return _rate(label, {name: sum(r[name] for r in rows) for name in RATE_FIGURES})

    zone = total(unit.name if unit else "全区", cells)
    by_unit = [total(u.name, [c for c in cells if c["unit_id"] == u.id]) for u in units]
    by_kind = [total(k.label, [c for c in cells if c["kind"] is k]) for k in OrgKind]
    return zone, by_unit, by_kind


def _rates_by_month(unit: Unit | None, with_members: int) -> list[dict]:
    """Coverage by month as it was then (coverage_changes, kept per unit and month as CoverageMonth): organisations
    covered and no longer covered in each month, and those covered at its end. A dissolution lowers the months from
    its own on, never those before it. The rate divides by the organisations with members now, as the zone's rate
    does."""
    m = CoverageMonth
    rows = db.session.execute(_kept(sa.select(m.month, sa.func.sum(m.new), sa.func.sum(m.lost))
                                    .group_by(m.month).order_by(m.month), m, unit))
    months, total = [], 0
    for month, new, lost in rows:
        total += new - lost
        months.append({"month": month, "new": new, "lost": lost, "total": total,
                       "rate": round(100 * total / with_members, 1) if with_members else None})
    return months


# The organisations the figures leave out (an unverified one may only draft): few, found by an index of their own.
_NOT_COUNTED = sa.select(Organisation.id).where(sa.not_(COUNTED))


def _app_scope(query: sa.Select, unit: Unit | None) -> sa.Select:
    """Applications of counted organisations, of the zone or one unit."""
    query = query.where(Application.organisation_id.not_in(_NOT_COUNTED))
    return query if unit is None else query.where(Application.unit_id == unit.id)


def _step_days(unit: Unit | None) -> list[dict]:
    """Average days from the previous event of an application to each step (平均办理天数), each step's days written
    with its event (ApplicationEvent.days_since_previous).

    The events are filtered by application id rather than joined to their applications: for the zone only the few
    applications left out are read, not all 50,000 (the events' scan alone is half the join's time at 110,000)."""
    e = ApplicationEvent
    left_out = sa.select(Application.id).where(Application.organisation_id.in_(_NOT_COUNTED))
    query = (sa.select(e.action, sa.func.avg(e.days_since_previous), sa.func.count())
             .where(e.days_since_previous.is_not(None), e.application_id.not_in(left_out)).group_by(e.action))
    if unit is not None:
        query = query.where(e.application_id.in_(sa.select(Application.id).where(Application.unit_id == unit.id)))
    found = {action: (avg, n) for action, avg, n in db.session.execute(query)}
    return [{"action": step.action, "label": step.label, "days": round(float(found[step.action][0]), 1),
             "count": found[step.action][1]} for step in STEP_BY_ACTION.values() if step.action in found]


def _pipeline(unit: Unit | None, overdue_days: int):
    late = sa.and_(Application.state.in_(list(WAITING_ON)),
                   Application.state_changed_at < utcnow() - timedelta(days=overdue_days))
    # Per state: all applications, and those overdue, in one pass.
    rows = db.session.execute(_app_scope(
        sa.select(Application.state, sa.func.count(), sa.func.count().filter(late)).group_by(Application.state),
        unit)).all()
    states = {state: total for state, total, _ in rows}
    overdue = {state: n for state, _, n in rows if n}
    oldest = list(db.session.scalars(_app_scope(
        sa.select(Application).where(late).order_by(Application.state_changed_at).limit(10), unit)))
    return ([(s, states.get(s, 0)) for s in AppState], [(s, overdue.get(s, 0)) for s in WAITING_ON], oldest)


def _instructor_loads(unit: Unit | None) -> list[dict]:
    """Organisations each instructor guides now (指导员工作量), against their capacity."""
    load = sa.func.count(Application.id)
    join_on = sa.and_(Application.instructor_id == Instructor.id,
                      Application.state.in_([AppState.APPROVED, AppState.ELECTION_REPORTED, AppState.ESTABLISHED]))
    if unit is not None:
        join_on = sa.and_(join_on, Application.unit_id == unit.id)
    query = (sa.select(Instructor.name, Instructor.home_organ, Instructor.capacity, load)
             .outerjoin(Application, join_on).where(Instructor.active)
             .group_by(Instructor.id, Instructor.name, Instructor.home_organ, Instructor.capacity)
             .order_by(load.desc(), Instructor.name))
    if unit is not None:
        query = query.having(load > 0)  # a unit sees the instructors working in it
    return [{"name": n, "organ": o, "capacity": c, "load": l} for n, o, c, l in db.session.execute(query)]


def build_dashboard(unit: Unit | None = None) -> Dashboard:
    """组建率看板: formation rates, their trend, the pipeline and instructor load, for the zone or one unit."""
    zone, by_unit, by_kind = _rates(unit)
    overdue_days = current_app.config["OVERDUE_DAYS"]
    states, overdue, oldest = _pipeline(unit, overdue_days)
    return Dashboard(scope=unit, reference=current_app.config["FORMATION_RATE_REFERENCE"], zone=zone,
                     by_unit=by_unit, by_kind=by_kind,
                     by_month=_rates_by_month(unit, zone.with_members), states=states, step_days=_step_days(unit),
                     overdue=overdue, overdue_oldest=oldest, instructors=_instructor_loads(unit),
                     overdue_days=overdue_days, funds=fund_totals(unit.id if unit is not None else None),
                     terms=term_counts(unit.id if unit is not None else None))


# ---------------------------------------------------------------- the to-do lists

@dataclass
class TodoFilter:
    list: str = "build"  # "build" (应建未建) or "join" (应联未联)
    unit_id: int | None = None
    kind: str = ""
    q: str = ""
    page: int = 1


# The lists' order, the partial indexes' (models/organisation.py, TODO_INDEXES): most formal members first.
TODO_ORDER = (Organisation.formal_members.desc(), Organisation.name, Organisation.id)


def todo_conditions(f: TodoFilter, scope: Unit | None) -> list:
    """What a to-do list's filters select, within the scope (a reviewer's unit, or None for the zone)."""
    conditions = [TODO_LISTS[f.list][1], COUNTED]
    unit_id = scope.id if scope is not None else f.unit_id
    if unit_id:
        conditions.append(Organisation.unit_id == unit_id)
    if f.kind in OrgKind._value2member_map_:
        conditions.append(Organisation.kind == OrgKind(f.kind))
    if f.q.strip():
        conditions.append(name_or_code_matches(f.q))
    return conditions


def todo_page(f: TodoFilter, scope: Unit | None, per_page: int = 50):
    """One page of 应建未建 or 应联未联 organisations, most formal members first."""
    query = sa.select(Organisation).where(*todo_conditions(f, scope)).order_by(*TODO_ORDER)
    return paginate(query, f.page, per_page)


def todo_unit(f: TodoFilter, scope: Unit | None) -> Unit | None:
    """The unit a to-do list is of: a reviewer's own, or the one the filter names (None: the whole zone)."""
    return scope or (db.session.get(Unit, f.unit_id) if f.unit_id else None)


def _share(part: int, whole: int) -> float | None:
    """A share as a ratio for a percent-formatted cell (0.5 shows as 50.0%), or None when there is no whole."""
    return part / whole if whole else None


def dashboard_xlsx(d: Dashboard) -> bytes:
    """The dashboard's tables as one workbook (组建率看板导出)."""
    heading = f"{get_settings()['zone_name']}党组织组建率看板"

    def table(name, headers, rows, **columns) -> Table:
        return Table(name, f"{heading}：{name}", headers, rows, **columns)

    def rates(name, items) -> Table:
        return table(name, ["范围", "组织数", "有党员的组织", "其中已覆盖", "组建率", "名录覆盖率", "应建未建", "应联未联"],
                     [[r.label, r.organisations, r.with_members, r.covered_with_members,
                       _share(r.covered_with_members, r.with_members), _share(r.covered, r.organisations),
                       r.should_build, r.should_join] for r in items], percent=(4, 5))

    return tables_workbook([
        table("概况", ["指标", "数值", "说明"],
              [["组建率", _share(d.zone.covered_with_members, d.zone.with_members), DEFINITION],
               ["名录覆盖率", _share(d.zone.covered, d.zone.organisations), COVERAGE_NOTE],
               ["参考值", d.reference / 100, "组建率的参考值，看板的图中以参考线标出。"]], percent=(1,), wrap=(2,)),
        rates("组建率", [d.zone]),
        rates("按初审单位", d.by_unit),
        rates("按组织类别", d.by_kind),
        table("按月", ["月份", "当月新增覆盖", "当月不再覆盖", "月末覆盖", "组建率"],
              [[_month_label(m["month"]), m["new"], m["lost"], m["total"], _share(m["total"], d.zone.with_members)]
               for m in d.by_month], percent=(4,)),
        table("申请流程", ["状态", "申请数"], [[s.label, n] for s, n in d.states]),
        table("平均办理天数", ["环节", "平均天数", "次数"], [[s["label"], s["days"], s["count"]] for s in d.step_days]),
        table("超期", ["等待环节", f"超过{d.overdue_days}天的申请数"], [[s.label, n] for s, n in d.overdue]),
        table("指导员工作量", ["指导员", "派出单位", "指导组织数", "建议上限"],
              [[i["name"], i["organ"], i["load"], i["capacity"]] for i in d.instructors]),
    ], as_of(f"范围：{d.scope.name if d.scope else '全区'}"))


def _month_label(month: str) -> str:
    """A month as the sheets write one: "2026-03" becomes 2026年3月."""
    year, number = month.split("-")
    return f"{year}年{int(number)}月"


