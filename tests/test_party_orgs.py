"""The organisation's record after founding (issue 32): opened by the establish step, its committee and term, the
database's rules for it, and who sees it."""
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from domain import DomainError
from domain import applications as verbs
from domain import party_orgs
from domain.applications import Elected, ElectionReport
from domain.documents import issue_document
from models import (
    Application, CommitteePost, CommitteeSeat, DocumentKind, PartyOrg, PartyOrgEvent, PartyOrgKind, PartyOrgState,
    Role, TermLength, User,
)
from tests.conftest import zone_today


def establish(ctx, made, contact, zone, report: ElectionReport) -> Application:
    application = ctx.get(Application, made.id)
    verbs.report_election(application, report, actor=ctx.get(User, contact.id), version=application.version)
    verbs.establish_organisation(application, actor=ctx.get(User, zone.id), version=application.version)
    ctx.commit()
    return application


@pytest.fixture
def zone(make_user):
    return make_user(Role.ZONE_APPROVER)


def test_establishing_opens_the_record_with_its_committee_term_and_documents(ctx, make_application, make_user, zone):
    """A 党支部委员会 of 8: the committee the meeting elected (the secretary first), a three-year term from today,
    and both founding 批复 on the record."""
    made = make_application("unit_approved", formal=8, probationary=0)
    instructor, contact = make_user(Role.INSTRUCTOR), make_user(Role.APPLICANT, organisation=made.organisation)
    application = ctx.get(Application, made.id)
    verbs.approve_application(application, actor=ctx.get(User, zone.id), version=application.version,
                              instructor=ctx.get(User, instructor.id).instructor)
    committee = tuple(Elected(n, 8) for n in ("党员2", "党员1", "党员3"))
    establish(ctx, made, contact, zone, ElectionReport(zone_today(), 8, 8, "党员1", 3, committee))

    party_org = ctx.scalars(sa.select(PartyOrg)).one()
    assert party_org.application_id == made.id and party_org.organisation_id == made.organisation_id
    assert party_org.name == f"中共{made.organisation.name}支部委员会"
    assert (party_org.kind, party_org.state) == (PartyOrgKind.BRANCH_COMMITTEE, PartyOrgState.ACTIVE)
    today = zone_today()
    assert (party_org.established_on, party_org.term_start) == (today, today)
    assert party_org.term_end == party_orgs.term_end(today, 3)
    seats = [(s.name, s.post, s.started_on, s.ended_on, s.member.name) for s in party_org.seats]
    assert seats == [("党员1", CommitteePost.SECRETARY, today, None, "党员1"),
                     ("党员2", CommitteePost.MEMBER, today, None, "党员2"),
                     ("党员3", CommitteePost.MEMBER, today, None, "党员3")]
    assert [d.kind for d in party_orgs.documents_of(party_org)] == [DocumentKind.APPROVAL,
                                                                    DocumentKind.ELECTION_APPROVAL]
    assert party_orgs.party_org_of(made.id) == party_org


def test_a_branch_without_a_committee_has_its_secretary_and_a_party_committee_five_years(ctx, make_application,
                                                                                        make_user, zone):
    made = make_application("approved")
    contact = make_user(Role.APPLICANT, organisation=made.organisation)
    application = establish(ctx, made, contact, zone, ElectionReport(zone_today(), 5, 5, "党员1", 5))
    party_org = party_orgs.party_org_of(application.id)
    assert [(s.name, s.post) for s in party_org.seats] == [("党员1", CommitteePost.SECRETARY)]
    assert party_orgs.term_years(PartyOrgKind.PARTY_COMMITTEE) == 5
    assert party_orgs.term_years(PartyOrgKind.JOINT_BRANCH) == 3


def test_the_admins_term_length_is_the_one_used(ctx):
    ctx.merge(TermLength(kind=PartyOrgKind.BRANCH, years=4))
    ctx.flush()
    assert party_orgs.term_years(PartyOrgKind.BRANCH) == 4
    assert party_orgs.term_years(PartyOrgKind.GENERAL_BRANCH) == 3


def test_a_term_from_29_february_ends_on_28_february():
    assert party_orgs.term_end(date(2024, 2, 29), 3) == date(2027, 2, 28)
    assert party_orgs.term_end(date(2024, 3, 1), 5) == date(2029, 3, 1)


