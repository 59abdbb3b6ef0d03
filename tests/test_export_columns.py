"""What leaves a registered model: only the columns the host named (subject, the
items' columns, occurred_at, export=), in the member's export, the officer's CLI
export and the archive alike; a password hash or an API token never does.

On SQLite, PostgreSQL and MariaDB, with a host whose accounts and contracts both
carry secrets.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
from flask import Flask, request
from sqlalchemy import DateTime, ForeignKey, Integer, String, create_engine, insert, select
from sqlalchemy.engine import URL
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

from flask_casenote_privacy.storage.archive_tables import archived_records
from flask_casenote_privacy.storage.crypto import decrypt, get_key

PASSWORD_HASH = "scrypt:32768:8:1$Xw9probe$c0ffee0ddba11"
ACCOUNT_TOKEN = "sk_live_account_probe_51HxQ"
CONTRACT_HASH = "pbkdf2:sha256:600000$contract$probe"
CONTRACT_TOKEN = "sk_live_contract_probe_77Zz"
SECRETS = (PASSWORD_HASH, ACCOUNT_TOKEN, CONTRACT_HASH, CONTRACT_TOKEN)


class Base(DeclarativeBase):
    pass


class Account(Base):
    __tablename__ = "accounts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    api_token: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime)


class Contract(Base):
    """A contract kept five years (contract_record), with the API credentials issued under it."""

    __tablename__ = "contracts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    plan: Mapped[str] = mapped_column(String(20))
    signed_at: Mapped[datetime] = mapped_column(DateTime)
    password_hash: Mapped[str] = mapped_column(String(200))
    api_token: Mapped[str] = mapped_column(String(200))


class Host:
    def __init__(self, app: Flask, url: URL) -> None:
        self.app = app
        self.privacy = app.extensions["privacy"]
        self.engine = create_engine(url)
        Base.metadata.create_all(self.engine)
        self.Session = sessionmaker(self.engine)

    def register(self, *, account_export: list[str]) -> None:
        self.privacy.register_model(
            Account,
            subject="id",
            items={"name": "name", "email": "email"},
            export=account_export,
            session_factory=self.Session,
        )
        self.privacy.register_model(
            Contract,
            subject="account_id",
            retention="contract_record",
            occurred_at="signed_at",
            export=["plan"],
            session_factory=self.Session,
        )

    def seed(self) -> None:
        with self.Session.begin() as s:
            s.add(
                Account(
                    id=41,
                    name="김민지",
                    email="minji@example.kr",
                    password_hash=PASSWORD_HASH,
                    api_token=ACCOUNT_TOKEN,
                    created_at=datetime(2026, 1, 5, 9, 0),
                )
            )
            s.flush()
            s.add(
                Contract(
                    account_id=41,
                    plan="yearly",
                    signed_at=datetime(2026, 2, 1, 3, 0),
                    password_hash=CONTRACT_HASH,
                    api_token=CONTRACT_TOKEN,
                )
            )


@pytest.fixture
def make_host(make_app: Callable[..., Flask], tmp_path: Path) -> Iterator[Callable[..., Host]]:
    hosts: list[Host] = []

    def factory(urls: tuple[URL, URL], *, account_export: list[str] | None = None) -> Host:
        main, archive = urls
        app = make_app(PRIVACY_DATABASE_URI=main, PRIVACY_ARCHIVE_DATABASE_URI=archive, PRIVACY_CSRF=False)
        host_url = (
            URL.create("sqlite", database=str(tmp_path / "host.sqlite"))
            if main.get_backend_name() == "sqlite"
            else main
        )
        host = Host(app, host_url)
        host.register(account_export=["created_at"] if account_export is None else account_export)

        @host.privacy.subject_loader
        def subject() -> str | None:
            return request.headers.get("X-Test-Subject")

        hosts.append(host)
        return host

    yield factory
    for host in hosts:
        host.engine.dispose()


def _no_secret_in(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text
    assert "password_hash" not in text and "api_token" not in text


def test_an_export_holds_the_declared_items_and_listed_columns_never_a_password_hash_or_token(
    make_host: Callable[..., Host], database_urls: tuple[URL, URL]
) -> None:
    host = make_host(database_urls)
    host.seed()

    answer = host.app.test_client().get("/privacy/export", headers={"X-Test-Subject": "41"})
    assert answer.status_code == 200
    sources = answer.get_json()["sources"]
    [account] = sources["accounts"]["records"]
    assert account == {
        "id": 41,
        "name": "김민지",
        "email": "minji@example.kr",
        "created_at": "2026-01-05T09:00:00+00:00",
    }
    [contract] = sources["contracts"]["records"]
    assert contract == {"account_id": 41, "signed_at": "2026-02-01T03:00:00+00:00", "plan": "yearly"}
    _no_secret_in(answer.get_data(as_text=True))

    result = host.app.test_cli_runner().invoke(args=["privacy", "export", "41", "--reason", "r", "--officer", "kim"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["sources"]["accounts"]["records"] == [account]
    _no_secret_in(result.stdout)


def test_the_archive_keeps_the_declared_columns_of_a_retained_source_and_no_secret(
    make_host: Callable[..., Host], database_urls: tuple[URL, URL]
) -> None:
    host = make_host(database_urls)
    host.seed()
    answer = host.app.test_client().post("/privacy/withdraw", json={"scope": "all"}, headers={"X-Test-Subject": "41"})
    assert answer.status_code == 200 and answer.get_json()["status"] == "completed"

    with host.app.app_context():
        databases = host.privacy.services.databases
        with databases.main.connect() as conn:
            key = get_key(conn, "41")
        with databases.archive.connect() as conn:
            rows = conn.execute(select(archived_records)).mappings().all()
    assert key is not None and [r["source"] for r in rows] == ["contracts"]
    row = rows[0]
    associated = f"{row['source']}\x1f{row['record_key']}\x1f{row['retention']}".encode()
    plain = decrypt(key, bytes(row["nonce"]), bytes(row["ciphertext"]), associated).decode()
    assert json.loads(plain) == {"account_id": 41, "signed_at": "2026-02-01T03:00:00+00:00", "plan": "yearly"}
    _no_secret_in(plain)


def test_export_naming_a_column_the_model_lacks_fails_at_registration(
    make_host: Callable[..., Host], tmp_path: Path
) -> None:
    urls = (
        URL.create("sqlite", database=str(tmp_path / "main.sqlite")),
        URL.create("sqlite", database=str(tmp_path / "archive.sqlite")),
    )
    with pytest.raises(ValueError, match=r"Account has no column 'signup_ip' \(export\)"):
        make_host(urls, account_export=["created_at", "signup_ip"])


def test_a_restored_member_is_erased_again_after_the_host_lists_more_columns_to_export(
    make_host: Callable[..., Host], tmp_path: Path
) -> None:
    """A tombstone hashes whole rows, not the export: widening export= on a later
    deploy must not let a restored backup of a withdrawn member survive the purge."""
    urls = (
        URL.create("sqlite", database=str(tmp_path / "main.sqlite")),
        URL.create("sqlite", database=str(tmp_path / "archive.sqlite")),
    )
    before = make_host(urls, account_export=[])
    before.seed()
    with before.engine.connect() as conn:
        backup = [(t, [dict(r) for r in conn.execute(select(t)).mappings()]) for t in Base.metadata.sorted_tables]
    before.app.test_client().post("/privacy/withdraw", json={"scope": "all"}, headers={"X-Test-Subject": "41"})
    with before.engine.begin() as conn:  # the host database restored from the backup
        for table, rows in backup:
            conn.execute(insert(table), rows)

    after = make_host(urls, account_export=["created_at"])  # the next deploy shows one more column
    with after.Session() as s:
        assert s.scalars(select(Account.id)).all() == [41]  # restored
    result = after.app.test_cli_runner().invoke(args=["privacy", "purge"])
    assert result.exit_code == 0, result.output
    with after.Session() as s:
        assert s.scalars(select(Account.id)).all() == [] and s.scalars(select(Contract.id)).all() == []
