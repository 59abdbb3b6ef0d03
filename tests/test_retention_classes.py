"""Every e-commerce retention class of the seed (전자상거래법 시행령 §6①) end to end:
records archived on withdrawal expire on their own date + their class's period on
the Seoul calendar, and the purge destroys each exactly then, not a second before."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, request
from sqlalchemy import DateTime, Integer, String, create_engine, select
from sqlalchemy.engine import URL
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

from flask_casenote_privacy.storage.archive_tables import archived_records


class Base(DeclarativeBase):
    pass


class Contract(Base):
    __tablename__ = "contracts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer)
    terms: Mapped[str] = mapped_column(String(100))
    signed_at: Mapped[datetime] = mapped_column(DateTime)


class Complaint(Base):
    __tablename__ = "complaints"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(String(200))
    filed_at: Mapped[datetime] = mapped_column(DateTime)


class AdShown(Base):
    __tablename__ = "ads_shown"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer)
    campaign: Mapped[str] = mapped_column(String(100))
    shown_at: Mapped[datetime] = mapped_column(DateTime)


# (model, retention class, the record's own date in KST, its expiry in KST)
CASES = [
    (Contract, "contract_record", "signed_at", "2026-08-31T10:00:00+09:00", "2031-08-31T10:00:00+09:00"),
    (Complaint, "complaint_record", "filed_at", "2024-02-29T15:30:00+09:00", "2027-02-28T15:30:00+09:00"),
    (AdShown, "advertising_record", "shown_at", "2026-08-31T23:59:00+09:00", "2027-02-28T23:59:00+09:00"),
]


def _utc_naive(iso: str) -> datetime:
    return datetime.fromisoformat(iso).astimezone(timezone.utc).replace(tzinfo=None)


@pytest.fixture
def app(make_app: Callable[..., Flask], database_urls: tuple[URL, URL], tmp_path: Path, clock: Any) -> Iterator[Flask]:
    clock.set("2026-12-10T10:00:00+09:00")
    main, archive = database_urls
    app = make_app(PRIVACY_DATABASE_URI=main, PRIVACY_ARCHIVE_DATABASE_URI=archive, PRIVACY_CSRF=False)
    host = URL.create("sqlite", database=str(tmp_path / "host.sqlite")) if main.get_backend_name() == "sqlite" else main
    engine = create_engine(host)
    Base.metadata.create_all(engine)
    session = sessionmaker(engine)
    with session.begin() as s:
        s.add(Contract(user_id=7, terms="연간 이용계약", signed_at=_utc_naive(CASES[0][3])))
        s.add(Complaint(user_id=7, text="환불 요청", filed_at=_utc_naive(CASES[1][3])))
        s.add(AdShown(user_id=7, campaign="봄 할인", shown_at=_utc_naive(CASES[2][3])))
    privacy = app.extensions["privacy"]
    for model, retention, column, _, _ in CASES:
        privacy.register_model(
            model, subject="user_id", retention=retention, occurred_at=column, session_factory=session
        )

    @privacy.subject_loader
    def subject() -> str | None:
        return request.headers.get("X-Test-Subject")

    yield app
    engine.dispose()


def test_each_ecommerce_class_is_archived_until_its_own_date_plus_its_period(app: Flask) -> None:
    answer = app.test_client().post("/privacy/withdraw", json={"scope": "all"}, headers={"X-Test-Subject": "7"})
    assert answer.status_code == 200
    retained = {r["retention"]: r for r in answer.get_json()["retained"]}
    privacy = app.extensions["privacy"]
    with app.app_context(), privacy.services.databases.archive.connect() as conn:
        rows = {r["retention"]: r for r in conn.execute(select(archived_records)).mappings()}
    seoul = privacy.policy.tz
    for _, retention, _, _, expires in CASES:
        assert rows[retention]["expires_at"].astimezone(seoul).isoformat() == expires
        assert retained[retention]["until"] == expires
        assert retained[retention]["count"] == 1
        assert "전자상거래" in rows[retention]["statute"]


@pytest.mark.parametrize(("retention", "expires"), [(c[1], c[4]) for c in CASES], ids=[c[1] for c in CASES])
def test_the_purge_destroys_each_class_exactly_at_its_expiry(app: Flask, retention: str, expires: str) -> None:
    app.test_client().post("/privacy/withdraw", json={"scope": "all"}, headers={"X-Test-Subject": "7"})
    runner = app.test_cli_runner()
    at = datetime.fromisoformat(expires)
    one_second_early = (at - timedelta(seconds=1)).isoformat()
    before = runner.invoke(
        args=["privacy", "purge", "--class", retention, "--now", one_second_early, "--format", "json"]
    )
    assert before.exit_code == 0, before.output
    assert {c["retention"]: c["destroyed"] for c in json.loads(before.output)["classes"]}[retention] == 0
    now = runner.invoke(args=["privacy", "purge", "--class", retention, "--now", expires, "--format", "json"])
    assert {c["retention"]: c["destroyed"] for c in json.loads(now.output)["classes"]}[retention] == 1
    privacy = app.extensions["privacy"]
    with app.app_context(), privacy.services.databases.archive.connect() as conn:
        left = {r for r in conn.execute(select(archived_records.c.retention)).scalars()}
    assert retention not in left
    assert left == {c[1] for c in CASES} - {retention}  # the other classes are kept