def test_a_failed_establishment_leaves_no_record(ctx, make_application, make_user, zone, monkeypatch):
    """The record is made in the establish step's transaction: a PDF that fails takes it back with the rest."""
    import domain.documents

    made = make_application("approved")
    contact = make_user(Role.APPLICANT, organisation=made.organisation)
    application = ctx.get(Application, made.id)
    verbs.report_election(application, ElectionReport(zone_today(), 5, 5, "党员1", 5),
                          actor=ctx.get(User, contact.id), version=application.version)
    ctx.commit()

    def broken(*args, **kwargs):
        raise RuntimeError("renderer down")

    monkeypatch.setattr(domain.documents, "lay_out_document", broken)
    with pytest.raises(RuntimeError):
        verbs.establish_organisation(application, actor=ctx.get(User, zone.id), version=application.version)
    ctx.rollback()
    assert ctx.scalar(sa.select(sa.func.count(PartyOrg.id))) == 0


# ---------------------------------------------------------------- the database's rules

@pytest.fixture
def record(ctx, make_application):
    made = make_application("established")
    return ctx.scalar(sa.select(PartyOrg).where(PartyOrg.application_id == made.id))


def _flush_fails(ctx, name: str, added=None):
    """The database refuses the pending change (or `added`), by the constraint `name`; the savepoint's rollback
    takes the refused object out of the session again."""
    with pytest.raises(sa.exc.IntegrityError, match=name):
        with ctx.begin_nested():  # (which flushes first what was pending before)
            if added is not None:
                ctx.add(added)
            ctx.flush()


def test_one_current_secretary_and_one_current_seat_a_person(ctx, record):
    today = zone_today()
    ctx.add(CommitteeSeat(party_org=record, name="甲", post=CommitteePost.SECRETARY, started_on=today))
    ctx.flush()
    _flush_fails(ctx, "uq_committee_seats_one_secretary|committee_seats.party_org_id\n",
                 CommitteeSeat(party_org_id=record.id, name="乙", post=CommitteePost.SECRETARY, started_on=today))
    _flush_fails(ctx, "uq_committee_seats_one_current_per_name|committee_seats.party_org_id, committee_seats.name",
                 CommitteeSeat(party_org_id=record.id, name="甲", post=CommitteePost.MEMBER, started_on=today))
    # An ended seat is history: the next secretary may take the post.
    first = ctx.scalars(sa.select(CommitteeSeat).filter_by(party_org_id=record.id, name="甲")).one()
    first.ended_on = today
    ctx.add(CommitteeSeat(party_org=record, name="乙", post=CommitteePost.SECRETARY, started_on=today))
    ctx.flush()
    first.ended_on = today - timedelta(days=1)
    _flush_fails(ctx, "ends_after_start")


def test_a_term_ends_after_it_starts(ctx, record):
    record.term_end = record.term_start
    _flush_fails(ctx, "term_not_empty")


def test_the_history_is_append_only(ctx, record, make_user):
    step = party_orgs.STEP_BY_ACTION["fill_seat"]
    event = party_orgs.record_step(record, step, ctx.get(User, make_user(Role.ZONE_APPROVER).id), "补选委员甲",
                                   reason="原委员调离", seat="甲")
    ctx.commit()
    assert (event.action, event.reason, event.details, record.version) == (
        "fill_seat", "原委员调离", {"summary": "补选委员甲", "seat": "甲"}, 2)
    with pytest.raises(RuntimeError, match="append-only"):
        event.reason = "改写"
        ctx.flush()
    ctx.rollback()
    with pytest.raises(sa.exc.DatabaseError, match="append-only"):
        ctx.execute(sa.update(PartyOrgEvent).values(reason="改写"))


def test_record_documents_repeat_and_need_their_organisation(ctx, record, make_user):
    """A founding kind is issued once per application; a record's kind may be issued again (two 换届), and only
    for an organisation."""
    zone = ctx.get(User, make_user(Role.ZONE_APPROVER).id)
    application = record.application
    pieces = ["关于同意", record.name, "换届选举的批复"]
    first = issue_document(application, DocumentKind.RENEWAL, actor=zone, party_org=record, title_pieces=pieces)
    second = issue_document(application, DocumentKind.RENEWAL, actor=zone, party_org=record, title_pieces=pieces)
    ctx.flush()
    assert (second.serial, first.title) == (first.serial + 1, f"关于同意{record.name}换届选举的批复")
    assert [d.id for d in party_orgs.documents_of(record)] == [first.id, second.id]
    with pytest.raises(ValueError, match="party organisation"):
        issue_document(application, DocumentKind.DISSOLUTION, actor=zone)
    issue_document(application, DocumentKind.APPROVAL, actor=zone)
    with pytest.raises(sa.exc.IntegrityError, match="uq_documents_application_kind|UNIQUE|unique"):
        with ctx.begin_nested():
            issue_document(application, DocumentKind.APPROVAL, actor=zone)
    first.party_org_id = None
    _flush_fails(ctx, "record_kinds_have_party_org")


