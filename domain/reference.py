"""Reference data every installation needs: the nine first-level units."""
import sqlalchemy as sa

from models import OrgKind, Unit, UnitCategory, db

from . import DomainError
from .audit import record_event
from .text import check_text

# 一区两园三部四街. The article does not name the four streets: these are placeholders the admin renames.
# The last column is each unit's 上级党组织 (models/unit.py), by its full name as a 批复 addresses it: a Party
# committee leads its own new organisations; the 工商联's 党组 cannot, so a 非公经济组织综合党委 does.
UNITS = [
    ("industrial_park", "新型工业园区党委", UnitCategory.PARK, "中共通辽经济技术开发区新型工业园区委员会"),
    ("logistics_park", "综合物流园区党委", UnitCategory.PARK, "中共通辽经济技术开发区综合物流园区委员会"),
    ("federation", "工商联党组", UnitCategory.DEPARTMENT, "中共通辽经济技术开发区非公有制经济组织综合委员会"),
    ("civil_affairs", "民政部门社会组织党委", UnitCategory.DEPARTMENT, "中共通辽经济技术开发区社会组织综合委员会"),
    ("market_regulation", "市场监管部门个体私营经济党委", UnitCategory.DEPARTMENT,
     "中共通辽经济技术开发区个体私营经济委员会"),
    ("street_east", "东城街道区域党工委", UnitCategory.STREET, "中共通辽经济技术开发区东城街道工作委员会"),
    ("street_west", "西城街道区域党工委", UnitCategory.STREET, "中共通辽经济技术开发区西城街道工作委员会"),
    ("street_south", "南城街道区域党工委", UnitCategory.STREET, "中共通辽经济技术开发区南城街道工作委员会"),
    ("street_north", "北城街道区域党工委", UnitCategory.STREET, "中共通辽经济技术开发区北城街道工作委员会"),
]

# Where an organisation's first review goes by default; location may override it (a street, a park).
DEFAULT_UNIT_FOR_KIND = {
    OrgKind.ENTERPRISE: "industrial_park",
    OrgKind.SOCIAL_ORG: "civil_affairs",
    OrgKind.BUILDING: "federation",
    OrgKind.PROJECT: "industrial_park",
    OrgKind.STREET_AREA: "street_east",
}


def ensure_units() -> list[Unit]:
    """Create the nine units that are missing; leave renamed ones alone."""
    existing = {u.code: u for u in db.session.scalars(db.select(Unit))}
    for order, (code, name, category, superior) in enumerate(UNITS, start=1):
        if code not in existing:
            existing[code] = Unit(code=code, name=name, category=category, sort_order=order, superior=superior)
            db.session.add(existing[code])
    db.session.flush()
    return sorted(existing.values(), key=lambda u: u.sort_order)


_IN_ORDER = db.select(Unit).order_by(Unit.sort_order)  # built once: the lists' filters ask it on every page


def list_units() -> list[Unit]:
    return list(db.session.scalars(_IN_ORDER))


_CHOICES = sa.select(Unit.id, Unit.name).order_by(Unit.sort_order)


def unit_choices() -> list[sa.Row]:
    """The units' ids and names, in order, for the lists' filters and columns."""
    return db.session.execute(_CHOICES).all()


def suggest_unit(kind: OrgKind) -> Unit | None:
    """The unit that first reviews an organisation of this kind unless its location says otherwise."""
    return db.session.scalar(db.select(Unit).filter_by(code=DEFAULT_UNIT_FOR_KIND[kind]))


def update_unit(unit: Unit, name: str, superior: str, *, actor) -> None:
    """Rename a unit or set its 上级党组织 (修改初审单位): the Party organisation that leads what is founded through it,
    by the full name a 批复 addresses (中共…委员会); blank where the 党工委 leads them itself."""
    name = check_text(name.strip(), "单位名称", "name")
    superior = check_text(superior.strip(), "上级党组织", "superior")
    if not name:
        raise DomainError("请填写单位名称", "name")
    for value, field, label in ((name, "name", "单位名称"), (superior, "superior", "上级党组织")):
        if len(value) > 80:
            raise DomainError(f"{label}不能超过80个字", field)
    if db.session.scalar(sa.select(Unit.id).where(Unit.name == name, Unit.id != unit.id)) is not None:
        raise DomainError(f"已有名为“{name}”的初审单位", "name")
    before = (unit.name, unit.superior)
    unit.name, unit.superior = name, superior
    record_event("update_unit", unit, actor, f"修改初审单位{before[0]}：名称“{name}”，上级党组织“{superior or '党工委'}”",
                 name=name, superior=superior, previous_name=before[0], previous_superior=before[1])
