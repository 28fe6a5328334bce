"""The formation rate's kept counts (domain/formation_counts.py): current within the transaction that changes an
organisation, whether by the ORM or by a set-based statement, and under concurrent writers. (After every test of the
suite, tests/conftest.py also checks the kept counts against a fresh count.)"""
import sqlalchemy as sa

from domain.dashboard import build_dashboard, formation_rate
from domain.registry import search_organisations
from models import Organisation, OrgKind, db
from tests.conftest import race, racers, unit_by_code


def test_an_orm_change_counts_before_the_commit_and_moves_between_units(ctx, make_org):
    park, civil = unit_by_code("industrial_park"), unit_by_code("civil_affairs")
    org = ctx.get(Organisation, make_org(formal_members=0).id)
    ctx.commit()
    assert (formation_rate(park).organisations, formation_rate(park).with_members) == (1, 0)
    org.formal_members = 4
    assert formation_rate(park).should_build == 1  # read in the same transaction, before any commit
    org.unit = civil
    org.kind = OrgKind.SOCIAL_ORG
    ctx.commit()
    assert (formation_rate(park).organisations, formation_rate(civil).should_build) == (0, 1)
    assert [r.organisations for r in build_dashboard().by_kind if r.label == OrgKind.SOCIAL_ORG.label] == [1]


def test_a_set_based_statement_is_counted(ctx, make_org):
    for _ in range(3):
        make_org(formal_members=0)
    ctx.commit()
    ctx.execute(sa.update(Organisation).values(formal_members=3, has_party_org=True))
    rate = formation_rate()
    assert (rate.organisations, rate.with_members, rate.covered_with_members) == (3, 3, 3)
    ctx.rollback()
    assert formation_rate().with_members == 0  # rolled back, and nothing stays marked


def test_concurrent_writers_of_one_unit_each_count_the_others(app, ctx, make_org):
    ids = [make_org(formal_members=0).id for _ in range(racers(app))]
    ctx.commit()

    def give_members(org_id, start):
        start()
        db.session.get(Organisation, org_id).formal_members = 1
        db.session.commit()

    assert not [r for r in race(app, give_members, ids) if isinstance(r, Exception)]
    ctx.expire_all()
    assert formation_rate().with_members == len(ids)


def test_the_registry_pages_total_is_the_kept_count(ctx, make_org):
    make_org(), make_org(unit_code="civil_affairs"), make_org(verified=False)  # the last counts nowhere
    ctx.commit()
    assert search_organisations().total == 2 and search_organisations(unit=unit_by_code("civil_affairs")).total == 1
    assert search_organisations(text="测试企业").total == 2  # a search counts its rows
