"""Every route of the URL map, held against every role, anonymous, and the other organisation's applicant.

The table below says who may use each endpoint. A route added without a line here fails the test,
so that nobody ships a page without deciding who may see it. "Denied" means 403 or 404 (another
organisation's objects answer 404, as if they did not exist); anonymous users are sent to log in.
"""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from domain import funds
from domain.inbox import InboxFilter, inbox, nav_counts
from domain.accounts import DEMO_PASSWORD
from domain.dashboard import TodoFilter
from domain.registry_import import run_registry_check, template_csv, upload_registry_file
from domain.todo_exports import request_todo_export, run_todo_export
from seeding.demo import seed_demo
from tests.conftest import sign_in_directly, valid_credit_code, zone_today
from models import (
    AppState, Application, Attachment, Delivery, DisbursementBatch, Document, FundItem, FundPayment, Instructor,
    JobRun, Notification, PartyOrg, RegistrationReview, RegistryImport, Role, RunStatus, StoredFile, Substitution,
    User, db, utcnow,
)

ACTORS = ["anonymous", "applicant", "other_applicant", "reviewer", "other_reviewer", "zone", "instructor", "finance",
          "admin"]
EVERYONE = set(ACTORS)
LOGGED_IN = EVERYONE - {"anonymous"}
# Who may see the chosen application: its organisation, its unit, the zone, its instructor, the admin.
VIEWERS = {"applicant", "reviewer", "zone", "instructor", "admin"}
REGISTRY = {"reviewer", "other_reviewer", "zone", "admin"}
# Every route that sends a file, not a page: tests/test_security.py's walk proves the list complete (it meets a file
# from each, and from no other), and the browser walks skip these when they look at pages.
DOWNLOADS = {
    "applications.attachment", "applications.delivery_photo", "applications.document_pdf", "applications.dossier_pdf",
    "finance.sheet_pdf", "finance.sheet_xlsx", "finance.overview_csv", "registry.dashboard_export",
    "registry.todo_export_download", "registry.template_download", "registry.template_csv_download",
    "admin.instructor_template", "verifications.certificate", "applicant.payee_document", "finance.payee_document",
    "party_orgs.document_pdf", "party_orgs.terms_xlsx",
}

