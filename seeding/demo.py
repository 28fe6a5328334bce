"""Demo data: the nine units, 61 instructors, about 40 organisations and one account per role.

Idempotent: every record is looked up by its natural key first, so running it twice creates nothing.
"""
from datetime import date, timedelta

import sqlalchemy as sa
from stdnum.cn import uscc

from models import (
    THREE_SYNCS, AppState, Application, ChecklistItem, CommitteePost, DisbursementBatch, FundState, Gender,
    Instructor, MemberStatus, Organisation, OrgKind, PartyOrg, PartyOrgKind, RegistrationKind, RegistrationReview,
    RegistrationStatus, Renewal, Role, User, VisitForm, clock_set_back, db,
)

from domain import applications as verbs
from domain import funds, guidance, party_orgs
from domain.accounts import DEMO_PASSWORD
from domain.coverage import backfill_coverage
from domain.applications import ApplicationData, Elected, ElectionReport, MemberRow, ProjectData
from domain.files import keep_file
from domain.party_rules import COMMITTEE_SIZE, suggested_kind
from domain.reference import ensure_units
from domain.settings import get_settings, set_seal
from domain.zone_time import local_today

_SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"
_GIVEN = ["建国", "海燕", "志强", "丽娜", "文博", "晓东", "桂兰", "春生", "雅琴", "宏伟", "秀英", "立新",
          "巴特尔", "其木格", "敖日格乐", "乌云", "国庆", "红梅", "振华", "淑珍", "永刚", "慧敏", "德胜"]
_ORGANS = ["开发区党工委组织部", "开发区党群工作部", "经济发展局", "财政局", "市场监管分局", "社会事业局",
           "规划建设局", "招商服务局", "应急管理局", "综合行政执法局"]

# (name, kind, unit code, employees, formal members, probationary members, already has a Party organisation)
_ORGANISATIONS = [
    ("长川制靴有限公司", OrgKind.ENTERPRISE, "industrial_park", 320, 5, 1, False),
    ("福耀玻璃（通辽）有限公司", OrgKind.ENTERPRISE, "industrial_park", 1200, 46, 3, True),
    ("通辽市快递业协会", OrgKind.SOCIAL_ORG, "civil_affairs", 60, 4, 0, False),
    ("通辽市外卖业协会", OrgKind.SOCIAL_ORG, "civil_affairs", 45, 3, 1, False),
    ("雷锋出租车协会", OrgKind.SOCIAL_ORG, "civil_affairs", 210, 9, 2, True),
    ("通辽市园林花卉协会", OrgKind.SOCIAL_ORG, "civil_affairs", 30, 2, 0, False),
    ("开发区创客中心", OrgKind.BUILDING, "federation", 150, 8, 1, False),
    ("那达慕街区商户联合会", OrgKind.STREET_AREA, "street_east", 37, 6, 0, True),
]
_GENERATED_KINDS = [
    ("科技有限公司", OrgKind.ENTERPRISE, "industrial_park"),
    ("物流有限公司", OrgKind.ENTERPRISE, "logistics_park"),
    ("商贸有限公司", OrgKind.ENTERPRISE, "market_regulation"),
    ("建设工程项目部", OrgKind.PROJECT, "industrial_park"),
    ("商务大厦", OrgKind.BUILDING, "federation"),
    ("行业商会", OrgKind.SOCIAL_ORG, "civil_affairs"),
    ("餐饮有限公司", OrgKind.ENTERPRISE, "street_west"),
    ("服务中心", OrgKind.SOCIAL_ORG, "street_south"),
    ("农牧产品有限公司", OrgKind.ENTERPRISE, "street_north"),
]
_PLACE_NAMES = ["科尔沁", "霍林", "西辽河", "大青沟", "孝庄河", "奈曼", "扎鲁特", "珠日河", "库伦", "开鲁",
                "明仁", "永清", "铁南", "红星", "清河", "和平", "建国", "育新", "施介", "木里图", "辽河",
                "东郊", "新城", "光明", "胜利", "民主", "平安", "兴隆", "富民", "工业", "河西", "北山"]
