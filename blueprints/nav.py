"""The navigation of each role, and the page each role lands on after login."""
from flask import has_request_context, url_for
from flask_login import current_user

from models import Role

HOME_ENDPOINT = {
    Role.APPLICANT: "applicant.home",
    Role.UNIT_REVIEWER: "applications.inbox_page",
    Role.ZONE_APPROVER: "applications.inbox_page",
    Role.INSTRUCTOR: "instructor.home",
    Role.FINANCE: "finance.home",
    Role.ADMIN: "admin.home",
}

NAV = {
    Role.APPLICANT: [("applicant.home", "我的组织")],
    Role.UNIT_REVIEWER: [("applications.inbox_page", "待办"), ("verifications.queue", "注册核实"),
                         ("review.home", "本单位组织"), ("registry.dashboard", "组建率"), ("registry.todo", "应建应联")],
    Role.ZONE_APPROVER: [("applications.inbox_page", "待办"), ("zone.home", "全区概况"), ("zone.instructors", "指导员"),
                         ("zone.funds_page", "经费核定"), ("registry.dashboard", "组建率"), ("registry.todo", "应建应联")],
    Role.INSTRUCTOR: [("instructor.home", "我的工作台")],
    Role.FINANCE: [("finance.home", "经费拨付"), ("finance.overview", "经费统计")],
    Role.ADMIN: [("admin.home", "账号管理"), ("verifications.queue", "注册核实"), ("admin.instructors", "指导员"),
                 ("registry.dashboard", "组建率"), ("registry.todo", "应建应联")],
}
# The less-used pages of a role, under 更多: the menu stays on one line at 1280 px.
NAV_MORE = {
    Role.UNIT_REVIEWER: [("registry.imports", "摸底导入")],
    Role.ADMIN: [("admin.documents", "印发文件"), ("admin.settings", "系统设置"), ("admin.fund_standards", "经费标准"),
                 ("registry.imports", "摸底导入")],
}


def home_url(user) -> str:
    return url_for(HOME_ENDPOINT[user.role])


def nav_context() -> dict:
    """The navigation of the current user, with the counters it shows."""
    if not has_request_context() or not current_user.is_authenticated:  # PDFs render from the CLI too
        return {"nav_items": [], "nav_more": []}
    from domain.inbox import nav_counts

    counts = nav_counts(current_user)
    return {"nav_items": NAV[current_user.role], "nav_more": NAV_MORE.get(current_user.role, []),
            "waiting": counts.waiting, "unread": counts.unread,
            "to_verify": counts.to_verify}