ACCESS = {
    "public.index": EVERYONE, "public.verify": EVERYONE, "public.verify_upload": EVERYONE, "static": EVERYONE,
    "auth.login": EVERYONE, "auth.register": EVERYONE, "auth.logout": LOGGED_IN, "auth.password": LOGGED_IN,
    "auth.notice_settings": LOGGED_IN,
    # The other applicant's organisation has no startup fund yet, so its payee form answers 404.
    "applicant.home": {"applicant", "other_applicant"}, "applicant.payee": {"applicant"},
    "applicant.payee_document": {"applicant"},
    # The application form: the applicant's wall keeps the officials out; another organisation's application is 404.
    "applicant.new_application": {"applicant", "other_applicant"},
    "applicant.member_row": {"applicant", "other_applicant"},
    "applicant.edit_application": {"applicant"}, "applicant.delete_attachment": {"applicant"},
    "applications.inbox_page": LOGGED_IN, "applications.badges": LOGGED_IN,
    "applications.notifications": LOGGED_IN, "applications.read_notifications": LOGGED_IN,
    "applications.show": VIEWERS, "applications.document_pdf": VIEWERS, "applications.attachment": VIEWERS,
    "applications.delivery_photo": VIEWERS,
    "applications.step": VIEWERS, "applications.tick": VIEWERS, "applications.add_visit": VIEWERS,
    "applications.dossier_pdf": VIEWERS - {"applicant"}, "applications.reassign": {"zone"},
    "applications.reassign_options": {"zone"},
    "review.home": {"reviewer", "other_reviewer"},
    "verifications.queue": {"reviewer", "other_reviewer", "admin"}, "verifications.certificate": {"reviewer", "admin"},
    "verifications.verify": {"reviewer", "admin"}, "verifications.refuse": {"reviewer", "admin"},
    "verifications.detach": {"admin"},
    "zone.home": {"zone"}, "zone.instructors": {"zone"}, "zone.assign": {"zone"}, "zone.funds_page": {"zone"},
    "zone.confirm_fund": {"zone"}, "zone.decide_batch": {"zone"},
    "instructor.home": {"instructor"},
    "substitutes.home": {"reviewer", "other_reviewer", "zone", "instructor", "finance", "admin"},
    # The span the reviewer named (world): they or the admin may end it; the later POST finds it ended (a message).
    "substitutes.end": {"reviewer", "admin"},
    "registry.dashboard": REGISTRY, "registry.dashboard_export": REGISTRY, "registry.todo": REGISTRY,
    "registry.start_todo_export": REGISTRY, "registry.imports": {"reviewer", "other_reviewer", "admin"},
    "registry.template_download": {"reviewer", "other_reviewer", "admin"},
    "registry.template_csv_download": {"reviewer", "other_reviewer", "admin"},
    "registry.show_import": {"reviewer", "admin"}, "registry.commit_import": {"reviewer", "admin"},
    # The reviewer's export of their unit's 应建未建: theirs alone, not even the admin's.
    "registry.show_todo_export": {"reviewer"}, "registry.todo_export_download": {"reviewer"},
    # The chosen application's organisation record (PartyOrg.visible_to: the same viewers); the list for officials.
    "party_orgs.index": REGISTRY, "party_orgs.terms_xlsx": REGISTRY, "party_orgs.show": VIEWERS,
    "party_orgs.document_pdf": VIEWERS,
    "party_orgs.fill_seat": {"zone"}, "party_orgs.adjust_seat": {"zone"},
    "party_orgs.dissolve": {"zone"}, "party_orgs.merge": {"zone"}, "party_orgs.rename": {"zone"},
    "party_orgs.keep_branch": {"zone"}, "party_orgs.report_project_end": {"applicant"},
    # A step of 换届 (here "pass", the unit's first review): the role the table names, of the organisations it sees
    # (tests/test_renewal_routes.py holds every step against every role).
    "renewals.step": {"reviewer"},
}
for endpoint in ("finance.home", "finance.create_batch", "finance.batch", "finance.add_items", "finance.pay_item",
                 "finance.remove_item", "finance.pay_batch", "finance.sheet_pdf", "finance.sheet_xlsx",
                 "finance.submit_batch", "finance.check_payee", "finance.overview", "finance.overview_csv",
                 "finance.reverse_payment", "finance.payee", "finance.return_payee", "finance.payee_document"):
    ACCESS[endpoint] = {"finance"}
for endpoint in ("admin.home", "admin.documents", "admin.revoke", "admin.fund_standards", "admin.instructors",
                 "admin.instructor_active", "admin.instructor_form", "admin.import_instructors_page",
                 "admin.instructor_template", "admin.settings", "admin.units", "admin.unit_form", "admin.toggle_active",
                 "admin.reset_user_password", "admin.new_user", "admin.upload_font", "admin.remove_font",
                 "job_queue.overview", "job_queue.retry", "admin.user_contact", "admin.outbox_page", "admin.term_lengths"):
    ACCESS[endpoint] = {"admin"}