# Member counts that cover every Party rule: none, a joint branch, a branch, a committee, a general branch.
_MEMBER_PATTERN = [(0, 0), (1, 0), (2, 1), (3, 0), (5, 1), (7, 2), (12, 1), (0, 0), (52, 4), (4, 0)]

# (username, display name, role, unit code for reviewers)
_OFFICIALS = [
    ("reviewer", "新型工业园区初审员", Role.UNIT_REVIEWER, "industrial_park"),
    ("reviewer-logistics", "综合物流园区初审员", Role.UNIT_REVIEWER, "logistics_park"),
    ("reviewer-federation", "工商联初审员", Role.UNIT_REVIEWER, "federation"),
    ("reviewer-civil", "民政部门初审员", Role.UNIT_REVIEWER, "civil_affairs"),
    ("reviewer-market", "市场监管部门初审员", Role.UNIT_REVIEWER, "market_regulation"),
    ("reviewer-east", "东城街道初审员", Role.UNIT_REVIEWER, "street_east"),
    ("reviewer-west", "西城街道初审员", Role.UNIT_REVIEWER, "street_west"),
    ("reviewer-south", "南城街道初审员", Role.UNIT_REVIEWER, "street_south"),
    ("reviewer-north", "北城街道初审员", Role.UNIT_REVIEWER, "street_north"),
    ("zone", "党工委审批员", Role.ZONE_APPROVER, None),
    ("finance", "财务经办人", Role.FINANCE, None),
    ("admin", "系统管理员", Role.ADMIN, None),
]


def demo_credit_code(index: int, kind: OrgKind) -> str:
    """A valid 统一社会信用代码 for demo organisation number index (Tongliao's region code 150500)."""
    authority = "51" if kind is OrgKind.SOCIAL_ORG else "91"  # 5x: civil affairs; 91: market regulator
    body = f"{authority}150500MA0{index:06d}"
    return body + uscc.calc_check_digit(body)


def demo_instructor_names(count: int = 61) -> list[str]:
    return [_SURNAMES[i % len(_SURNAMES)] + _GIVEN[(i * 7) % len(_GIVEN)] for i in range(count)]


def _demo_organisations() -> list[tuple]:
    rows = list(_ORGANISATIONS)
    for i, place in enumerate(_PLACE_NAMES):
        suffix, kind, unit = _GENERATED_KINDS[i % len(_GENERATED_KINDS)]
        formal, probationary = _MEMBER_PATTERN[i % len(_MEMBER_PATTERN)]
        rows.append((f"通辽{place}{suffix}", kind, unit, 20 + (i * 37) % 400, formal, probationary, i % 6 == 5))
    return rows


