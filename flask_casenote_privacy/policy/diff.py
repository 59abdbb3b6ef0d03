"""What changed between two texts of the policy, and which changes matter to members.

Works on the policy's JSON (``Policy.to_dict()``, as stored for every version), so
two versions compare without loading either: every top-level list of entries
with an ``id`` (items, purposes, retention, recipients, and any section added
later, such as processors) is compared entry by entry, field by field; every
other key as a value. No Flask, no database.

A change *matters to members* (the longer notice) when it widens what they agreed
to or were told: new items for a consent-based purpose, a new recipient (or new
items for one), a longer retention period. A consent-based purpose whose items,
recipients or periods widen needs fresh consent (개인정보 보호법 §15②: a change to
the purpose, the items or the retention period of a consent is told and agreed
again; §17②/§18②1 for provision to third parties): such a purpose *lapses*.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from ..periods import PeriodError, parse_period
from .i18n import period_label

__all__ = ["Change", "Lapse", "PolicyDiff", "diff_policies", "period_days", "render_diff"]

# Fields that only restate another (``requires_consent`` is ``basis``) or say nothing.
_SKIP_FIELDS = frozenset({"requires_consent", "until_withdrawal"})
_REFERENCE = date(2000, 1, 1)
_WIDENED_BY_ITEMS = ("purposes", "recipients", "processors")
UNTIL_WITHDRAWAL = float("inf")

SECTION_WORDS: dict[str, tuple[str, str]] = {
    "items": ("처리하는 개인정보 항목", "Personal data items"),
    "purposes": ("처리 목적", "Purposes"),
    "retention": ("보유 기간", "Retention periods"),
    "recipients": ("제3자 제공·처리 위탁", "Recipients (provision and outsourcing)"),
    "processors": ("개인정보 처리 위탁", "Entrusted processors"),
    "refusal_grounds": ("요구 거절 사유", "Grounds for refusing a request"),
}
_WORDS = {
    "added": ("추가", "added"),
    "removed": ("삭제", "removed"),
    "changed": ("변경", "changed"),
    "longer": ("연장", "lengthened"),
    "shorter": ("단축", "shortened"),
    "general": ("일반 사항", "General"),
    "until_withdrawal": ("탈퇴 시까지", "until withdrawal"),
    "material": ("정보주체에게 중요한 변경", "Matters to members"),
    "lapsing": ("다시 동의가 필요한 목적", "Purposes that need consent again"),
    "none": ("변경 없음", "No changes"),
}


@dataclass(frozen=True)
class Change:
    """One difference. ``section`` is a top-level key; ``entry`` the entry's id (or
    ``None`` for a plain key); ``field`` the changed field (``None``: the entry was
    added or removed). Lists of ids carry ``added``/``removed``; a period carries
    ``direction`` (``longer`` or ``shorter``)."""

    section: str
    kind: str  # added, removed, changed
    entry: str | None = None
    field: str | None = None
    old: Any = None
    new: Any = None
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    direction: str | None = None
    label: Mapping[str, str] | None = None
    material: bool = False

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"section": self.section, "kind": self.kind, "material": self.material}
        for key in ("entry", "field", "direction"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        if self.added or self.removed:
            data["added"], data["removed"] = list(self.added), list(self.removed)
        elif self.field is not None:
            data["old"], data["new"] = self.old, self.new
        if self.label:
            data["label"] = dict(self.label)
        return data


@dataclass(frozen=True)
class PolicyDiff:
    """Every change from ``old`` to ``new``, and the consent-based purposes of ``new``
    whose earlier consents lapse (each with the reasons)."""

    changes: tuple[Change, ...]
    lapsing: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def material(self) -> bool:
        return any(c.material for c in self.changes) or bool(self.lapsing)

    @property
    def empty(self) -> bool:
        return not self.changes

    def to_dict(self) -> dict[str, Any]:
        return {
            "material": self.material,
            "changes": [c.to_dict() for c in self.changes],
            "lapsing_purposes": {p: list(r) for p, r in sorted(self.lapsing.items())},
        }


def period_days(iso: str | None) -> float:
    """A period's length in days from a fixed day (``None``: until withdrawal, endless)."""
    if iso is None:
        return UNTIL_WITHDRAWAL
    try:
        period = parse_period(iso)
    except PeriodError:
        return 0.0
    return float((_REFERENCE + period.delta - _REFERENCE).days)