@pytest.fixture
def world(app):
    """The demo data, plus the few objects it lacks, and a login name for each actor."""
    with app.app_context():
        seed_demo()
        db.session.commit()
        target = db.session.scalar(sa.select(Application).where(Application.state == AppState.ESTABLISHED)
                                   .order_by(Application.id))
        users = {u.username: u for u in db.session.scalars(sa.select(User))}
        contact = next(u for u in users.values() if u.organisation_id == target.organisation_id)
        reviewer = next(u for u in users.values() if u.role is Role.UNIT_REVIEWER and u.unit_id == target.unit_id)
        other_reviewer = next(u for u in users.values() if u.role is Role.UNIT_REVIEWER and u.unit_id != target.unit_id)
        instructor = next(u for u in users.values() if u.instructor_id == target.instructor_id)
        # An attachment, a delivery photo, a payment and an import, which the demo does not make.
        png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 8
        photo = StoredFile(filename="p.png", content_type="image/png", size=len(png),
                           sha256="0" * 64, data=png)
        db.session.add(Attachment(application_id=target.id, file=StoredFile(
            filename="a.png", content_type="image/png", size=len(png), sha256="1" * 64, data=png)))
        db.session.scalar(sa.select(Delivery).filter_by(application_id=target.id)).photo = photo
        batch = db.session.scalar(sa.select(DisbursementBatch))
        funds.approve_batch(batch, actor=users["zone"], version=batch.version)
        for fund in db.session.scalars(sa.select(FundItem)):  # the bank documents (开户许可证) the payees came with
            fund.payee_document = StoredFile(filename="开户许可证.png", content_type="image/png", size=len(png),
                                             sha256=f"{fund.id:064d}", data=png)
        item = batch.items[0]
        funds.record_payment(item, voucher_number="记-001", paid_on=zone_today(), actor=users["finance"],
                             version=item.version)
        row = f"\n{valid_credit_code()},矩阵测试有限公司,非公企业,{reviewer.unit.name},,10,1,0,否,,,"
        spare = User(username="matrix-spare", name="备用", role=Role.FINANCE, password_hash="x")
        waiting = db.session.scalar(sa.select(RegistrationReview))  # the demo's registration, moved to this unit
        waiting.organisation.unit_id = reviewer.unit_id
        failed_run = JobRun(task_id="matrix-run", name="domain.registry_import.write_registry_import", args=[0],
                            status=RunStatus.FAILED, error="RuntimeError: 测试")
        db.session.add_all([spare, failed_run])
        db.session.flush()
        # Written directly: which colleague stands in is the rules' business (tests/test_substitutes.py), not access.
        substitution = Substitution(official_id=reviewer.id, substitute_id=spare.id, reason="外出学习",
                                    starts_at=utcnow() - timedelta(days=1), ends_at=utcnow() + timedelta(days=7))
        db.session.add(substitution)
        job = upload_registry_file("r.csv", template_csv() + row.encode(), actor=reviewer)
        export = request_todo_export(TodoFilter(list="build"), reviewer.unit, actor=reviewer)
        db.session.commit()
        run_todo_export(export.id)
        run_registry_check(job.id)
        ids = {
            "application_id": target.id, "attachment_id": db.session.scalar(sa.select(Attachment.id)),
            "filename": "a.png", "delivery_id": db.session.scalar(sa.select(Delivery.id).where(
                Delivery.application_id == target.id, Delivery.photo_file_id.is_not(None))),
            "kind": "approval", "action": "pass", "item": "room", "decision": "approve",
            "token": db.session.scalar(sa.select(Document.token).where(Document.application_id == target.id)),
            "batch_id": batch.id, "item_id": item.id, "payment_id": db.session.scalar(sa.select(FundPayment.id)),
            "import_id": db.session.scalar(sa.select(RegistryImport.id).where(RegistryImport.id == job.id)),
            "user_id": spare.id,  # not an actor: the admin's POSTs deactivate this account
            "instructor_id": db.session.scalar(sa.select(Instructor.id)),
            # The chosen application's first 批复, which is on its organisation's record too.
            "document_id": db.session.scalar(sa.select(Document.id).where(Document.application_id == target.id)
                                             .order_by(Document.id)), "filename_static": "css/app.css",
            "party_org_id": db.session.scalar(sa.select(PartyOrg.id).where(PartyOrg.application_id == target.id)),
            "review_id": waiting.id, "unit_id": reviewer.unit_id, "role": "body", "run_id": failed_run.id,
            "substitution_id": substitution.id, "export_id": export.id,
        }
        ids["item_id"] = db.session.scalar(sa.select(FundItem.id).where(FundItem.batch_id == batch.id))
        logins = {"anonymous": None, "applicant": contact.username, "other_applicant": "applicant",
                  "reviewer": reviewer.username, "other_reviewer": other_reviewer.username, "zone": "zone",
                  "instructor": instructor.username, "finance": "finance", "admin": "admin"}
    return ids, logins


