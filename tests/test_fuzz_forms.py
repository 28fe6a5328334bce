"""Hostile values in every field of every form, posted by the role that sees the form: never a 5xx.

The forms are not listed by hand: each role's pages (demo data) are fetched and their forms read, so a new
form is fuzzed without anyone remembering to add it, and a POST route that no page offers fails the coverage
check. Two passes: a sweep that puts each nasty value into each field of each form once, then Hypothesis
mixing values across fields. Afterwards every page still opens for every role, whatever was stored.
"""
from dataclasses import dataclass, field
from html.parser import HTMLParser

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.exceptions import MethodNotAllowed, NotFound

import sqlalchemy as sa

from domain import funds
from models import (
    AppState, Application, Attachment, DisbursementBatch, FundItem, PartyOrg, Role, StoredFile, User, db,
)
from tests.conftest import sign_in_directly
from tests.test_access_matrix import _urls, world  # noqa: F401 (world is a fixture)

# POST routes not swept: logging out ends the walk's own session,
# and detaching a contact ends that contact's logins: the first applicant's form on the admin's page is an actor's.
# Removing an uploaded font is offered only once a font is uploaded, which the demo data has not; its one field is
# the CSRF token, and tests/test_fonts.py posts it with and without an upload.
NOT_FUZZED = {"auth.logout", "verifications.detach", "admin.remove_font"}
NOT_PAGES = {"static", "auth.logout", "applications.document_pdf", "applications.attachment",
             "applications.delivery_photo", "applications.dossier_pdf", "finance.sheet_pdf", "finance.sheet_xlsx",
             "finance.overview_csv", "registry.dashboard_export", "registry.todo_export_download",
             "registry.template_download", "registry.template_csv_download", "admin.instructor_template",
             "finance.payee_document", "applicant.payee_document", "party_orgs.document_pdf"}

NASTY = [
    "",
    "党" * 5000,  # far past every column's length
    "a\x00b\x07\x1b[31m\u202e\ufeff",  # NUL (PostgreSQL refuses it in text), bell, escape, bidi override, BOM
    "<script>alert(1)</script><img src=x onerror=alert(2)>",
    "' OR 1=1 --; DROP TABLE users; --",
    "١٢٣ ΩΣ 𠀀𠀁 Ｆｕｌｌ",  # Arabic digits, Greek, CJK extension B, full-width
    "-1", "99999999999999999999999", "1e309", "NaN", "2026-02-30", "../../etc/passwd",
    "²", "１２",  # a digit to str.isdigit that int() refuses; full-width digits that int() takes
]
HOSTILE = st.one_of(st.sampled_from(NASTY), st.text(max_size=300),
                    st.text(alphabet=st.characters(codec="utf-8"), min_size=300, max_size=3000),
                    st.integers().map(str), st.floats().map(str), st.dates().map(str))


@dataclass
class Form:
    actor: str
    endpoint: str
    url: str
    fields: dict[str, str] = field(default_factory=dict)


class _FormReader(HTMLParser):
    """The POST forms of a page, with the values the page would send as they stand."""

    def __init__(self, page_url: str):
        super().__init__()
        self.page_url, self.forms, self.current, self.textarea, self.select = page_url, [], None, None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and ((a.get("method") or "").lower() == "post" or "hx-post" in a):
            self.current = (a.get("hx-post") or a.get("action") or self.page_url, {})
            self.forms.append(self.current)
        if self.current is not None and a.get("formaction"):  # a button that posts the form elsewhere
            self.forms.append((a["formaction"], self.current[1]))
        if self.current is None or not a.get("name"):
            return
        fields, name = self.current[1], a["name"]
        if tag == "input" and a.get("type") not in ("file", "submit", "button"):
            if a.get("type") not in ("checkbox", "radio") or "checked" in a:
                fields[name] = a.get("value") or ""
            else:
                fields.setdefault(name, "")  # a field to fuzz, though the page sends nothing as it stands
        elif tag == "textarea":
            fields[name], self.textarea = "", name
        elif tag == "select":
            self.select = name
            fields[name] = ""
        elif tag == "button" and "value" in a:
            fields[name] = a["value"]
        elif tag == "option" and self.select and (not self.current[1][self.select] or "selected" in a):
            self.current[1][self.select] = a.get("value", "")

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_data(self, data):
        if self.textarea:
            self.current[1][self.textarea] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.current = None
        elif tag == "textarea":
            self.textarea = None
        elif tag == "select":
            self.select = None


