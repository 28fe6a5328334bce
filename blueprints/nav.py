"""Who may enter each area, and the pages each role finds in the navigation: one declaration, read by the role wall
(blueprints/__init__.py, role_wall) and by the navigation bar, so that the bar never offers a page its wall refuses.
A role lands on the first page of its navigation after login."""
from dataclasses import dataclass

from flask import has_request_context, url_for
from flask_login import current_user

from domain.inbox import nav_counts
from models import Role

REVIEWER, ZONE, ADMIN = Role.UNIT_REVIEWER, Role.ZONE_APPROVER, Role.ADMIN
SUBSTITUTING = (REVIEWER, ZONE, Role.FINANCE, Role.INSTRUCTOR)


@dataclass(frozen=True)
class Page:
    """A page in the navigation: shown to `roles` (every role its area admits when empty), under 更多 for `more`:
    the less-used pages, so that every role's bar stays on one line at 1280 px."""

    endpoint: str
    label: str
    roles: tuple[Role, ...] = ()
    more: tuple[Role, ...] = ()


@dataclass(frozen=True)
class Area:
    """A blueprint's role wall (the roles that may enter any of its routes) and its pages in the navigation."""

    roles: tuple[Role, ...]
    pages: tuple[Page, ...] = ()

    def __post_init__(self):
        for page in self.pages:
            if not set(page.roles) <= set(self.roles) or not set(page.more) <= set(page.roles or self.roles):
                raise ValueError(f"{page.endpoint}: shown to a role its area does not admit")


# Blueprint name -> its area. A role's navigation is its pages in this order.
AREAS = {
    "applicant": Area((Role.APPLICANT,), (Page("applicant.home", "我的组织"),)),
    "instructor": Area((Role.INSTRUCTOR,), (Page("instructor.home", "我的工作台"),)),
    "finance": Area((Role.FINANCE,), (Page("finance.home", "经费拨付"), Page("finance.overview", "经费统计"))),
    "admin": Area((ADMIN,), (
        Page("admin.home", "账号管理"), Page("admin.instructors", "指导员"),
        Page("admin.documents", "印发文件", more=(ADMIN,)), Page("admin.settings", "系统设置", more=(ADMIN,)),
        Page("admin.fund_standards", "经费标准", more=(ADMIN,)), Page("admin.term_lengths", "任期年限", more=(ADMIN,)),
        Page("admin.outbox_page", "通知外发", more=(ADMIN,)))),
    # Every role reads applications (their own, their unit's, the zone's: domain/applications.py, visible_to).
    "applications": Area(tuple(Role), (Page("applications.inbox_page", "待办", roles=(REVIEWER, ZONE)),)),
    "verifications": Area((REVIEWER, ADMIN), (Page("verifications.queue", "注册核实"),)),
    "review": Area((REVIEWER,), (Page("review.home", "本单位组织"),)),
    "zone": Area((ZONE,), (
        Page("zone.home", "全区概况"), Page("zone.instructors", "指导员", more=(ZONE,)),
        Page("zone.funds_page", "经费核定"))),
    "registry": Area((REVIEWER, ZONE, ADMIN), (
        Page("registry.dashboard", "组建率"), Page("registry.todo", "应建应联", more=(ZONE, ADMIN)),
        Page("registry.imports", "摸底导入", roles=(REVIEWER, ADMIN), more=(REVIEWER, ADMIN)))),
    # 党组织档案: the list for the zone and the units (and the admin); each record for whoever may see it
    # (PartyOrg.visible_to), reached from the card, the instructor's and the applicant's home.
    "party_orgs": Area((Role.APPLICANT, Role.INSTRUCTOR, REVIEWER, ZONE, ADMIN), (
        Page("party_orgs.index", "党组织档案", roles=(REVIEWER, ZONE, ADMIN), more=(REVIEWER, ZONE, ADMIN)),)),
    # 换届 on the record page (blueprints/renewals.py): the organisation asks, its unit reviews, the zone decides.
    "renewals": Area((Role.APPLICANT, REVIEWER, ZONE), ()),
    "job_queue": Area((ADMIN,), (Page("job_queue.overview", "后台任务", more=(ADMIN,)),)),
    # 代理: the officials who may name a substitute (domain/substitutes.py); the admin sees every span, to end one.
    "substitutes": Area((*SUBSTITUTING, ADMIN), (Page("substitutes.home", "代理", more=(*SUBSTITUTING, ADMIN)),)),
}


def _navigation(role: Role) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The role's (endpoint, label) pages on the bar, and those under 更多."""
    bar, more = [], []
    for area in AREAS.values():
        for page in area.pages:
            if role in (page.roles or area.roles):
                (more if role in page.more else bar).append((page.endpoint, page.label))
    return bar, more


NAV = {role: _navigation(role)[0] for role in Role}
NAV_MORE = {role: _navigation(role)[1] for role in Role}


def home_url(user) -> str:
    return url_for(NAV[user.role][0][0])


def nav_context() -> dict:
    """The navigation of the current user, with the counters it shows."""
    if not has_request_context() or not current_user.is_authenticated:  # PDFs render from the CLI too
        return {"nav_items": [], "nav_more": []}
    counts = nav_counts(current_user)
    return {"nav_items": NAV[current_user.role], "nav_more": NAV_MORE[current_user.role],
            "waiting": counts.waiting, "unread": counts.unread,
            "to_verify": counts.to_verify}
