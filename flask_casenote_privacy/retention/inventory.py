"""The retention inventory of the audit pack: per retention class, how many records
are held, the oldest, the next expiry, and how many are past it (awaiting the
next purge). Read only; the same tables the purge destroys from."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from ..periods import add_period
from ..storage.engines import as_utc
from .ledger import statute_of
from .purge import TARGETS, known_classes

if TYPE_CHECKING:
    from ..services import Services

__all__ = ["retention_inventory"]

# The column that says when a target's record came to be.
_BORN = {
    "access_log": "occurred_at",
    "archived_records": "occurred_at",
    "provisions": "provided_at",
    "operator_access": "accessed_at",
    "withdrawal_links": "used_at",
}


# Labels of the classes the extension keeps on its own behalf (ledger.INTERNAL_CLASSES).
_INTERNAL_LABELS = {
    "operator_access": "개인정보취급자 접속기록",
    "withdrawal_link": "탈퇴 링크 사용 기록",
    "subject_key": "정보주체별 암호화 키",
    "mail_address": "안내 메일 수신 주소",
}


def _access_record_period(services: Services) -> str:
    """The longer of ``PRIVACY_OPERATOR_ACCESS_PERIOD`` and what the policy's scale asks."""
    now, tz = services.now(), services.policy.tz
    periods = (services.settings.operator_access_period, services.policy.service.access_record_period)
    return max(periods, key=lambda p: add_period(now, p, tz)).iso


def _blank(services: Services, retention: str) -> dict[str, Any]:
    cls = services.policy.find_retention_class(retention)
    period = cls.period.iso if cls and cls.period else None
    return {
        "retention": retention,
        "label": cls.label.get("ko") if cls else _INTERNAL_LABELS.get(retention, retention),
        "period": _access_record_period(services) if retention == "operator_access" else period,
        "statute": statute_of(services, retention),
        "rows": 0,
        "overdue": 0,
        "oldest": None,
        "next_expiry": None,
        "targets": [],
    }


def retention_inventory(services: Services, now: datetime | None = None) -> list[dict[str, Any]]:
    now = now or services.now()
    tz = services.policy.tz
    classes: dict[str, dict[str, Any]] = {}
    for retention in known_classes(services):
        classes[retention] = _blank(services, retention)
    for target in TARGETS:
        engine = services.databases.main if target.database == "main" else services.databases.archive
        t = target.table
        born = t.c[_BORN[target.name]]
        group: Any = t.c.retention if target.fixed_class is None else None
        with engine.connect() as conn:
            if group is None:
                rows = [(target.fixed_class, *conn.execute(select(func.count(), func.min(born))).one())]
            else:
                rows = list(conn.execute(select(group, func.count(), func.min(born)).group_by(group)))
            for retention, count, oldest in rows:
                if not count:
                    continue
                where = [t.c.expires_at > now] + ([] if group is None else [group == retention])
                upcoming = as_utc(conn.execute(select(func.min(t.c.expires_at)).where(*where)).scalar())
                past = [t.c.expires_at <= now] + ([] if group is None else [group == retention])
                overdue = int(conn.execute(select(func.count()).select_from(t).where(*past)).scalar_one())
                entry = classes.setdefault(retention, _blank(services, retention))
                entry["rows"] += int(count)
                entry["overdue"] += overdue
                entry["targets"].append(target.name)
                oldest = as_utc(oldest)
                if oldest is not None and (entry["oldest"] is None or oldest < entry["oldest"]):
                    entry["oldest"] = oldest
                if upcoming is not None and (entry["next_expiry"] is None or upcoming < entry["next_expiry"]):
                    entry["next_expiry"] = upcoming
    for entry in classes.values():
        for key in ("oldest", "next_expiry"):
            entry[key] = entry[key].astimezone(tz).isoformat() if entry[key] else None
    return list(classes.values())
