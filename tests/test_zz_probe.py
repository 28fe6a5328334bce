import re
from models import Role, db, User

def test_probe_pages(client, login_as, make_user, app):
    login_as(Role.ADMIN)
    for url in ["/admin/outbox?page=abc", "/admin/outbox?page=-1", "/admin/outbox?page=0", "/admin/outbox?page=99999999999999999999",
                "/admin/outbox?page=9223372036854775807", "/admin/jobs/", "/admin/jobs/?x=%00",
                "/admin/users/99999999999999999999/contact", "/admin/users/1/contact", "/auth/notices",
                "/admin/jobs/runs/99999999999999999999/retry"]:
        r = client.get(url)
        print(url, r.status_code)
    for url in ["/admin/jobs/runs/1/retry", "/admin/jobs/runs/99999999999999999999/retry"]:
        r = client.post(url, data={})
        print("POST", url, r.status_code)
    r = client.post("/admin/users/1/contact", data={"email": "a@b.cn\r\nBcc: x@y.cn", "mobile": "138 0000 0000"})
    print("contact", r.status_code, re.findall(r'invalid-feedback[^>]*>([^<]*)<', r.get_data(as_text=True)))
    for wanted in [["application:email", "x:y"], ["application:fax"], ["application:email:x"], ["a"*10000]]:
        r = client.post("/auth/notices", data={"wanted": wanted})
        print("notices", wanted[:1], r.status_code, re.findall(r'alert-danger[^>]*>([^<]*)|invalid-feedback[^>]*>([^<]*)<', r.get_data(as_text=True))[:2])

def test_probe_roles(client, login_as, make_user, app):
    for role in Role:
        c = app.test_client()
        u = make_user(role)
        c.post("/auth/login", data={"username": u.username, "password": "Passw0rd-test"})
        from tests.conftest import PASSWORD
        c.post("/auth/login", data={"username": u.username, "password": PASSWORD})
        codes = [c.get(x).status_code for x in ["/admin/outbox", "/admin/jobs/", "/substitutes/", "/auth/notices", "/admin/users/1/contact"]]
        codes.append(c.post("/admin/jobs/runs/1/retry").status_code)
        print(role, codes)