def seed_demo() -> int:
    """Create whatever demo record is missing (演示数据); return how many were created."""
    created = 0
    units = {u.code: u for u in ensure_units()}

    instructors = {i.name: i for i in db.session.scalars(db.select(Instructor))}
    for i, name in enumerate(demo_instructor_names()):
        if name not in instructors:
            units_list = list(units.values())
            instructors[name] = Instructor(name=name, home_organ=_ORGANS[i % len(_ORGANS)],
                                           phone=f"1390475{i:04d}", capacity=3,
                                           units=[units_list[i % len(units_list)]])
            db.session.add(instructors[name])
            created += 1

    orgs = {o.credit_code: o for o in db.session.scalars(db.select(Organisation))}
    for index, (name, kind, unit, employees, formal, probationary, has_org) in enumerate(_demo_organisations(), 1):
        code = demo_credit_code(index, kind)
        if code not in orgs:
            orgs[code] = Organisation(
                name=name, credit_code=code, kind=kind, unit=units[unit], address=f"通辽经济技术开发区{name[2:4]}路{index}号",
                contact_name=_SURNAMES[(index * 3 + 11) % len(_SURNAMES)] + _GIVEN[index % len(_GIVEN)],
                contact_phone=f"1384750{index:04d}", employees=employees, formal_members=formal,
                probationary_members=probationary, has_party_org=has_org,
            )
            db.session.add(orgs[code])
            created += 1
    db.session.flush()
    backfill_coverage()  # the organisations covered before the system: covered since they entered the registry

    users = set(db.session.scalars(db.select(User.username)))

    def add_user(username: str, name: str, role: Role, **links) -> None:
        nonlocal created
        if username not in users:
            user = User(username=username, name=name, role=role, demo=True, email=f"{username}@example.org", **links)
            user.set_password(DEMO_PASSWORD)
            db.session.add(user)
            users.add(username)
            created += 1

    applicant_org = orgs[demo_credit_code(1, OrgKind.ENTERPRISE)]
    add_user("applicant", applicant_org.contact_name, Role.APPLICANT, organisation=applicant_org)
    for username, name, role, unit in _OFFICIALS:
        add_user(username, name, role, unit=units[unit] if unit else None)
    add_user("instructor", demo_instructor_names()[0], Role.INSTRUCTOR,
             instructor=instructors[demo_instructor_names()[0]])
    db.session.flush()
    created += funds.ensure_fund_standards()
    created += _seed_applications(orgs, add_user)
    created += _seed_waiting_registration(units["industrial_park"], add_user)
    return created + _seed_funds() + _seed_renewal()


# An organisation that registered itself and waits for the industrial park's reviewer (注册核实).
_WAITING = ("通辽星河电子商务有限公司", "applicant-new", "赵晓东", "办公室主任")


def _seed_waiting_registration(unit, add_user) -> int:
    name, username, contact, position = _WAITING
    if db.session.scalar(db.select(User.id).filter_by(username=username)):
        return 0
    code = demo_credit_code(90, OrgKind.ENTERPRISE)
    org = Organisation(name=name, credit_code=code, kind=OrgKind.ENTERPRISE, unit=unit, address="通辽经济技术开发区新河路8号",
                       contact_name=contact, contact_phone="13847509090", employees=42, formal_members=4,
                       probationary_members=1, verified=False)
    db.session.add(org)
    add_user(username, contact, Role.APPLICANT, organisation=org)
    db.session.flush()
    user = db.session.scalar(db.select(User).filter_by(username=username))
    certificate = keep_file("营业执照.png", "image/png", _certificate_png(name, code), actor=user)
    db.session.add(RegistrationReview(kind=RegistrationKind.NEW, status=RegistrationStatus.PENDING, organisation=org,
                                      user=user, certificate=certificate, position=position, phone="13847509090"))
    return 2


def _certificate_png(name: str, code: str) -> bytes:
    """A plain picture standing for the demo's business licence, with its name and code (a CJK font if there is)."""
    from io import BytesIO

    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", (720, 480), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((12, 12, 707, 467), outline=(200, 30, 30), width=6)
    try:
        big, small = (ImageFont.truetype("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", size)
                      for size in (44, 24))
    except OSError:  # no CJK font on this machine: the picture still stands for the certificate
        big = small = ImageFont.load_default()
    draw.text((250, 50), "营业执照", fill=(200, 30, 30), font=big)
    for line, text in enumerate([f"统一社会信用代码 {code}", f"名称 {name}", "类型 有限责任公司", "（演示数据）"]):
        draw.text((70, 170 + 60 * line), text, fill="black", font=small)
    out = BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


