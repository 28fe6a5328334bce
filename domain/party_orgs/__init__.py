"""The life of an established Party organisation (党组织档案): its record, committee, terms and later steps.

Queries live here; the steps' table in steps (STEPS), the verbs in records (create_party_org, record_step), the term
lengths in terms. Callers import from `domain.party_orgs`.
"""
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from models import (
    ApplicationEvent, ChecklistItem, CommitteeSeat, Delivery, Document, FundItem, Organisation, PartyOrg,
    PartyOrgEvent, PartyOrgKind, Role, Unit, User, db,
)

from ..guidance import checklist
from ..documents import chinese_date
from ..paging import paginate
from ..settings import get_settings
from ..workbooks import Table, as_of, tables_workbook
from ..zone_time import local_today
from .committee import SeatChange, adjust_seat, fill_seat
from .dissolution import covered_by, dissolve_party_org, merge_party_org, receiving_choices, rename_party_org
from .projects import awaiting_decision, keep_branch, report_project_end
from .records import create_party_org, elected_seats, member_of, record_step
from .renewal_steps import (
    RENEWAL_STEP_BY_ACTION, RENEWAL_STEPS, RENEWAL_WAITING_ON, RenewalStep, available_renewal_steps, renewal_mermaid,
    renewal_step_refusal,
)
from .renewals import (
    RenewalDue, RenewalPanel, Slate, approve_renewal, approve_renewal_election, ask_date_change, ask_reschedule,
    grant_date_change, grant_reschedule, natural_term_end, open_renewal, pass_renewal, refuse_date_change,
    refuse_reschedule, renewal_due_of, renewal_link, renewal_panel_of,
    renewals_of, report_renewal_election, return_renewal, return_renewal_election, submit_renewal, withdraw_renewal,
)
from .steps import STEP_BY_ACTION, STEPS, Step, available_steps, require_step, step_refusal, steps_from
from .steps import mermaid as record_mermaid
from .terms import (
    DEFAULT_TERM_YEARS, DUE_MONTHS, TermStatus, months_later, set_term_length, term_end, term_lengths, term_status_sql,
    term_years,
)

__all__ = [
    "DEFAULT_TERM_YEARS", "DUE_MONTHS", "OrgFilter", "Record", "STEPS", "STEP_BY_ACTION", "SeatChange", "Step",
    "TermStatus", "adjust_seat", "available_steps", "create_party_org", "documents_of", "elected_seats",
    "export_unit", "fill_seat", "filtered", "for_user", "member_of", "months_later", "org_page", "party_org_of",
    "record_ids_of", "record_mermaid", "record_of", "record_step", "records_xlsx", "require_step", "set_term_length",
    "step_refusal", "steps_from", "term_counts",
    "term_end", "term_lengths", "term_status_sql", "term_statuses", "term_years", "visible_party_org",
    # 撤销, 调整, 更名, 合并 (dissolution); a project's branch after its project (projects)
    "awaiting_decision", "covered_by", "dissolve_party_org", "keep_branch", "merge_party_org", "receiving_choices",
    "rename_party_org", "report_project_end",
    # 换届 and 延期/提前换届 (renewal_steps, renewals)
    "RENEWAL_STEPS", "RENEWAL_STEP_BY_ACTION", "RENEWAL_WAITING_ON", "RenewalDue", "RenewalPanel", "RenewalStep",
    "Slate", "approve_renewal", "approve_renewal_election", "ask_date_change", "ask_reschedule",
    "available_renewal_steps", "grant_date_change", "grant_reschedule", "natural_term_end", "open_renewal",
    "pass_renewal", "refuse_date_change", "refuse_reschedule", "renewal_due_of",
    "renewal_link", "renewal_mermaid", "renewal_panel_of", "renewal_step_refusal", "renewals_of",
    "report_renewal_election", "return_renewal", "return_renewal_election", "submit_renewal", "withdraw_renewal",
]


