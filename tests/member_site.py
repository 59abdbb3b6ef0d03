"""A small host app with members and payments, on a real database, for the
subject-rights tests: User (name, email), SearchHistory (erased on withdrawal),
Payment (kept five years under payment_record)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from flask import Flask, request
from sqlalchemy import DateTime, ForeignKey, Integer, String, create_engine
from sqlalchemy.engine import URL
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

PROBE_EMAIL = "probe.member@example.kr"
PROBE_CARD_LAST4 = "4242"


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(200), unique=True)


class SearchHistory(Base):
    __tablename__ = "search_history"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    query: Mapped[str | None] = mapped_column(String(200), nullable=True)
    searched_at: Mapped[datetime] = mapped_column(DateTime)  # naive UTC: usage records go 3 months after it


class Payment(Base):
    __tablename__ = "payments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    amount: Mapped[int] = mapped_column(Integer)
    memo: Mapped[str] = mapped_column(String(200))
    paid_at: Mapped[datetime] = mapped_column(DateTime)


class Site:
    """The app, its host session factory and helpers to seed members."""

    def __init__(self, app: Flask, host_url: URL) -> None:
        self.app = app
        self.privacy = app.extensions["privacy"]
        self.engine = create_engine(host_url)
        Base.metadata.create_all(self.engine)
        self.Session = sessionmaker(self.engine)

    def add_member(self, user_id: int, name: str, email: str, payments: list[tuple[str, int]] = ()) -> None:
        with self.Session.begin() as s:
            s.add(User(id=user_id, name=name, email=email))
            s.flush()
            for n, (paid_at, amount) in enumerate(payments):
                when = datetime.fromisoformat(paid_at).astimezone(timezone.utc).replace(tzinfo=None)
                s.add(Payment(user_id=user_id, amount=amount, memo=f"card ****{PROBE_CARD_LAST4} #{n}", paid_at=when))
            searched = self.privacy.clock().astimezone(timezone.utc).replace(tzinfo=None)
            s.add(SearchHistory(user_id=user_id, query="이혼 소송 판례", searched_at=searched))

    def count(self, model: type[Any], user_id: int) -> int:
        from sqlalchemy import func, select

        with self.Session() as s:
            return int(
                s.scalar(
                    select(func.count())
                    .select_from(model)
                    .where(model.user_id == user_id if hasattr(model, "user_id") else model.id == user_id)
                )
                or 0
            )

    def close(self) -> None:
        # Notices leave on the mail thread: let it finish while the SMTP server is up.
        with self.app.app_context():
            self.privacy.services.mailer.flush()
        self.engine.dispose()


def build_site(
    make_app: Callable[..., Flask],
    database_urls: tuple[URL, URL],
    tmp_path: Path,
    smtp: tuple[str, int, Any] | None = None,
    **config: Any,
) -> Site:
    main, archive = database_urls
    mail = (
        {"PRIVACY_MAIL_SERVER": smtp[0], "PRIVACY_MAIL_PORT": smtp[1], "PRIVACY_MAIL_SENDER": "privacy@casenote.kr"}
        if smtp
        else {}
    )
    app = make_app(PRIVACY_DATABASE_URI=main, PRIVACY_ARCHIVE_DATABASE_URI=archive, **{**mail, **config})
    host_url = (
        URL.create("sqlite", database=str(tmp_path / "host.sqlite")) if main.get_backend_name() == "sqlite" else main
    )
    site = Site(app, host_url)
    privacy = site.privacy
    privacy.register_model(User, subject="id", items={"name": "name", "email": "email"}, session_factory=site.Session)
    privacy.register_model(
        SearchHistory,
        subject="user_id",
        items={"usage_record": "query"},
        occurred_at="searched_at",
        session_factory=site.Session,
    )
    privacy.register_model(
        Payment,
        subject="user_id",
        retention="payment_record",
        occurred_at="paid_at",
        export=["amount", "memo"],
        session_factory=site.Session,
    )

    @privacy.subject_loader
    def subject() -> str | None:
        return request.headers.get("X-Test-Subject")

    @privacy.officer_loader
    def officer() -> str | bool:
        return request.headers.get("X-Test-Officer") or False

    @app.get("/search")
    def search() -> str:
        return "results"

    return site


class CrashOnce:
    """Wraps a data source so that its first erase raises, as a power cut would
    between the archive commit and the erasure; later calls pass through."""

    def __init__(self, source: Any) -> None:
        self.source = source
        self.items, self.retention = source.items, source.retention
        self.crashed = False

    def export(self, subject: str) -> Any:
        return self.source.export(subject)

    def find(self, item: str, value: str) -> list[str]:
        return list(self.source.find(item, value))

    def erase(self, subject: str, items: Any = None) -> int:
        if not self.crashed:
            self.crashed = True
            raise RuntimeError("power cut")
        return int(self.source.erase(subject, items))


def crash_first_erase(site: Site, name: str = "users") -> CrashOnce:
    wrapper = CrashOnce(site.privacy._sources[name])
    site.privacy._sources[name] = wrapper
    return wrapper