def _projects(app, make_application, make_user) -> None:
    """A 工程项目's draft (the application form's project fields) and two project branches, one whose project runs
    (报告项目结束, its contact's) and one whose planned end has passed (保留党组织, the zone's decision)."""
    from datetime import timedelta

    from models import Organisation, OrgKind, Project
    from tests.conftest import zone_today

    for state, end in (("draft", None), ("established", 300), ("established", -1)):
        made = make_application(state)
        make_user(Role.APPLICANT, organisation=made.organisation)
        with app.app_context():
            db.session.get(Organisation, made.organisation_id).kind = OrgKind.PROJECT
            if end is not None:
                db.session.add(Project(
                    application_id=made.id, name="二期工程", builder="城投",
                    party_org_id=db.session.scalar(sa.select(PartyOrg.id).where(PartyOrg.application_id == made.id)),
                    planned_start=zone_today() - timedelta(days=400), planned_end=zone_today() + timedelta(days=end)))
            db.session.commit()


@pytest.fixture
def every_form(app, world, make_fund, make_application, make_user):  # noqa: F811
    """The demo world (every application state), plus fund items at each step and a draft and a submitted
    batch, and project branches (_projects), so that every form of the app is on some page for some user."""
    _projects(app, make_application, make_user)
    made = {state: make_fund(state) for state in ("pending", "approved", "checked")}
    payee_set, to_draft, to_submit = make_fund("approved"), make_fund("checked"), make_fund("checked")
    with app.app_context():
        finance = db.session.get(User, make_fund.finance_id[0])
        item = db.session.get(FundItem, payee_set.id)
        contact = db.session.scalar(sa.select(User).filter_by(organisation_id=item.organisation_id))
        funds.set_payee(item, funds.Payee("收款单位", "中国工商银行通辽开发区支行", "6222 0206 0000 0001"), actor=contact)
        funds.create_batch([db.session.get(FundItem, to_draft.id)], actor=finance)
        submitted = funds.create_batch([db.session.get(FundItem, to_submit.id)], actor=finance)
        funds.submit_batch(submitted, actor=finance, version=submitted.version)
        png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 8  # an attachment on the returned application, to delete
        returned = db.session.scalar(sa.select(Application).filter_by(state=AppState.RETURNED))
        db.session.add(Attachment(application=returned, file=StoredFile(
            filename="a.png", content_type="image/png", size=len(png), sha256="2" * 64, data=png)))
        db.session.commit()
        extra = [url_for_("applications.show", application_id=i) for i in db.session.scalars(sa.select(Application.id))]
        extra += [url_for_("applicant.edit_application", application_id=i)
                  for i in db.session.scalars(sa.select(Application.id))]
        extra += [url_for_("finance.batch", batch_id=i) for i in db.session.scalars(sa.select(DisbursementBatch.id))]
        extra += [url_for_("party_orgs.show", party_org_id=i) for i in db.session.scalars(sa.select(PartyOrg.id))]
        extra += [url_for_("finance.payee", item_id=i) for i in (payee_set.id, to_draft.id, made["checked"].id)]
        # Every active account is an actor but the spare, which the admin's forms reset and deactivate.
        users = {u.username: u.id for u in db.session.scalars(
            sa.select(User).where(User.active, User.username != "matrix-spare"))}
    assert made
    ids, _ = world
    pages = [url for endpoint, method, url in _urls(app, ids) if method == "GET" and endpoint not in NOT_PAGES]
    return users, pages + extra


def url_for_(endpoint: str, **values) -> str:
    from flask import current_app, url_for

    with current_app.test_request_context():
        return url_for(endpoint, **values)