def for_user(user: User) -> sa.Select:
    """The records this user may see (PartyOrg.visible_to), in name order: what every list starts from."""
    return sa.select(PartyOrg).where(PartyOrg.visible_to(user)).order_by(PartyOrg.name, PartyOrg.id)


def visible_party_org(party_org_id: int, user: User) -> PartyOrg | None:
    """The record, if this user may see it; None as for one that does not exist."""
    return db.session.scalar(sa.select(PartyOrg).where(PartyOrg.id == party_org_id, PartyOrg.visible_to(user)))


def party_org_of(application_id: int) -> PartyOrg | None:
    """The organisation a founding application established, if it is established."""
    return db.session.scalar(sa.select(PartyOrg).where(PartyOrg.application_id == application_id))


def documents_of(party_org: PartyOrg) -> list[Document]:
    """Every document issued for the organisation, the founding 批复 first."""
    return list(db.session.scalars(sa.select(Document).where(Document.party_org_id == party_org.id)
                                   .order_by(Document.id)))


def record_ids_of(*, application_ids: list[int] = (), organisation_ids: list[int] = ()) -> dict[int, int]:
    """The record of each of these applications (or host organisations) that has one: {their id: record id}, for
    the lists that link to the record (the instructor's, the applicant's home, the organisation tables)."""
    if application_ids:
        return dict(db.session.execute(sa.select(PartyOrg.application_id, PartyOrg.id)
                                       .where(PartyOrg.application_id.in_(application_ids))).all())
    if organisation_ids:
        # An organisation's latest record: one dissolved and founded again has two.
        return dict(db.session.execute(sa.select(PartyOrg.organisation_id, PartyOrg.id)
                                       .where(PartyOrg.organisation_id.in_(organisation_ids))
                                       .order_by(PartyOrg.id)).all())
    return {}


@dataclass
class OrgFilter:
    """The record list's filters (党组织档案), each already checked against the values offered: None or "" is none."""
    unit_id: int | None = None
    kind: PartyOrgKind | None = None
    term: TermStatus | None = None
    page: int = 1


def filtered(user: User, f: OrgFilter, query: sa.Select | None = None) -> sa.Select:
    """The records this user sees (or `query` over them), filtered; a unit reviewer's are their unit's whatever is
    asked."""
    query = for_user(user) if query is None else query.where(PartyOrg.visible_to(user))
    if f.unit_id is not None and user.role is not Role.UNIT_REVIEWER:
        query = query.where(PartyOrg.unit_id == f.unit_id)
    if f.kind is not None:
        query = query.where(PartyOrg.kind == f.kind)
    if f.term is not None:
        query = query.where(term_status_sql(local_today()) == f.term.value)
    return query


def org_page(user: User, f: OrgFilter, per_page: int = 50):
    """One page of the records this user sees, filtered."""
    return paginate(filtered(user, f), f.page, per_page)


def export_unit(user: User, f: OrgFilter) -> Unit | None:
    """Whose list an export is: the reviewer's unit, the unit asked for, or None for the zone's."""
    return user.unit or (db.session.get(Unit, f.unit_id) if f.unit_id else None)


RECORD_HEADERS = ["党组织名称", "类别", "初审单位", "本届任期开始", "本届任期届满", "任期状态"]