# The demo's applications, one organisation each: every state of the workflow has examples.
_DEMO_PATHS = {
    AppState.DRAFT: [],
    AppState.SUBMITTED: ["submit"],
    AppState.RETURNED: ["submit", "return"],
    AppState.UNIT_APPROVED: ["submit", "pass"],
    AppState.APPROVED: ["submit", "pass", "approve"],
    AppState.ELECTION_REPORTED: ["submit", "pass", "approve", "report_election"],
    AppState.ESTABLISHED: ["submit", "pass", "approve", "report_election", "establish"],
    AppState.REJECTED: ["submit", "pass", "reject"],
    AppState.WITHDRAWN: ["submit", "withdraw"],
}
_DEMO_STATES = [AppState.SUBMITTED, AppState.SUBMITTED, AppState.RETURNED, AppState.UNIT_APPROVED, AppState.APPROVED,
                AppState.ELECTION_REPORTED, AppState.ESTABLISHED, AppState.ESTABLISHED, AppState.REJECTED,
                AppState.WITHDRAWN, AppState.DRAFT, AppState.UNIT_APPROVED]


def _demo_members(formal: int, probationary: int, seed: int) -> list[MemberRow]:
    rows = []
    for i in range(formal + probationary):
        name = _SURNAMES[(seed * 5 + i * 3) % len(_SURNAMES)] + _GIVEN[(seed + i) % len(_GIVEN)]
        rows.append(MemberRow(name=name, gender=Gender.MALE if i % 3 else Gender.FEMALE,
                              joined_on=date(2000 + (i * 7 + seed) % 24, 1 + i % 12, 1),
                              status=MemberStatus.FORMAL if i < formal else MemberStatus.PROBATIONARY))
    return rows


def _seed_applications(orgs: dict[str, Organisation], add_user) -> int:
    """Walk one organisation per listed state through the real verbs, as the demo's officials."""
    if db.session.scalar(sa.select(Application.id).limit(1)) is not None:
        return 0
    users = {u.username: u for u in db.session.scalars(sa.select(User))}
    if not get_settings()["seal_file_id"]:
        set_seal("演示印章.png", demo_seal_png(), actor=users["admin"])
    zone = users["zone"]
    reviewers = {u.unit_id: u for u in users.values() if u.role is Role.UNIT_REVIEWER}
    instructors = list(db.session.scalars(sa.select(Instructor).order_by(Instructor.id)))
    applicant_org = users["applicant"].organisation_id
    candidates = sorted(
        (o for o in orgs.values() if not o.has_party_org and o.formal_members >= 3 and o.id != applicant_org
         and o.formal_members + o.probationary_members < 50),
        key=lambda o: (o.unit.code != "industrial_park", o.id))
    created = 0
    # And a project's branch whose project has ended (its planned end was yesterday): the zone's home asks it to
    # decide (撤销, 调整 or keep).
    ended = [o for o in candidates if o.kind is OrgKind.PROJECT][:1]
    for org in ended:  # the last of the established ones
        candidates.remove(org)
        candidates.insert(len(_DEMO_STATES) - 1 - _DEMO_STATES[::-1].index(AppState.ESTABLISHED), org)
    backdated = list(_DEMO_TERM_ENDS)
    for n, (org, state) in enumerate(zip(candidates, _DEMO_STATES)):
        username = f"contact-{org.credit_code[-6:].lower()}"
        add_user(username, org.contact_name, Role.APPLICANT, organisation=org)
        created += 1
        db.session.flush()
        contact = db.session.scalar(sa.select(User).filter_by(username=username))
        members = _demo_members(org.formal_members, org.probationary_members, n)
        data = ApplicationData(
            requested_kind=suggested_kind(org.formal_members, org.probationary_members),
            formal_members=org.formal_members, probationary_members=org.probationary_members,
            proposed_secretary=members[0].name, reasons=f"{org.name}现有正式党员{org.formal_members}名，"
            "为加强党的领导、发挥党员作用，申请成立党组织。", members=members,
            project=_demo_project(org, ended=org in ended))
        founded_ago = _founded_ago(data.requested_kind, backdated.pop(0)) \
            if state is AppState.ESTABLISHED and backdated else timedelta(0)
        with clock_set_back(founded_ago):  # an older organisation's whole founding is dated then
            application = verbs.start_application(org, data, actor=contact)
            created += 1
            reviewer = reviewers[org.unit_id]
            for action in _DEMO_PATHS[state]:
                # The demo instructor account guides the organisations that got furthest, so its workspace has work.
                guide = instructors[0] if state in (AppState.ELECTION_REPORTED, AppState.ESTABLISHED) else \
                    instructors[n % len(instructors)]
                _demo_step(application, action, contact, reviewer, zone, guide)
            if state is AppState.ESTABLISHED:
                _demo_guidance(application, users["instructor"])
    return created