def _urls(app, ids) -> list[tuple[str, str, str]]:
    # Built in one context that is closed before any request runs (a live context would share `g`).
    from flask import url_for

    urls = []
    with app.test_request_context():
        for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
            values = {name: ids["filename_static"] if rule.endpoint == "static" and name == "filename" else ids[name]
                      for name in rule.arguments}
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                urls.append((rule.endpoint, method, url_for(rule.endpoint, **values)))
    return urls


def test_every_route_is_in_the_matrix(app):
    assert {rule.endpoint for rule in app.url_map.iter_rules()} == set(ACCESS)


def test_every_route_against_every_actor(app, world):
    ids, logins = world
    app.config["LOGIN_RATE_LIMIT"] = "10000 per minute"
    clients = {}
    for actor, username in logins.items():
        clients[actor] = app.test_client()
        if username:
            response = clients[actor].post("/auth/login", data={"username": username, "password": DEMO_PASSWORD})
            assert response.status_code == 302, actor
    wrong = []
    checked = 0
    for endpoint, method, url in _urls(app, ids):
        for actor in ACTORS:
            if endpoint in ("auth.logout",) and actor != "anonymous":
                continue  # would end the session the rest of the walk needs; covered in test_auth_routes
            response = clients[actor].open(url, method=method, data={})
            code = response.status_code
            allowed = actor in ACCESS[endpoint]
            if code >= 500:
                wrong.append(f"{method} {url} as {actor}: {code}")
            elif allowed and code in (403, 404):
                wrong.append(f"{method} {url} as {actor}: {code}, expected access")
            elif not allowed and actor == "anonymous" and not (code == 302 and "/auth/login" in response.location):
                wrong.append(f"{method} {url} as anonymous: {code}, expected the login page")
            elif not allowed and actor != "anonymous" and code not in (403, 404):
                wrong.append(f"{method} {url} as {actor}: {code}, expected 403 or 404")
            checked += 1
    assert wrong == [], "\n".join(wrong)
    assert checked > 600


def test_every_post_refuses_a_missing_or_wrong_csrf_token(app, world):
    ids, logins = world
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    with app.app_context():  # log in without the form (which would itself need the token)
        from models import User

        admin_id = db.session.scalar(sa.select(User.id).filter_by(username="admin"))
    sign_in_directly(app, client, admin_id)
    posts = [(endpoint, url) for endpoint, method, url in _urls(app, ids) if method == "POST"]
    accepted = []
    for endpoint, url in posts:
        for headers, data in (({}, {}), ({"X-CSRFToken": "forged"}, {"csrf_token": "forged"})):
            response = client.post(url, data=data, headers=headers)
            if response.status_code != 400 or "CSRF" not in response.get_data(as_text=True):
                accepted.append(f"{url}: {response.status_code}")
    assert accepted == [] and len(posts) >= 30


def _visible_ids(user: User) -> set[int]:
    return set(db.session.scalars(sa.select(Application.id).where(Application.visible_to(user))))


def test_the_matrix_viewers_are_those_the_rule_lets_see_the_application(app, world):
    """VIEWERS above, which the route walk holds every application page to, is what Application.visible_to says."""
    ids, logins = world
    with app.app_context():
        seeing = set()
        for actor, username in logins.items():
            user = db.session.scalar(sa.select(User).filter_by(username=username)) if username else None
            if user is not None and ids["application_id"] in _visible_ids(user):
                seeing.add(actor)
    assert seeing == VIEWERS


