"""Queries over the organisation registry (摸底): lists and counts for the officials' pages."""
import re
from dataclasses import dataclass, field

import sqlalchemy as sa

from models import COUNTED, FormationCount, Organisation, Unit, db

from .formation_counts import recount_marked
from .paging import paginate


def fragment_patterns(text: str) -> dict[str, str]:
    """The LIKE patterns of name_or_code_like for a fragment anywhere in the name or the credit code, its
    wildcards taken literally (credit codes are upper-case)."""
    pattern = "%" + text.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return {"name_pattern": pattern, "code_pattern": pattern.upper()}


def name_or_code_like(name_pattern, code_pattern) -> sa.ColumnElement[bool]:
    """An organisation whose name or credit code is like the patterns (strings, or parameters of a statement built
    once)."""
    return sa.or_(Organisation.name.like(name_pattern, escape="\\"),
                  Organisation.credit_code.like(code_pattern, escape="\\"))


def name_or_code_matches(text: str) -> sa.ColumnElement[bool]:
    """An organisation whose name or credit code contains the fragment (wildcards taken literally)."""
    return name_or_code_like(**fragment_patterns(text))


def search_organisations(*, unit: Unit | None = None, text: str = "", page: int = 1, per_page: int = 50):
    """One page of organisations, optionally of one unit and matching a name or credit-code fragment."""
    query = sa.select(Organisation).where(COUNTED).order_by(Organisation.name, Organisation.id)
    if unit is not None:
        query = query.where(Organisation.unit_id == unit.id)
    if text.strip():
        return paginate(query.where(name_or_code_matches(text)), page, per_page)
    return paginate(query, page, per_page, total=counted_organisations(unit))


def counted_organisations(unit: Unit | None = None) -> int:
    """The counted organisations of the zone or one unit, from the counts kept per unit and kind."""
    recount_marked()
    query = sa.select(sa.func.coalesce(sa.func.sum(FormationCount.organisations), 0))
    return db.session.scalar(query if unit is None else query.where(FormationCount.unit_id == unit.id))


def unit_summary() -> list[dict]:
    """Per unit: organisations, those with Party members, those with a Party organisation (one query, of the counts
    kept per unit and kind, domain/formation_counts.py)."""
    recount_marked()
    count = FormationCount
    rows = db.session.execute(
        sa.select(Unit, *(sa.func.coalesce(sa.func.sum(c), 0) for c in (
            count.organisations, count.with_members, count.with_party_org)))
        .outerjoin(count, count.unit_id == Unit.id)
        .group_by(Unit.id)
        .order_by(Unit.sort_order)
    )
    return [
        {"unit": unit, "organisations": total, "with_members": with_members, "with_party_org": with_org}
        for unit, total, with_members, with_org in rows
    ]


# Names in the partner field are separated by the enumeration comma, commas, semicolons or line breaks.
_PARTNER_SEPARATORS = re.compile(r"[、，,；;\n\r]+")
_CODE = re.compile(r"^[0-9A-Z]{18}$")


@dataclass
class Partners:
    """The partners typed for a joint branch, resolved against the registry."""
    found: list[Organisation] = field(default_factory=list)  # by credit code, or by a unique full name
    unknown_codes: list[str] = field(default_factory=list)  # codes the registry does not hold
    free_text: list[str] = field(default_factory=list)  # names not (or not uniquely) in the registry


def resolve_partners(text: str, host: Organisation) -> Partners:
    """Match each partner a joint-branch application names (code or full name) to the registry, in one query.
    A name shared by several organisations is not guessed at: it stays text."""
    tokens = [t.strip() for t in _PARTNER_SEPARATORS.split(text or "") if t.strip()]
    codes = {t.upper() for t in tokens if _CODE.match(t.upper())}
    names = {t for t in tokens if t.upper() not in codes}
    rows = list(db.session.scalars(sa.select(Organisation).where(
        sa.or_(Organisation.credit_code.in_(codes), Organisation.name.in_(names)), Organisation.id != host.id,
        COUNTED)))
    by_code = {o.credit_code: o for o in rows}
    by_name: dict[str, list[Organisation]] = {}
    for o in rows:
        by_name.setdefault(o.name, []).append(o)
    result, seen = Partners(), set()
    for token in tokens:
        org = by_code.get(token.upper()) or (by_name[token][0] if len(by_name.get(token, [])) == 1 else None)
        if org is not None:
            if org.id not in seen:
                seen.add(org.id)
                result.found.append(org)
        elif token.upper() in codes:
            result.unknown_codes.append(token.upper())
        else:
            result.free_text.append(token)
    return result
