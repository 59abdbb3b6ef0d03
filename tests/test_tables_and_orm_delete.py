"""Data that is not a simple model (issue 12 point 9).

- An association table (``db.Table``) registered with ``register_model``: a withdrawal
  erases its rows (no orphans), an export shows them with only the declared columns,
  and the destruction ledger counts them. Read through the app's Flask-SQLAlchemy session.
- ``orm_delete=True``: the subject's rows are deleted with ``session.delete`` so that a
  host's ``after_delete`` hook (a search index) sees every one; the default bulk
  ``DELETE`` runs no mapper event, as documented. Read through a ``session_factory``.

On SQLite, PostgreSQL and MariaDB.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, request
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import Column, DateTime, ForeignKey, Integer, String, create_engine, event, select
from sqlalchemy.engine import URL, Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

from flask_casenote_privacy.retention.ledger import destruction_history

GRANT_TOKEN = "grant_token_probe_9Qz"

db = SQLAlchemy()


class Member(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "tbl_members"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(200))


class Role(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "tbl_roles"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    label: Mapped[str] = mapped_column(String(50))


member_roles = db.Table(
    "tbl_member_roles",
    Column("member_id", ForeignKey("tbl_members.id"), primary_key=True),
    Column("role_id", ForeignKey("tbl_roles.id"), primary_key=True),
    Column("granted_at", DateTime, nullable=False),
    Column("grant_token", String(100), nullable=False),  # named nowhere: never read out
)


def _url_text(url: URL) -> str:
    return url.render_as_string(hide_password=False)


@pytest.fixture
def table_host(make_app: Callable[..., Flask], database_urls: tuple[URL, URL], tmp_path: Path) -> Iterator[Flask]:
    main, archive = database_urls
    host_url = (
        URL.create("sqlite", database=str(tmp_path / "host.sqlite")) if main.get_backend_name() == "sqlite" else main
    )
    app = make_app(
        PRIVACY_DATABASE_URI=main,
        PRIVACY_ARCHIVE_DATABASE_URI=archive,
        PRIVACY_CSRF=False,
        SQLALCHEMY_DATABASE_URI=_url_text(host_url),
    )
    db.init_app(app)
    privacy = app.extensions["privacy"]
    privacy.register_model(Member, subject="id", items={"email": "email"})
    privacy.register_model(member_roles, subject="member_id", export=["role_id", "granted_at"])

    @privacy.subject_loader
    def subject() -> str | None:
        return request.headers.get("X-Test-Subject")

    with app.app_context():
        db.create_all()
        db.session.add_all([Member(id=41, email="minji@example.kr"), Member(id=42, email="seo@example.kr")])
        db.session.add_all([Role(id=1, label="editor"), Role(id=2, label="reviewer")])
        db.session.flush()
        db.session.execute(
            member_roles.insert(),
            [
                {"member_id": 41, "role_id": 1, "granted_at": datetime(2026, 3, 1, 9, 0), "grant_token": GRANT_TOKEN},
                {"member_id": 41, "role_id": 2, "granted_at": datetime(2026, 3, 2, 9, 0), "grant_token": GRANT_TOKEN},
                {"member_id": 42, "role_id": 1, "granted_at": datetime(2026, 3, 3, 9, 0), "grant_token": GRANT_TOKEN},
            ],
        )
        db.session.commit()
    yield app
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


def test_a_table_is_registered_under_its_name_and_its_rows_are_exported_with_only_declared_columns(
    table_host: Flask,
) -> None:
    answer = table_host.test_client().get("/privacy/export", headers={"X-Test-Subject": "41"})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    records = answer.get_json()["sources"]["tbl_member_roles"]["records"]
    assert sorted(records, key=lambda r: r["role_id"]) == [
        {"member_id": 41, "role_id": 1, "granted_at": "2026-03-01T09:00:00+00:00"},
        {"member_id": 41, "role_id": 2, "granted_at": "2026-03-02T09:00:00+00:00"},
    ]
    assert GRANT_TOKEN not in answer.get_data(as_text=True)


def test_a_withdrawal_erases_the_members_association_rows_and_the_ledger_counts_them(table_host: Flask) -> None:
    answer = table_host.test_client().post("/privacy/withdraw", json={"scope": "all"}, headers={"X-Test-Subject": "41"})
    assert answer.status_code == 200 and answer.get_json()["status"] == "completed", answer.get_data(as_text=True)
    request_id = answer.get_json()["request_id"]

    with table_host.app_context():
        left = db.session.execute(select(member_roles.c.member_id, member_roles.c.role_id)).all()
        members = db.session.scalars(select(Member.id)).all()
        ledger = {
            r["target"]: r["count"]
            for r in destruction_history(table_host.extensions["privacy"].services)
            if r["run_id"] == request_id
        }
    assert [tuple(r) for r in left] == [(42, 1)]  # no orphan row of 41; 42's untouched
    assert members == [42]
    assert ledger == {"host:tbl_members": 1, "host:tbl_member_roles": 2}


def test_an_unknown_column_of_a_table_and_orm_delete_on_a_table_fail_at_registration(
    make_app: Callable[..., Flask],
) -> None:
    privacy = make_app().extensions["privacy"]
    with pytest.raises(ValueError, match=r"tbl_member_roles has no column 'user_id' \(subject\)"):
        privacy.register_model(member_roles, subject="user_id")
    with pytest.raises(ValueError, match="orm_delete=True needs a mapped model"):
        privacy.register_model(member_roles, subject="member_id", orm_delete=True)


# -- orm_delete ------------------------------------------------------------------------


class Base(DeclarativeBase):
    pass


class Post(Base):
    __tablename__ = "tbl_posts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    author_id: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(String(200))
    posted_at: Mapped[datetime] = mapped_column(DateTime, default=lambda: datetime(2026, 11, 30, 3, 0))


class Comment(Base):
    __tablename__ = "tbl_comments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    author_id: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(String(200))


search_index_removed: list[tuple[str, int]] = []


@event.listens_for(Post, "after_delete")
def _post_deleted(mapper: Any, connection: Any, target: Post) -> None:
    search_index_removed.append(("post", target.id))


@event.listens_for(Comment, "after_delete")
def _comment_deleted(mapper: Any, connection: Any, target: Comment) -> None:
    search_index_removed.append(("comment", target.id))


@pytest.fixture
def orm_host(
    make_app: Callable[..., Flask], database_urls: tuple[URL, URL], tmp_path: Path
) -> Iterator[tuple[Flask, Engine]]:
    main, archive = database_urls
    host_url = (
        URL.create("sqlite", database=str(tmp_path / "orm.sqlite")) if main.get_backend_name() == "sqlite" else main
    )
    app = make_app(PRIVACY_DATABASE_URI=main, PRIVACY_ARCHIVE_DATABASE_URI=archive, PRIVACY_CSRF=False)
    engine = create_engine(host_url)
    Base.metadata.create_all(engine)
    Session = sessionmaker(engine)
    privacy = app.extensions["privacy"]
    privacy.register_model(
        Post,
        subject="author_id",
        items={"usage_record": "body"},
        occurred_at="posted_at",
        session_factory=Session,
        orm_delete=True,
    )
    privacy.register_model(Comment, subject="author_id", session_factory=Session)  # default: bulk DELETE

    @privacy.subject_loader
    def subject() -> str | None:
        return request.headers.get("X-Test-Subject")

    with Session.begin() as s:
        s.add_all(
            [Post(id=i, author_id=41, body=f"post {i}") for i in (1, 2, 3)] + [Post(id=4, author_id=42, body="x")]
        )
        s.add_all([Comment(id=i, author_id=41, body=f"comment {i}") for i in (10, 11)])
    search_index_removed.clear()
    yield app, engine
    Base.metadata.drop_all(engine)
    engine.dispose()


def test_orm_delete_runs_the_hosts_after_delete_hook_for_every_row_and_the_bulk_default_runs_none(
    orm_host: tuple[Flask, Engine],
) -> None:
    app, engine = orm_host
    answer = app.test_client().post("/privacy/withdraw", json={"scope": "all"}, headers={"X-Test-Subject": "41"})
    assert answer.status_code == 200 and answer.get_json()["status"] == "completed", answer.get_data(as_text=True)
    request_id = answer.get_json()["request_id"]

    # orm_delete=True: the search index heard of each of 41's posts, and of nothing else.
    assert sorted(i for kind, i in search_index_removed if kind == "post") == [1, 2, 3]
    # The default bulk DELETE runs no mapper event (docs/subject-rights.md section 1).
    assert [i for kind, i in search_index_removed if kind == "comment"] == []

    with engine.connect() as conn:
        assert conn.execute(select(Post.id)).scalars().all() == [4]
        assert conn.execute(select(Comment.id)).scalars().all() == []
    with app.app_context():
        ledger = {
            r["target"]: r["count"]
            for r in destruction_history(app.extensions["privacy"].services)
            if r["run_id"] == request_id
        }
    assert ledger == {"host:tbl_posts": 3, "host:tbl_comments": 2}


def test_orm_delete_is_idempotent(orm_host: tuple[Flask, Engine]) -> None:
    app, _ = orm_host
    with app.app_context():
        source = app.extensions["privacy"].services.sources["tbl_posts"]
        assert source.erase("41") == 3
        assert source.erase("41") == 0
        assert source.erase("not-a-number") == 0
    assert sorted(i for _, i in search_index_removed) == [1, 2, 3]
