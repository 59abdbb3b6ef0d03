"""Host data kept past its declared period (개인정보 보호법 제21조 제1항): a registered
source whose items the policy keeps for a period (search queries are usage records:
the access_log class, 3 months) loses each row that period after the row's own date,
whether its member stays or not, on the Seoul calendar, exactly at the boundary, with
the destruction ledger counting it. A registration that cannot be purged by period
is refused, naming what is missing."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, ClassVar

import pytest
from flask import Flask
from sqlalchemy import DateTime, Integer, String, create_engine, select
from sqlalchemy.engine import URL
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

from flask_casenote_privacy import ConfigurationError, SourceRecord
from flask_casenote_privacy.retention.ledger import destruction_history
from flask_casenote_privacy.retention.purge import purge
from flask_casenote_privacy.retention.source_purge import PeriodPurge


class Base(DeclarativeBase):
    pass


class HostSearch(Base):
    __tablename__ = "host_searches"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer)
    query: Mapped[str] = mapped_column(String(200))
    searched_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)  # naive UTC


# The row's own date in Seoul -> destroyed at NOW? (P3M on the Seoul calendar: month ends clamp,
# so 11-28, 11-29 and 11-30 all expire on 2027-02-28, each at its own time of day.)
NOW = "2027-02-28T12:00:00+09:00"
ROWS = {
    "2026-08-01T09:00:00+09:00": True,  # long past: the range delete
    "2026-11-27T23:00:00+09:00": True,  # expired 2027-02-27 23:00
    "2026-11-28T13:00:00+09:00": False,  # expires 2027-02-28 13:00, an hour after NOW
    "2026-11-29T23:59:00+09:00": False,  # older than the next row, yet expires later (11:59 pm)
    "2026-11-30T12:00:00+09:00": True,  # expires exactly at NOW
    "2026-11-30T12:00:01+09:00": False,  # one second later
    "2026-12-01T00:00:00+09:00": False,
}


def utc_naive(iso: str) -> datetime:
    return datetime.fromisoformat(iso).astimezone(timezone.utc).replace(tzinfo=None)


class Host:
    def __init__(self, app: Flask, url: URL) -> None:
        self.app = app
        self.privacy = app.extensions["privacy"]
        self.engine = create_engine(url)
        Base.metadata.create_all(self.engine)
        self.Session = sessionmaker(self.engine)

    def add(self, *dates: str | None, user_id: int = 41) -> None:
        with self.Session.begin() as s:
            s.add_all(
                HostSearch(user_id=user_id, query="이혼 소송 판례", searched_at=None if d is None else utc_naive(d))
                for d in dates
            )

    def dates(self) -> set[str | None]:
        seoul = self.privacy.policy.tz
        with self.Session() as s:
            return {
                None if d is None else d.replace(tzinfo=timezone.utc).astimezone(seoul).isoformat()
                for d in s.scalars(select(HostSearch.searched_at))
            }

    def purge(self, *args: str) -> dict[str, Any]:
        result = self.app.test_cli_runner().invoke(args=["privacy", "purge", "--format", "json", *args])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)  # type: ignore[no-any-return]


@pytest.fixture
def host(make_app: Callable[..., Flask], database_urls: tuple[URL, URL], tmp_path: Path) -> Iterator[Host]:
    main, archive = database_urls
    app = make_app(PRIVACY_DATABASE_URI=main, PRIVACY_ARCHIVE_DATABASE_URI=archive, PRIVACY_CAPTURE=False)
    url = URL.create("sqlite", database=str(tmp_path / "host.sqlite")) if main.get_backend_name() == "sqlite" else main
    site = Host(app, url)
    site.privacy.register_model(
        HostSearch,
        subject="user_id",
        items={"usage_record": "query"},
        occurred_at="searched_at",
        session_factory=site.Session,
    )
    yield site
    site.engine.dispose()


def access_log_line(report: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in report["classes"] if c["retention"] == "access_log")


def test_searches_go_three_months_after_their_own_date_in_kst_exactly_at_the_boundary(host: Host) -> None:
    host.add(*ROWS, None)  # and one without a date: never destroyed by period
    dry = host.purge("--now", NOW, "--dry-run")
    assert len(host.dates()) == len(ROWS) + 1  # a dry run changes nothing
    assert access_log_line(dry)["destroyed"] == 3

    real = host.purge("--now", NOW)
    kept = {d for d, gone in ROWS.items() if not gone}
    assert host.dates() == kept | {None}
    line = access_log_line(real)
    assert (line["destroyed"], line["kept"]) == (3, 4)
    assert (access_log_line(dry)["destroyed"], access_log_line(dry)["kept"]) == (3, 4)
    assert line["next_expiry"] == "2027-02-28T12:00:01+09:00" == access_log_line(dry)["next_expiry"]
    assert "host:host_searches" in line["targets"]
    with host.app.app_context():
        rows = [r for r in destruction_history(host.privacy.services) if r["run_id"] == real["run_id"]]
    assert [(r["retention"], r["target"], r["count"]) for r in rows] == [("access_log", "host:host_searches", 3)]
    assert "통신비밀보호법" in rows[0]["statute"] and "P3M" in rows[0]["method"]
    assert "이혼" not in json.dumps(rows, ensure_ascii=False)  # no personal data in the ledger

    # One second later the next row goes; nothing else.
    later = host.purge("--now", "2027-02-28T12:00:01+09:00")
    assert access_log_line(later)["destroyed"] == 1
    assert host.dates() == kept - {"2026-11-30T12:00:01+09:00"} | {None}


def test_rows_go_whether_the_member_stays_or_not_in_batches_counted_once_per_run(host: Host) -> None:
    host.add(*["2026-06-01T10:00:00+09:00"] * 7, user_id=41)
    host.add("2026-06-02T10:00:00+09:00", "2027-02-01T10:00:00+09:00", user_id=99)
    services = host.privacy.services
    with host.app.app_context():
        report = purge(services, now=datetime.fromisoformat(NOW), batch_size=2, executor="test")
        rows = [r for r in destruction_history(services) if r["run_id"] == report.run_id]
    assert report.classes["access_log"].destroyed == 8
    assert [(r["target"], r["count"]) for r in rows] == [("host:host_searches", 8)]
    assert host.dates() == {"2027-02-01T10:00:00+09:00"}


def test_a_source_with_usage_records_and_no_occurred_at_is_refused_naming_what_is_missing(
    make_app: Callable[..., Flask], tmp_path: Path
) -> None:
    app = make_app()
    privacy = app.extensions["privacy"]
    engine = create_engine(f"sqlite:///{tmp_path / 'h.sqlite'}")
    with pytest.raises(ConfigurationError) as refused:
        privacy.register_model(
            HostSearch, subject="user_id", items={"usage_record": "query"}, session_factory=sessionmaker(engine)
        )
    message = refused.value.message
    assert "'host_searches'" in message and "'access_log' (P3M)" in message and "occurred_at=" in message
    assert "host_searches" not in privacy.services.sources  # nothing registered
    # Membership items (kept until withdrawal) need no date.
    privacy.register_model(HostSearch, subject="user_id", items={"name": "query"}, name="names")


def test_a_row_holding_period_items_and_membership_items_is_refused_so_the_purge_never_takes_the_member(
    make_app: Callable[..., Flask], tmp_path: Path
) -> None:
    """The purge destroys whole rows: a members table that also keeps the last IP
    address (an access-log item, 3 months) must not lose its members after 3 months."""
    app = make_app()
    privacy = app.extensions["privacy"]
    engine = create_engine(f"sqlite:///{tmp_path / 'h.sqlite'}")
    with pytest.raises(ConfigurationError) as refused:
        privacy.register_model(
            HostSearch,
            subject="user_id",
            items={"name": "user_id", "usage_record": "query"},
            occurred_at="searched_at",
            session_factory=sessionmaker(engine),
        )
    message = refused.value.message
    assert "items kept on other terms (name)" in message and "a source of their own" in message
    assert "host_searches" not in privacy.services.sources


class Newsletter:
    """A source that is no model: it destroys its own records past a period."""

    items: ClassVar[dict[str, str]] = {"usage_record": "opened"}
    retention = None

    def __init__(self) -> None:
        self.calls: list[tuple[datetime, str, bool]] = []

    def export(self, subject: str) -> list[SourceRecord]:
        return []

    def erase(self, subject: str, items: Any = None) -> int:
        return 0

    def find(self, item: str, value: str) -> list[str]:
        return []

    def purge_expired(self, now: datetime, period: Any, tz: Any, *, dry_run: bool) -> PeriodPurge:
        self.calls.append((now, str(period), dry_run))
        return PeriodPurge(destroyed=2, kept=1)


def test_any_other_source_needs_purge_expired_and_is_counted_when_it_has_one(host: Host) -> None:
    class Bare(Newsletter):
        purge_expired = None  # type: ignore[assignment]

    with pytest.raises(ConfigurationError, match="purge_expired"):
        host.privacy.register_source("bare", Bare())
    newsletter = Newsletter()
    host.privacy.register_source("newsletter", newsletter)
    report = host.purge("--now", NOW)
    assert newsletter.calls == [(datetime.fromisoformat(NOW), "P3M", False)]
    assert access_log_line(report)["destroyed"] == 2
    with host.app.app_context():
        rows = [r for r in destruction_history(host.privacy.services) if r["run_id"] == report["run_id"]]
    assert [(r["target"], r["count"]) for r in rows] == [("host:newsletter", 2)]