def _entries(value: Any) -> dict[str, dict[str, Any]] | None:
    """``{id: entry}`` for a list of entries with ids, else ``None``."""
    if not isinstance(value, list) or not all(isinstance(e, dict) and isinstance(e.get("id"), str) for e in value):
        return None
    return {e["id"]: e for e in value}


def _label(entry: Mapping[str, Any]) -> Mapping[str, str] | None:
    for key in ("label", "name", "text"):
        value = entry.get(key)
        if isinstance(value, dict):
            return value
    return None


def _is_id_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _field_changes(section: str, entry_id: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    changes = []
    label = _label(new) or _label(old)
    for key in sorted(set(old) | set(new)):
        if key in _SKIP_FIELDS or key == "id" or old.get(key) == new.get(key):
            continue
        before, after = old.get(key), new.get(key)
        if (_is_id_list(before) and _is_id_list(after)) or (before is None and _is_id_list(after)):
            gained = tuple(v for v in (after or []) if v not in (before or []))
            lost = tuple(v for v in (before or []) if v not in (after or []))
            if not gained and not lost:
                continue  # only the order changed
            changes.append(Change(section, "changed", entry_id, key, added=gained, removed=lost, label=label))
            continue
        direction = None
        if section == "retention" and key == "period":
            longer = period_days(after) > period_days(before)
            direction = "longer" if longer else "shorter"
        changes.append(Change(section, "changed", entry_id, key, before, after, direction=direction, label=label))
    return changes


def diff_policies(old: Mapping[str, Any], new: Mapping[str, Any]) -> PolicyDiff:
    """The changes from the policy JSON ``old`` to ``new`` (``Policy.to_dict()``)."""
    changes: list[Change] = []
    for section in [k for k in new if k in old] + [k for k in new if k not in old] + [k for k in old if k not in new]:
        before, after = old.get(section), new.get(section)
        if before == after:
            continue
        old_entries, new_entries = _entries(before or []), _entries(after or [])
        if old_entries is None or new_entries is None:
            if isinstance(before, dict) and isinstance(after, dict):
                changes.extend(_field_changes("general", section, before, after))
            else:
                changes.append(Change("general", "changed", None, section, before, after))
            continue
        for entry_id, entry in new_entries.items():
            if entry_id not in old_entries:
                changes.append(Change(section, "added", entry_id, label=_label(entry), new=entry))
            else:
                changes.extend(_field_changes(section, entry_id, old_entries[entry_id], entry))
        for entry_id, entry in old_entries.items():
            if entry_id not in new_entries:
                changes.append(Change(section, "removed", entry_id, label=_label(entry), old=entry))
    marked = tuple(_mark(c) for c in changes)
    return PolicyDiff(marked, _lapsing(old, new))


def _mark(change: Change) -> Change:
    """Flag what widens what members agreed to or were told."""
    material = (
        (change.section in ("recipients", "processors") and change.kind == "added")
        or (change.field == "items" and bool(change.added) and change.section in _WIDENED_BY_ITEMS)
        or (change.field == "period" and change.direction == "longer")
        or (change.section == "purposes" and change.field == "basis" and change.new == "consent")
    )
    if not material:
        return change
    return Change(**{**change.__dict__, "material": True})


def _lapsing(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """The consent-based purposes of ``new`` that consent given under ``old`` no longer
    covers: more items (§15②2), a longer period for one of its items (§15②3), a new
    recipient of provision (제3자 제공) of one of its items, or new items to one
    (§17②). Outsourcing (위탁) needs no consent (§26) and lapses nothing."""
    old_purposes = _entries(old.get("purposes", [])) or {}
    old_retention = _entries(old.get("retention", [])) or {}
    old_recipients = _entries(old.get("recipients", [])) or {}
    lapsing: dict[str, tuple[str, ...]] = {}
    for purpose in _entries(new.get("purposes", [])) or {}:
        entry = (_entries(new.get("purposes", [])) or {})[purpose]
        before = old_purposes.get(purpose)
        if entry.get("basis") != "consent" or before is None or before.get("basis") != "consent":
            continue  # a new consent purpose has no earlier consent to lapse
        items = set(entry.get("items") or [])
        reasons = []
        if items - set(before.get("items") or []):
            reasons.append("items")
        for cls in (_entries(new.get("retention", [])) or {}).values():
            was = old_retention.get(cls["id"])
            covered = items & set(cls.get("items") or [])
            if not covered:
                continue
            if was is None or not covered <= set(was.get("items") or []):
                reasons.append(f"retention:{cls['id']}")  # its items now kept under another class
            elif period_days(cls.get("period")) > period_days(was.get("period")):
                reasons.append(f"retention:{cls['id']}")
        for rec in (_entries(new.get("recipients", [])) or {}).values():
            if rec.get("kind") != "provision":
                continue
            shared = items & set(rec.get("items") or [])
            was = old_recipients.get(rec["id"])
            before_shared = items & set(was.get("items") or []) if was and was.get("kind") == "provision" else set()
            if shared - before_shared:
                reasons.append(f"recipient:{rec['id']}")
        if reasons:
            lapsing[purpose] = tuple(dict.fromkeys(reasons))
    return lapsing


# -- rendering -----------------------------------------------------------------------
def _text(value: Any, lang: str) -> str:
    if isinstance(value, dict):
        return str(value.get(lang) or value.get("ko") or next(iter(value.values()), ""))
    if value is None:
        return "—"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _word(key: str, lang: str) -> str:
    ko, en = _WORDS[key]
    return ko if lang == "ko" else en


def section_title(section: str, lang: str) -> str:
    ko, en = SECTION_WORDS.get(section, (section, section.replace("_", " ").capitalize()))
    if section == "general":
        ko, en = _WORDS["general"]
    return ko if lang == "ko" else en


def _period(iso: Any, lang: str) -> str:
    if iso is None:
        return _word("until_withdrawal", lang)
    try:
        return period_label(parse_period(str(iso)), lang)
    except PeriodError:
        return str(iso)


def change_line(change: Change, lang: str) -> str:
    """One change as a sentence of ``lang`` (ko or en)."""
    name = change.entry or change.field or ""
    if change.label:
        name = f"{_text(change.label, lang)} ({change.entry})"
    if change.kind in ("added", "removed"):
        line = f"{_word(change.kind, lang)}: {name}"
    elif change.added or change.removed:
        parts = []
        if change.added:
            parts.append(f"+ {', '.join(change.added)}")
        if change.removed:
            parts.append(f"- {', '.join(change.removed)}")
        line = f"{name}: {change.field} {'; '.join(parts)}"
    elif change.direction:
        old, new = _period(change.old, lang), _period(change.new, lang)
        line = f"{name}: {change.field} {old} → {new} ({_word(change.direction, lang)})"
    elif change.entry is None:
        line = f"{change.field}: {_text(change.old, lang)} → {_text(change.new, lang)}"
    else:
        line = f"{name}: {change.field} {_text(change.old, lang)} → {_text(change.new, lang)}"
    return f"{line} [!]" if change.material else line


def grouped(diff: PolicyDiff, lang: str) -> list[tuple[str, list[str]]]:
    """(section title, lines) in the order the sections first change."""
    groups: dict[str, list[str]] = {}
    for change in diff.changes:
        groups.setdefault(change.section, []).append(change_line(change, lang))
    return [(section_title(section, lang), lines) for section, lines in groups.items()]


def render_diff(diff: PolicyDiff, lang: str) -> str:
    """The diff as readable text in ``lang``; ``[!]`` marks what matters to members."""
    if diff.empty:
        return _word("none", lang)
    out = []
    for title, lines in grouped(diff, lang):
        out.append(f"{title}:")
        out.extend(f"  - {line}" for line in lines)
    if diff.lapsing:
        out.append(f"{_word('lapsing', lang)}: {', '.join(sorted(diff.lapsing))}")
    if diff.material:
        out.append(f"[!] {_word('material', lang)}")
    return "\n".join(out)


@dataclass(frozen=True)
class Lapse:
    """Consent to ``purpose`` given before version ``versions``'s first was recorded
    (``recorded_at``), or under another version text, stops counting at
    ``effective_at``: that version changed the purpose materially."""

    purpose: str
    effective_at: datetime
    recorded_at: datetime
    versions: frozenset[str]

    def voids(self, granted_at: datetime, policy_version: str, now: datetime) -> bool:
        """Does this lapse void a grant given at ``granted_at`` under ``policy_version``?"""
        if now < self.effective_at:
            return False
        return granted_at < self.recorded_at or policy_version not in self.versions