def records_xlsx(user: User, f: OrgFilter) -> bytes:
    """The filtered record list as XLSX (党组织任期清单): every row, not a page, for the zone or a unit; a term's
    status by the lists' rule (半年内届满, 届满未换届), a record no longer active by its state."""
    status = term_status_sql(local_today())
    query = filtered(user, f, sa.select(PartyOrg.name, PartyOrg.kind, Unit.name, PartyOrg.term_start,
                                        PartyOrg.term_end, status, PartyOrg.state)
                     .join(Unit, Unit.id == PartyOrg.unit_id)).order_by(PartyOrg.name, PartyOrg.id)
    rows = [[name, kind.label, unit, chinese_date(start), chinese_date(end),
             TermStatus(term).label if term else state.label]
            for name, kind, unit, start, end, term, state in db.session.execute(query)]
    unit = export_unit(user, f)
    filters = [f"初审单位：{unit.name if unit else '全部'}", f"类别：{f.kind.label if f.kind else '全部'}",
               f"任期状态：{f.term.label if f.term else '全部'}"]
    label = f.term.label if f.term else "任期"
    title = f"{get_settings()['zone_name']}党组织{label}清单"
    return tables_workbook([Table(label, title, RECORD_HEADERS, rows, wrap=(0,))], as_of("；".join(filters)))


def term_counts(unit_id: int | None = None) -> dict[TermStatus, int]:
    """How many active organisations (of the unit, or the zone) are 在届, 半年内届满 and 届满未换届 today: the
    dashboard's counts, by the rule the lists filter with."""
    status = term_status_sql(local_today())
    query = sa.select(status, sa.func.count(PartyOrg.id)).where(status.is_not(None)).group_by(status)
    if unit_id is not None:
        query = query.where(PartyOrg.unit_id == unit_id)
    counted = {TermStatus(s): n for s, n in db.session.execute(query)}
    return {s: counted.get(s, 0) for s in TermStatus}


def term_statuses(ids: list[int]) -> dict[int, TermStatus]:
    """The term status of each of these records today (term_status_sql); a record no longer active has none."""
    rows = db.session.execute(sa.select(PartyOrg.id, term_status_sql(local_today())).where(PartyOrg.id.in_(ids)))
    return {id_: TermStatus(status) for id_, status in rows if status is not None}


@dataclass
class HistoryEntry:
    """One line of the record's history: a founding step (ApplicationEvent) or a later one (PartyOrgEvent)."""
    at: datetime
    founding: ApplicationEvent | None = None
    later: PartyOrgEvent | None = None


@dataclass
class Record:
    """What the record page shows (党组织档案)."""
    party_org: PartyOrg
    term_status: TermStatus | None
    days_left: int
    current_seats: list[CommitteeSeat]
    past_seats: list[CommitteeSeat]
    partners: list[Organisation]
    checklist: list[tuple[ChecklistItem, Delivery | None]]
    fund: FundItem | None
    documents: list[Document]
    history: list[HistoryEntry]

    @property
    def members(self) -> tuple[int, int]:
        """Formal and probationary members: the host's, and each partner's of a joint branch."""
        orgs = [self.party_org.organisation, *self.partners]
        return sum(o.formal_members for o in orgs), sum(o.probationary_members for o in orgs)


def record_of(party_org: PartyOrg) -> Record:
    """Everything the record page shows of one organisation."""
    today = local_today()
    application = party_org.application
    seats = sorted(party_org.seats, key=lambda s: (list(type(s.post)).index(s.post), s.started_on, s.id))
    partners = list(db.session.scalars(
        sa.select(Organisation).where(Organisation.joint_branch_code == party_org.organisation.credit_code)
        .order_by(Organisation.name))) if party_org.kind is PartyOrgKind.JOINT_BRANCH else []
    founding = [HistoryEntry(e.at, founding=e) for e in application.history]
    later = [HistoryEntry(e.at, later=e) for e in party_org.history]
    return Record(
        party_org=party_org, term_status=term_statuses([party_org.id]).get(party_org.id),
        days_left=(party_org.term_end - today).days,
        current_seats=[s for s in seats if s.ended_on is None],
        past_seats=sorted((s for s in seats if s.ended_on is not None), key=lambda s: (s.ended_on, s.id),
                          reverse=True),
        partners=partners, checklist=checklist(application),
        fund=db.session.scalar(sa.select(FundItem).where(FundItem.application_id == application.id)),
        documents=documents_of(party_org), history=sorted(founding + later, key=lambda h: h.at))

