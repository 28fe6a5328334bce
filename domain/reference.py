"""Reference data every installation needs: the nine first-level units."""
from time import monotonic

import sqlalchemy as sa
from flask import current_app

from models import OrgKind, Unit, UnitCategory, db, read_columns

# 一区两园三部四街. The article does not name the four streets: these are placeholders the admin renames.
UNITS = [
    ("industrial_park", "新型工业园区党委", UnitCategory.PARK),
    ("logistics_park", "综合物流园区党委", UnitCategory.PARK),
    ("federation", "工商联党组", UnitCategory.DEPARTMENT),
    ("civil_affairs", "民政部门社会组织党委", UnitCategory.DEPARTMENT),
    ("market_regulation", "市场监管部门个体私营经济党委", UnitCategory.DEPARTMENT),
    ("street_east", "东城街道区域党工委", UnitCategory.STREET),
    ("street_west", "西城街道区域党工委", UnitCategory.STREET),
    ("street_south", "南城街道区域党工委", UnitCategory.STREET),
    ("street_north", "北城街道区域党工委", UnitCategory.STREET),
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
    for order, (code, name, category) in enumerate(UNITS, start=1):
        if code not in existing:
            existing[code] = Unit(code=code, name=name, category=category, sort_order=order)
            db.session.add(existing[code])
    db.session.flush()
    return sorted(existing.values(), key=lambda u: u.sort_order)


_IN_ORDER = db.select(Unit).order_by(Unit.sort_order)  # built once: the lists' filters ask it on every page


def list_units() -> list[Unit]:
    return list(db.session.scalars(_IN_ORDER))


_CHOICES = sa.select(Unit.id, Unit.name).order_by(Unit.sort_order)


def unit_choices() -> list[sa.Row]:
    """The units' ids and names, in order, for the lists' filters and columns: kept by each app (each worker) for
    UNIT_CHOICES_SECONDS. The inbox of every official showed them, and reading them cost a query and nine objects,
    0.25 ms of its CPU. They are reference data that the app never changes: a unit renamed in the database shows in
    the filters within that time, and everywhere else (its applications, documents) at once."""
    kept = current_app.extensions.get("unit_choices")
    now = monotonic()
    if kept is None or now >= kept[0]:
        rows = read_columns(_CHOICES).all()
        kept = current_app.extensions["unit_choices"] = (now + current_app.config["UNIT_CHOICES_SECONDS"], rows)
    return kept[1]


def suggest_unit(kind: OrgKind) -> Unit | None:
    """The unit that first reviews an organisation of this kind unless its location says otherwise."""
    return db.session.scalar(db.select(Unit).filter_by(code=DEFAULT_UNIT_FOR_KIND[kind]))