def _clients(app, users: dict[str, int]) -> dict:
    """A signed-in test client per user (the session set directly: the login form is tested elsewhere)."""
    clients = {}
    for username, user_id in users.items():
        client = clients[username] = app.test_client()
        sign_in_directly(app, client, user_id)
    clients["anonymous"] = app.test_client()
    return clients


def _catalog(app, pages: list[str], clients) -> list[Form]:
    adapter = app.url_map.bind("localhost")
    forms, seen = [], set()
    for actor, client in clients.items():
        for url in pages:
            response = client.get(url)
            if response.status_code != 200 or not response.mimetype.startswith("text/html"):
                continue
            reader = _FormReader(url)
            reader.feed(response.get_data(as_text=True))
            for action, fields in reader.forms:
                try:
                    target, _ = adapter.match(action.split("?")[0], method="POST")
                except (NotFound, MethodNotAllowed):
                    continue  # an outside address, or a GET search form
                key = (target, tuple(sorted(fields)))
                if target not in NOT_FUZZED and key not in seen:
                    seen.add(key)
                    forms.append(Form(actor, target, action, fields))
    return forms


def _post(client, form: Form, fields: dict[str, str], failures: list[str]) -> None:
    response = client.post(form.url, data=fields, headers={"HX-Request": "true"} if len(fields) % 2 else {})
    body = response.get_data(as_text=True)
    changed = {k: v[:40] for k, v in fields.items() if form.fields.get(k) != v}
    if response.status_code >= 500 or "Traceback" in body:
        failures.append(f"{form.actor} POST {form.url}: {response.status_code} with {changed!r}")
    elif form.actor != "anonymous" and (response.status_code == 401 or "/auth/login" in (response.location or "")):
        # A signed-out actor would post every later form to the login page, and the sweep would pass unseen.
        failures.append(f"{form.actor} POST {form.url} signed the actor out ({response.status_code}) with {changed!r}")


@pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")
def test_every_form_field_survives_hostile_values(app, world, every_form, caplog):  # noqa: F811
    ids, _ = world
    users, pages = every_form
    clients = _clients(app, users)
    forms = _catalog(app, pages, clients)

    # Coverage: every POST route of the app is offered by some page to some user, and so is fuzzed here.
    posts = {endpoint for endpoint, method, _ in _urls(app, ids) if method == "POST"} - NOT_FUZZED
    missing = sorted(posts - {f.endpoint for f in forms})
    assert missing == [], f"POST routes no page offers a form for: {missing}"

    failures, sent = [], 0
    for form in forms:  # the sweep: each nasty value once in each field
        for name in form.fields:
            for value in NASTY:
                _post(clients[form.actor], form, {**form.fields, name: value}, failures)
                sent += 1
    assert failures == [], "\n".join(failures[:30])

    @settings(max_examples=300, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def mixed(data):
        form = data.draw(st.sampled_from(forms))
        names = data.draw(st.lists(st.sampled_from(sorted(form.fields)), min_size=1, max_size=4, unique=True)
                          if form.fields else st.just([]))
        fields = {**form.fields, **{n: data.draw(HOSTILE) for n in names}}
        _post(clients[form.actor], form, fields, failures)
        assert failures == [], failures[-1]

    mixed()

    # Whatever was stored, every page still opens for everyone who may see it.
    broken = [f"{actor} GET {url}: {code}" for actor, client in clients.items() for url in pages
              if (code := client.get(url).status_code) >= 500]
    assert broken == []
    # Nor did a value reach the database unchecked (too long, a NUL): the form should have refused it.
    # (An id beyond the database's integer range is not logged: it names nothing, and answers 404.)
    refused = [r.getMessage()[:300] for r in caplog.records if "database refused" in r.getMessage()]
    assert refused == [], "\n".join(refused[:10])
    print(f"fuzzed {len(forms)} forms of {len({f.endpoint for f in forms})} POST routes: "
          f"{sent} sweep requests + 300 Hypothesis examples")
