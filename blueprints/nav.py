"""The navigation of each role, and the page each role lands on after login."""
from flask import url_for
from flask_login import current_user

from models import Role

HOME_ENDPOINT = {
    Role.APPLICANT: "applicant.home",
    Role.UNIT_REVIEWER: "review.home",
    Role.ZONE_APPROVER: "zone.home",
    Role.INSTRUCTOR: "instructor.home",
    Role.FINANCE: "finance.home",
    Role.ADMIN: "admin.home",
}

NAV = {
    Role.APPLICANT: [("applicant.home", "我的组织")],
    Role.UNIT_REVIEWER: [("review.home", "本单位组织")],
    Role.ZONE_APPROVER: [("zone.home", "全区概况")],
    Role.INSTRUCTOR: [("instructor.home", "我的工作台")],
    Role.FINANCE: [("finance.home", "经费拨付")],
    Role.ADMIN: [("admin.home", "账号管理"), ("admin.new_user", "新建账号")],
}


def home_url(user) -> str:
    return url_for(HOME_ENDPOINT[user.role])


def nav_for() -> list[tuple[str, str]]:
    if not current_user.is_authenticated:
        return []
    return [(endpoint, label) for endpoint, label in NAV[current_user.role]]
