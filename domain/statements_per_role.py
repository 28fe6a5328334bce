"""Statements built once per role and shape, each user's own values given as parameters when one runs.

Every page of every official runs the navigation's counters, and every list page the inbox's two statements.
Building a SQLAlchemy statement and its cache key costs more CPU than running it on these indexed tables, and the
list page's throughput target (bench/RESULTS.md) is met only when they are built once per process. They are still
scoped by Application.visible_to: the builder is given a stand-in user whose links are parameters.

What keeps one user's data from another: a statement built here holds no user's values, only the role and the
shape of what was asked; every run passes the user's own links (tests/test_access_matrix.py runs two users of
each role through the same statements and holds each to what visible_to lets them see)."""
from collections.abc import Callable
from functools import cache
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa

from models import Role, User

# What a statement may read of a user besides the role: the id, and the link each role has (User's constraints).
LINKS = ("id", "unit_id", "instructor_id", "organisation_id")


def built_per_role(build: Callable[..., Any]) -> Callable[..., tuple[Any, dict]]:
    """`build(user, *shape)`, which returns a statement (or several), built once per role and shape with a user whose
    links are the parameters LINKS names. The function returned takes `(user, *shape)` and gives the statement and
    the parameters of this user's links, to run it with."""
    @cache
    def built(role: Role, *shape):
        return build(SimpleNamespace(role=role, **{name: sa.bindparam(name) for name in LINKS}), *shape)

    def for_user(user: User, *shape) -> tuple[Any, dict]:
        return built(user.role, *shape), {name: getattr(user, name) for name in LINKS}

    return for_user
