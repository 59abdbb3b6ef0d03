"""The demo's own data: members (name and email only — policy section 1),
their searches, their payments (kept five years), and the cases."""

from __future__ import annotations

from datetime import datetime, timezone

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

db = SQLAlchemy()


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class User(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(200), unique=True)
    plan: Mapped[str] = mapped_column(String(20), default="free")


class Search(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "searches"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    query: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # Usage records (3 months): the purge finds the rows past their period by this column.
    searched_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)


class Payment(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "payments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    amount: Mapped[int] = mapped_column(Integer)
    plan: Mapped[str] = mapped_column(String(20))
    approval_no: Mapped[str] = mapped_column(String(40))  # the gateway's approval: no card data here
    paid_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Case(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "cases"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    court: Mapped[str] = mapped_column(String(100))
    number: Mapped[str] = mapped_column(String(50))
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text)


CASES = [
    (
        "대법원",
        "2023다12345",
        "임대차보증금 반환",
        "임대인이 보증금 반환을 지체한 경우 지연손해금의 기산점에 관한 판단.",
    ),
    ("대법원", "2022도6789", "개인정보 보호법 위반", "동의 없이 수집한 개인정보를 제3자에게 제공한 행위의 위법성."),
    ("서울고등법원", "2021나20001", "손해배상(기)", "온라인 서비스의 개인정보 유출로 인한 위자료 산정 기준."),
    ("대법원", "2020다55555", "부당이득금", "결제대행사를 통한 이중 결제의 반환 범위."),
    ("서울중앙지방법원", "2023가합1111", "계약금 반환", "청약철회 기간 내 해제 시 계약금 반환 의무."),
    ("대법원", "2019두3333", "시정명령 취소", "표시·광고의 공정화에 관한 법률상 부당 광고의 판단 기준."),
    ("수원지방법원", "2022가단4444", "이혼 및 위자료", "혼인 파탄의 주된 책임과 위자료 액수."),
    ("대법원", "2021다7777", "소비자 분쟁", "전자상거래 소비자 불만 처리 기록의 증거능력."),
]