# The demo's first two established organisations were founded a term ago, so that their terms end within six months
# (半年内届满) and have ended without a 换届 (届满未换届) and each list and count shows at once. Their whole founding (请示,
# 批复, election, record, history) is seeded with the clock set back to that day, so it is dated then.
_DEMO_TERM_ENDS = (timedelta(days=120), timedelta(days=-45))


def _founded_ago(kind: PartyOrgKind, term_ends_in: timedelta) -> timedelta:
    """How long ago an organisation of this kind was founded whose first term ends `term_ends_in` from today."""
    today = local_today()
    return today - party_orgs.months_later(today + term_ends_in, -12 * party_orgs.term_years(kind))


def _demo_project(org: Organisation, *, ended: bool) -> ProjectData:
    """A project of two years for a 工程项目's application (ignored for another kind); one that ended yesterday."""
    end = local_today() + timedelta(days=-1 if ended else 400)
    return ProjectData(name=org.name.removesuffix("项目部"), builder="通辽经济技术开发区城市建设投资有限公司",
                       planned_start=end - timedelta(days=730), planned_end=end,
                       syncs=frozenset(column for column, _ in THREE_SYNCS))


def _demo_guidance(application: Application, instructor_user: User) -> None:
    """A visit and two of the six deliveries, recorded by the demo instructor."""
    guidance.record_visit(application, guidance.VisitData(
        visited_on=local_today(), form=VisitForm.ON_SITE, topics="指导召开党员大会，建立“三会一课”制度",
        problems="活动场地尚未落实", follow_up="协调园区党群服务中心提供活动室"), actor=instructor_user)
    for item in (ChecklistItem.PLAQUE, ChecklistItem.FLAG):
        guidance.tick_delivery(application, item, local_today(), actor=instructor_user)


def _demo_step(application, action, contact, reviewer, zone, instructor) -> None:
    version = application.version
    if action == "submit":
        verbs.submit_application(application, actor=contact, version=version)
    elif action == "withdraw":
        verbs.withdraw_application(application, actor=contact, version=version, comment="企业搬迁，暂缓申请")
    elif action == "return":
        verbs.return_application(application, actor=reviewer, version=version,
                                 comment="请补充党员组织关系证明材料", internal_note="材料不全")
    elif action == "pass":
        verbs.pass_application(application, actor=reviewer, version=version, comment="材料齐全，同意上报")
    elif action == "approve":
        verbs.approve_application(application, actor=zone, version=version, instructor=instructor)
    elif action == "reject":
        verbs.reject_application(application, actor=zone, version=version,
                                 comment="党员组织关系尚未转入本单位，暂不具备成立条件")
    elif action == "report_election":
        # A committee's meeting elects its least number of 委员 (the proposed secretary first), who elect him.
        formal = application.formal_members
        size = COMMITTEE_SIZE.get(application.requested_kind, (0, 0))[0]
        names = [application.proposed_secretary] + [
            m.name for m in application.members
            if m.status is MemberStatus.FORMAL and m.name != application.proposed_secretary]
        committee = tuple(Elected(name, formal) for name in names[:size])
        verbs.report_election(application, ElectionReport(
            # The demo approves today; its election cannot come before the approval.
            election_date=local_today(), voters_expected=formal, voters_present=formal,
            secretary_name=application.proposed_secretary, secretary_votes=size or formal, committee=committee),
            actor=contact, version=version)
    elif action == "establish":
        verbs.establish_organisation(application, actor=zone, version=version)


