"""The application dossier (申请档案) as printed: short cells on one line, one date style, measured on the PDF."""
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from domain.documents import render_dossier, revoke_document
from models import AppState, Application, ApplicationEvent, Document, Role, User, db, utcnow
from tests.conftest import zone_today
from tests.pdf_measure import measure
from tests.test_documents import approve

LONG_COMMENT = "经初审，该单位党员人数、党员组织关系和拟任书记人选均符合要求，材料齐全，同意上报开发区党工委审批。"


@pytest.fixture
def dossier(app, make_application, make_instructor, make_user):
    """A dossier with a full timeline: submitted by the applicant, passed with a long comment, approved, and its
    批复 revoked; returns the rendered PDF."""
    made = make_application("unit_approved")
    applicant = make_user(Role.APPLICANT, organisation=made.organisation)
    reviewer, admin = make_user(Role.UNIT_REVIEWER), make_user(Role.ADMIN)
    approve(app, made, make_user(Role.ZONE_APPROVER).id, make_instructor().id)
    with app.app_context():
        application = db.session.get(Application, made.id)
        start = utcnow() - timedelta(days=3)
        db.session.add_all([
            ApplicationEvent(application=application, at=start, actor_id=applicant.id, actor_role=Role.APPLICANT,
                             action="submit", from_state=AppState.DRAFT, to_state=AppState.SUBMITTED),
            ApplicationEvent(application=application, at=start + timedelta(days=1), actor_id=reviewer.id,
                             actor_role=Role.UNIT_REVIEWER, action="pass", from_state=AppState.SUBMITTED,
                             to_state=AppState.UNIT_APPROVED, comment=LONG_COMMENT)])
        document = db.session.scalar(sa.select(Document).filter_by(application_id=made.id))
        revoke_document(document, "文号登记有误，另行发文，原件收回存档备查", actor=db.session.get(User, admin.id))
        db.session.flush()
        db.session.expire(application)
        return render_dossier(application)


def test_states_and_short_cells_stand_on_one_line(dossier):
    pages = measure(dossier)
    text = "\n".join(page.text for page in pages)
    # Each whole on one line of the page: the revoked 批复's state and number, the timeline's state labels and roles.
    for fragment in ("已撤销", "通开党工字〔", "待初审", "待党工委审批", "已批复", "企业/社会组织联系人", "开发区党工委",
                     "正式党员", "预备党员"):
        assert any(fragment in line.text for page in pages for line in page.lines), fragment
    assert re.search(r"通开党工字〔\d{4}〕\d+号", text)


def test_one_date_style_throughout(dossier):
    text = "\n".join(page.text for page in measure(dossier))
    day = zone_today()
    assert f"档案生成日期：{day.year}年{day.month}月{day.day}日" in text
    assert "2010年7月1日" in text  # the members' dates
    # The timeline's moments: date in the same style, then the time.
    assert len(re.findall(r"\d{4}年\d{1,2}月\d{1,2}日\s*\d{2}:\d{2}", text)) == 3  # submitted, passed, approved
    assert not re.search(r"\d{4}-\d{2}-\d{2}|\d{4}/\d{1,2}/\d{1,2}|年0\d月|月0\d日", text)
    assert f"{day.year}年{day.month}月{day.day}日撤销，理由：文号登记有误" in text.replace("\n", "")


def test_a_long_unbroken_run_of_letters_stays_on_the_paper(app, make_application):
    made = make_application("submitted")
    with app.test_request_context():
        application = db.session.get(Application, made.id)
        application.organisation.name = "W" * 100
        application.partner_organisations = "W" * 480
        pages = measure(render_dossier(application))
        db.session.rollback()
    assert max(line.x1 for page in pages for line in page.lines) <= 210 - 20 + 0.3  # the right margin is 20 mm
