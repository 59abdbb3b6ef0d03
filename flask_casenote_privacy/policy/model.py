"""The policy model: what a company promises, as data.

A :class:`Policy` is loaded from a TOML file (see ``docs/policy-file.md``) by
:func:`load_policy`, which reports every problem of the file at once.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal, TypeVar
from zoneinfo import ZoneInfo

from ..errors import UnknownPolicyId
from ..periods import Period, zone
from .service import Service, service_dict

if TYPE_CHECKING:  # contents.py builds on Text; the policy only refers to its types
    from .children import Children
    from .contents import Department, Overseas, Remedy, Rights, Safety

__all__ = [
    "BASES",
    "RECIPIENT_KINDS",
    "Controller",
    "Destruction",
    "Item",
    "Officer",
    "Policy",
    "Purpose",
    "Recipient",
    "RefusalGround",
    "RetentionClass",
    "Text",
]

Basis = Literal["consent", "contract", "legal_obligation", "legitimate_interest"]
BASES: tuple[str, ...] = ("consent", "contract", "legal_obligation", "legitimate_interest")
RecipientKind = Literal["outsourcing", "provision"]
RECIPIENT_KINDS: tuple[str, ...] = ("outsourcing", "provision")
COLLECTIONS: tuple[str, ...] = ("signup", "usage", "payment")


@dataclass(frozen=True)
class Text:
    """A piece of text in every language of the policy, e.g. ``{"ko": ..., "en": ...}``."""

    values: Mapping[str, str]

    def get(self, lang: str, fallback: str = "ko") -> str:
        if lang in self.values:
            return self.values[lang]
        if fallback in self.values:
            return self.values[fallback]
        return next(iter(self.values.values()), "")

    def to_dict(self) -> dict[str, str]:
        return dict(self.values)

    def __str__(self) -> str:
        return self.get("ko")


@dataclass(frozen=True)
class Controller:
    name: Text
    short_name: Text
    intro: Text | None = None
    homepage: str | None = None


@dataclass(frozen=True)
class Officer:
    """The privacy officer (개인정보 보호책임자)."""

    name: str
    email: str
    name_en: str | None = None
    title: Text | None = None
    phone: str | None = None


@dataclass(frozen=True)
class Item:
    """A kind of personal data, e.g. ``email`` or ``ip_address``.

    ``collection`` says when it arises: ``signup`` (entered to join),
    ``usage`` (generated while the service is used) or ``payment`` (entered
    at payment and handed to a recipient). ``stored = False`` marks data the
    controller passes on but never keeps.
    """

    id: str
    label: Text
    collection: str
    required: bool = False
    stored: bool = True
    description: Text | None = None


@dataclass(frozen=True)
class Purpose:
    id: str
    label: Text
    description: Text
    basis: Basis
    items: tuple[str, ...]
    statute: Text | None = None
    honours_gpc: bool = False
    #: What refusing an optional purpose means (PIPA §15②4); required when basis = consent.
    refusal_consequence: Text | None = None

    @property
    def needs_consent(self) -> bool:
        """Opt-in: off until the subject grants it."""
        return self.basis == "consent"

    @property
    def fingerprint(self) -> str:
        """Changes when the purpose's items change (old consent then lapses)."""
        return hashlib.sha256(",".join(sorted(self.items)).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class RetentionClass:
    """How long a kind of record is kept, and the law that says so.

    ``period`` is ``None`` for "until withdrawal" (membership data).
    """

    id: str
    label: Text
    period: Period | None
    statute: Text
    items: tuple[str, ...] = ()
    records: Text | None = None
    article: Text | None = None

    @property
    def until_withdrawal(self) -> bool:
        return self.period is None


@dataclass(frozen=True)
class Recipient:
    id: str
    name: Text
    kind: RecipientKind
    purpose: Text
    items: tuple[str, ...]
    retention: Text | None = None
    overseas: Overseas | None = None

    @property
    def relationship(self) -> str:
        """``provision`` (제3자 제공, PIPA §17) or ``entrustment`` (처리위탁, §26)."""
        return "provision" if self.kind == "provision" else "entrustment"


@dataclass(frozen=True)
class RefusalGround:
    """A ground to refuse a request, for the ``kinds`` of request its ``clause`` covers
    (policy/grounds.py). A ground of an old policy file has no clause, and covers
    processing stops and consent withdrawals only (PIPA Art. 37(2))."""

    id: str
    text: Text
    statute: Text | None = None
    kinds: tuple[str, ...] = ("stop", "withdraw")
    clause: str | None = None


@dataclass(frozen=True)
class Destruction:
    procedure: Text
    method: Text
    separate_storage: bool = True


@dataclass(frozen=True)
class Policy:
    """A whole privacy policy. Look entries up by id with :meth:`item`,
    :meth:`purpose`, :meth:`retention_class`, :meth:`recipient`."""

    version: str
    languages: tuple[str, ...]
    timezone: str
    controller: Controller
    officer: Officer
    items: tuple[Item, ...]
    purposes: tuple[Purpose, ...]
    retention: tuple[RetentionClass, ...]
    recipients: tuple[Recipient, ...]
    refusal_grounds: tuple[RefusalGround, ...]
    destruction: Destruction
    cookies: Text
    effective_date: str | None = None
    source: str | None = field(default=None, compare=False)
    # The mandatory contents of policy/contents.py (PIPA §30①5-6, decree §31①); the
    # loader requires each, ``remedies`` defaulting to contents.DEFAULT_REMEDIES.
    rights: Rights | None = None
    department: Department | None = None
    safety: Safety | None = None
    remedies: tuple[Remedy, ...] = ()
    children: Children | None = None  # [children]: 개인정보 보호법 제22조의2 (policy/children.py)
    service: Service = field(default_factory=Service)  # the [service] block (policy/service.py)

    @property
    def default_language(self) -> str:
        return self.languages[0]

    @cached_property
    def tz(self) -> ZoneInfo:
        return zone(self.timezone)

    # ``purpose(id)`` and friends raise UnknownPolicyId for an id the policy lacks;
    # ``find_purpose(id)`` and friends answer None, for callers that expect strays.
    def item(self, item_id: str) -> Item:
        return _get(self.items, item_id, "item")

    def purpose(self, purpose_id: str) -> Purpose:
        return _get(self.purposes, purpose_id, "purpose")

    def retention_class(self, class_id: str) -> RetentionClass:
        return _get(self.retention, class_id, "retention class")

    def recipient(self, recipient_id: str) -> Recipient:
        return _get(self.recipients, recipient_id, "recipient")

    def refusal_ground(self, ground_id: str) -> RefusalGround:
        return _get(self.refusal_grounds, ground_id, "refusal ground")

    def grounds_for(self, kind: str) -> tuple[RefusalGround, ...]:
        """The grounds on which a request of ``kind`` may be refused (or, for a
        deletion, on which records are kept)."""
        return tuple(g for g in self.refusal_grounds if kind in g.kinds)

    def find_purpose(self, purpose_id: str) -> Purpose | None:
        return _find(self.purposes, purpose_id)

    def find_retention_class(self, class_id: str) -> RetentionClass | None:
        return _find(self.retention, class_id)

    def find_recipient(self, recipient_id: str) -> Recipient | None:
        return _find(self.recipients, recipient_id)

    @property
    def consent_purposes(self) -> tuple[Purpose, ...]:
        return tuple(p for p in self.purposes if p.needs_consent)

    def purposes_using(self, item_id: str) -> tuple[Purpose, ...]:
        return tuple(p for p in self.purposes if item_id in p.items)

    def to_dict(self) -> dict[str, Any]:
        """The policy as the JSON of ``GET /privacy/policy.json``."""
        return _policy_dict(self)

    @cached_property
    def digest(self) -> str:
        """SHA-256 of the canonical JSON: identifies exactly this text of the policy."""
        canonical = json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()


E = TypeVar("E", Item, Purpose, RetentionClass, Recipient, RefusalGround)


def _find(entries: tuple[E, ...], entry_id: str) -> E | None:
    for entry in entries:
        if entry.id == entry_id:
            return entry
    return None


def _get(entries: tuple[E, ...], entry_id: str, what: str) -> E:
    found = _find(entries, entry_id)
    if found is None:
        raise UnknownPolicyId(what, entry_id)
    return found


def _text(value: Text | None) -> dict[str, str] | None:
    return None if value is None else value.to_dict()


def _policy_dict(policy: Policy) -> dict[str, Any]:
    c, o, d = policy.controller, policy.officer, policy.destruction
    return {
        "version": policy.version,
        "effective_date": policy.effective_date,
        "languages": list(policy.languages),
        "timezone": policy.timezone,
        "controller": {
            "name": _text(c.name),
            "short_name": _text(c.short_name),
            "intro": _text(c.intro),
            "homepage": c.homepage,
        },
        "officer": {
            "name": o.name,
            "name_en": o.name_en,
            "email": o.email,
            "title": _text(o.title),
            "phone": o.phone,
        },
        "items": [
            {
                "id": i.id,
                "label": _text(i.label),
                "collection": i.collection,
                "required": i.required,
                "stored": i.stored,
                "description": _text(i.description),
            }
            for i in policy.items
        ],
        "purposes": [
            {
                "id": p.id,
                "label": _text(p.label),
                "description": _text(p.description),
                "basis": p.basis,
                "statute": _text(p.statute),
                "items": list(p.items),
                "requires_consent": p.needs_consent,
                "honours_gpc": p.honours_gpc,
                "refusal_consequence": _text(p.refusal_consequence),
            }
            for p in policy.purposes
        ],
        "retention": [
            {
                "id": r.id,
                "label": _text(r.label),
                "period": None if r.period is None else r.period.iso,
                "until_withdrawal": r.until_withdrawal,
                "statute": _text(r.statute),
                "article": _text(r.article),
                "items": list(r.items),
                "records": _text(r.records),
            }
            for r in policy.retention
        ],
        "recipients": [
            {
                "id": r.id,
                "name": _text(r.name),
                "kind": r.kind,
                "relationship": r.relationship,
                "purpose": _text(r.purpose),
                "items": list(r.items),
                "retention": _text(r.retention),
                "overseas": None
                if r.overseas is None
                else {"country": _text(r.overseas.country), "method": _text(r.overseas.method)},
            }
            for r in policy.recipients
        ],
        "refusal_grounds": [
            {"id": g.id, "text": _text(g.text), "statute": _text(g.statute), "kinds": list(g.kinds), "clause": g.clause}
            for g in policy.refusal_grounds
        ],
        "destruction": {
            "procedure": _text(d.procedure),
            "method": _text(d.method),
            "separate_storage": d.separate_storage,
        },
        "cookies": _text(policy.cookies),
        **_contents_dict(policy),
        **({} if policy.children is None else {"children": policy.children.to_dict()}),
    } | ({"service": service_dict(policy.service)} if service_dict(policy.service) else {})


def _contents_dict(policy: Policy) -> dict[str, Any]:
    r, d, s = policy.rights, policy.department, policy.safety
    return {
        "rights": None if r is None else {"channels": _text(r.channels), "representative": _text(r.representative)},
        "department": None if d is None else {"name": _text(d.name), "phone": d.phone, "email": d.email},
        "safety": None if s is None else {"measures": [_text(m) for m in s.measures]},
        "remedies": [{"id": x.id, "name": _text(x.name), "phone": x.phone, "url": x.url} for x in policy.remedies],
    }