def test_who_sees_which_application(ctx, make_application, make_user, make_instructor):
    """One user of every role, and of two units, two organisations and two instructors, against applications in
    the states that change who sees them: the rule's SQL answer is the set written out here by hand."""
    made = {name: make_application(state, unit_code=unit) for name, state, unit in (
        ("draft", "draft", "industrial_park"), ("withdrawn_unsent", "withdrawn", "industrial_park"),
        ("submitted", "submitted", "industrial_park"), ("withdrawn_sent", "submitted", "industrial_park"),
        ("east", "unit_approved", "street_east"), ("established", "established", "industrial_park"))}
    apps = {name: db.session.get(Application, a.id) for name, a in made.items()}
    apps["withdrawn_sent"].state = AppState.WITHDRAWN  # withdrawn after officials had it: they keep seeing it
    guide = make_user(Role.INSTRUCTOR)
    apps["established"].instructor_id = guide.instructor_id
    db.session.commit()
    contact = {name: make_user(Role.APPLICANT, organisation=apps[name].organisation) for name in apps}
    users = {
        **{f"applicant of {name}": user for name, user in contact.items()},
        "reviewer, industrial park": make_user(Role.UNIT_REVIEWER, unit_code="industrial_park"),
        "reviewer, east street": make_user(Role.UNIT_REVIEWER, unit_code="street_east"),
        "reviewer, logistics park": make_user(Role.UNIT_REVIEWER, unit_code="logistics_park"),
        "zone": make_user(Role.ZONE_APPROVER), "finance": make_user(Role.FINANCE), "admin": make_user(Role.ADMIN),
        "instructor without organisations": make_user(Role.INSTRUCTOR), "instructor of the established": guide,
    }
    sent = {"submitted", "withdrawn_sent", "east", "established"}
    expected = {
        **{f"applicant of {name}": {name} for name in apps},
        "reviewer, industrial park": {"submitted", "withdrawn_sent", "established"},
        "reviewer, east street": {"east"}, "reviewer, logistics park": set(),
        "zone": sent, "finance": set(), "admin": set(apps),
        "instructor without organisations": set(), "instructor of the established": {"established"},
    }
    name_of = {a.id: name for name, a in apps.items()}
    for who, user in users.items():
        user = db.session.get(User, user.id)
        seen = {name_of[i] for i in _visible_ids(user) if i in name_of}
        assert seen == expected[who], who
        assert {name for name, a in apps.items() if a.can_view(user)} == expected[who], who
        # The inbox runs statements built once per role (domain/statements_per_role.py): users of the same role
        # one after the other through them, each gets their own.
        listed = {name_of[row.id] for row in inbox(user, InboxFilter(state="all"), per_page=100).items}
        assert listed == expected[who], who


def test_the_counters_built_once_per_role_count_each_users_own(ctx, make_user, make_application):
    """The navigation's counters run one statement per role (domain/statements_per_role.py): two reviewers of
    different units and two zone officials, one after the other, each get their own counts."""
    application = make_application("submitted", unit_code="street_east")
    park, east = make_user(Role.UNIT_REVIEWER), make_user(Role.UNIT_REVIEWER, unit_code="street_east")
    zone, other_zone = make_user(Role.ZONE_APPROVER), make_user(Role.ZONE_APPROVER)
    db.session.add_all([Notification(user_id=zone.id, application_id=application.id, message="一"),
                        Notification(user_id=zone.id, application_id=application.id, message="二")])
    db.session.commit()
    counts = {name: nav_counts(db.session.get(User, user.id))[:2]
              for name, user in (("park", park), ("east", east), ("zone", zone), ("other zone", other_zone))}
    assert counts == {"park": (0, 0), "east": (1, 0), "zone": (0, 2), "other zone": (0, 0)}