def demo_seal_png() -> bytes:
    """A red round stamp marked 演示 (demo), so that demo documents show where the real seal goes."""
    from io import BytesIO
    from math import cos, pi, sin

    from PIL import Image, ImageDraw, ImageFont

    size, red = 600, (220, 0, 18, 230)
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((12, 12, size - 12, size - 12), outline=red, width=22)
    star = [(size / 2 + r * sin(a * pi / 5), size / 2 - r * cos(a * pi / 5))
            for a, r in ((i, 110 if i % 2 == 0 else 44) for i in range(10))]
    draw.polygon(star, fill=red)
    try:
        font = ImageFont.truetype("NotoSerifCJK-Bold.ttc", 64)
    except OSError:
        font = ImageFont.load_default()
    draw.text((size / 2, size / 2 + 160), "演示专用", font=font, fill=red, anchor="mm")
    out = BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _seed_funds() -> int:
    """Fund items for the established demo organisations, their payees, and one batch awaiting approval."""
    created = 0
    users = {u.username: u for u in db.session.scalars(sa.select(User).where(User.username.in_(["zone", "finance"])))}
    established = db.session.scalars(sa.select(Application).where(Application.state == AppState.ESTABLISHED)
                                     .order_by(Application.id)).all()
    for application in established:
        if funds.fund_of(application.organisation_id) is None:
            funds.create_fund_item(application, actor=users["zone"])
            created += 1
    if db.session.scalar(sa.select(DisbursementBatch.id).limit(1)) is not None:
        return created
    items = []
    for n, application in enumerate(established):
        item = funds.fund_of(application.organisation_id)
        if item.state is FundState.PENDING:
            funds.confirm_fund(item, actor=users["zone"], version=item.version)
        contact = db.session.scalar(sa.select(User).where(User.organisation_id == item.organisation_id,
                                                          User.role == Role.APPLICANT).limit(1))
        if not item.has_payee and contact is not None:
            funds.set_payee(item, funds.Payee(item.organisation.name, "中国工商银行通辽开发区支行",
                                              f"0605 0215 0920 0{n:03d} 888"), actor=contact)
        if item.has_payee and not item.payee_checked:
            funds.check_payee(item, actor=users["finance"], version=item.version, method="retyped",
                              confirmed=("account_name", "bank_name"), retyped_account=item.account_number)
            items.append(item)
    if items:
        batch = funds.create_batch(items, actor=users["finance"], note="演示批次")
        funds.submit_batch(batch, actor=users["finance"], version=batch.version)
        created += 1
    return created


def _seed_renewal() -> int:
    """One 换届请示 under way: the organisation whose term ends first asks to renew its committee (the same people
    as candidates), and waits for its unit's first review."""
    if db.session.scalar(sa.select(Renewal.id).limit(1)) is not None:
        return 0
    for party_org in db.session.scalars(sa.select(PartyOrg).order_by(PartyOrg.term_end, PartyOrg.id)):
        contact = db.session.scalar(sa.select(User).where(User.organisation_id == party_org.organisation_id,
                                                          User.role == Role.APPLICANT).order_by(User.id).limit(1))
        seats = party_org.current_seats
        secretary = next((s.name for s in seats if s.post is CommitteePost.SECRETARY), None)
        if contact is None or secretary is None:
            continue
        others = [s.name for s in seats if s.post is not CommitteePost.SECRETARY]
        slate = party_orgs.Slate(secretary, [], others if party_org.kind.has_committee else [])
        planned = min(max(party_org.term_end, local_today()), local_today() + timedelta(days=60))
        party_orgs.submit_renewal(party_org, planned, slate, actor=contact, version=party_org.version)
        return 1
    return 0