# ---------------------------------------------------------------- who sees a record

def test_who_sees_a_record(ctx, make_application, make_user, make_org):
    made = make_application("established", unit_code="industrial_park")
    other = make_application("established", unit_code="federation")
    instructor_id = made.instructor_id
    instructor_user = make_user(Role.INSTRUCTOR)
    ctx.get(User, instructor_user.id).instructor_id = instructor_id
    ctx.commit()
    seen = {
        Role.ADMIN: make_user(Role.ADMIN), Role.ZONE_APPROVER: make_user(Role.ZONE_APPROVER),
        "unit": make_user(Role.UNIT_REVIEWER, unit_code="industrial_park"),
        "other unit": make_user(Role.UNIT_REVIEWER, unit_code="federation"),
        "contact": make_user(Role.APPLICANT, organisation=made.organisation),
        "stranger": make_user(Role.APPLICANT), "instructor": instructor_user, Role.FINANCE: make_user(Role.FINANCE),
    }
    names = {made.id: "mine", other.id: "other"}
    visible = {who: sorted(names[p.application_id] for p in ctx.scalars(party_orgs.for_user(ctx.get(User, u.id))))
               for who, u in seen.items()}
    assert visible == {Role.ADMIN: ["mine", "other"], Role.ZONE_APPROVER: ["mine", "other"], "unit": ["mine"],
                       "other unit": ["other"], "contact": ["mine"], "stranger": [], "instructor": ["mine"],
                       Role.FINANCE: []}
    mine = party_orgs.party_org_of(made.id)
    assert party_orgs.visible_party_org(mine.id, ctx.get(User, seen["other unit"].id)) is None
    assert party_orgs.visible_party_org(mine.id, ctx.get(User, seen["unit"].id)) == mine


def test_the_steps_table_says_who_may_do_what(ctx, record, make_user):
    zone = ctx.get(User, make_user(Role.ZONE_APPROVER).id)
    unit = ctx.get(User, make_user(Role.UNIT_REVIEWER).id)
    assert [s.action for s in party_orgs.available_steps(record, zone)] == ["fill_seat", "adjust_seat", "rename",
                                                                            "merge", "dissolve"]
    assert party_orgs.available_steps(record, unit) == []
    with pytest.raises(DomainError, match="只有开发区党工委可以补选委员"):
        party_orgs.require_step(record, "fill_seat", unit, record.version, "理由")
    with pytest.raises(DomainError, match="补选委员须填写理由"):
        party_orgs.require_step(record, "fill_seat", zone, record.version, " ")
    with pytest.raises(DomainError, match="已被他人修改"):
        party_orgs.require_step(record, "fill_seat", zone, record.version + 1, "理由")
    record.state = PartyOrgState.DISSOLVED
    assert party_orgs.available_steps(record, zone) == []
    with pytest.raises(DomainError, match="当前为“已撤销”，不能补选委员"):
        party_orgs.require_step(record, "fill_seat", zone, record.version, "理由")


def test_the_record_steps_are_drawn_from_their_table(app):
    output = app.test_cli_runner().invoke(args=["workflow-diagram", "--record"]).output
    assert output.startswith("stateDiagram-v2\n    [*] --> active\n")
    assert "    active --> active: 补选委员（开发区党工委）\n" in output
    assert "    active --> dissolved: 撤销党组织（开发区党工委）\n" in output
    assert output.rstrip().endswith("dissolved: 已撤销")


def test_the_readme_draws_the_record_steps_as_the_table_does(app):
    from pathlib import Path

    output = app.test_cli_runner().invoke(args=["workflow-diagram", "--record"]).output.strip()
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    assert f"```mermaid\n{output}\n```" in readme, (
        "README's record diagram is stale: paste `flask --app app workflow-diagram --record`")
