"""Loading and validating a policy file (TOML), reporting every problem at once.

``load_policy("casenote")`` loads a bundled preset; any other value is a path.
The format is documented in ``docs/policy-file.md``.
"""

from __future__ import annotations

import re
import sys
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from ..errors import PolicyError
from ..periods import Period, PeriodError, parse_period, zone
from .children import parse_children
from .contents import ContentsReader
from .grounds import LEGACY_KINDS, clause_problems
from .model import (
    BASES,
    COLLECTIONS,
    Controller,
    Destruction,
    Item,
    Officer,
    Policy,
    Purpose,
    Recipient,
    RefusalGround,
    RetentionClass,
    Text,
)
from .service import read_service
from .validation import ID_PATTERN, is_placeholder, placeholders

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

__all__ = [
    "PolicyError",
    "available_presets",
    "check_policy",
    "load_policy",
    "parse_policy",
    "starter_policy",
]

T = TypeVar("T")
UNTIL_WITHDRAWAL = "until withdrawal"
_ID = ID_PATTERN
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def available_presets() -> list[str]:
    """Names of the bundled presets (``casenote``)."""
    folder = resources.files("flask_casenote_privacy") / "presets"
    return sorted(p.name[: -len(".toml")] for p in folder.iterdir() if p.name.endswith(".toml"))


def load_policy(source: str | Path) -> Policy:
    """Load a bundled preset by name, or a policy file by path.

    Raises :class:`PolicyError` listing every problem.
    """
    name = str(source)
    if isinstance(source, str) and _ID.match(source):
        if source not in available_presets():
            raise PolicyError(
                repr(source),
                [
                    f"unknown preset {source!r}; bundled presets: {', '.join(available_presets())} "
                    "(or give the path of a .toml policy file)"
                ],
            )
        text = (resources.files("flask_casenote_privacy") / "presets" / f"{source}.toml").read_text(encoding="utf-8")
        return parse_policy(text, source=f"preset {source!r}")
    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(name, [f"cannot read the policy file: {exc.strerror or exc}"]) from exc
    except UnicodeDecodeError as exc:
        raise PolicyError(name, [f"the policy file is not UTF-8: {exc}"]) from exc
    return parse_policy(text, source=name)


def check_policy(source: str | Path) -> list[str]:
    """Every problem of a policy file (an empty list when it is valid)."""
    try:
        load_policy(source)
    except PolicyError as exc:
        return exc.problems
    return []


def parse_policy(text: str, source: str = "<string>") -> Policy:
    """Build a :class:`Policy` from TOML text, or raise :class:`PolicyError`."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(source, [f"not valid TOML: {exc}"]) from exc
    reader = _Reader(data)
    policy = reader.policy(source)
    problems = placeholders(data) + reader.problems
    if problems or policy is None:
        raise PolicyError(source, problems)
    return policy


def starter_policy() -> str:
    """The text of a starter policy file: the ``casenote`` preset's structure with
    every company fact a ``<<FILL IN: ...>>`` placeholder, which :func:`parse_policy`
    refuses, naming each, until it is filled in."""
    starter = resources.files("flask_casenote_privacy") / "presets" / "starter.toml.template"
    return starter.read_text(encoding="utf-8")


class _Reader(ContentsReader):
    """Walks the TOML document section by section."""

    # -- sections --------------------------------------------------------
    def policy(self, source: str) -> Policy | None:
        top_keys = {
            "version",
            "effective_date",
            "languages",
            "timezone",
            "controller",
            "officer",
            "items",
            "purposes",
            "retention",
            "recipients",
            "refusal_grounds",
            "destruction",
            "cookies",
            "rights",
            "department",
            "safety",
            "remedies",
            "children",
            "service",
        }
        data = self.table(
            "policy",
            self.data,
            top_keys,
            ["version", "controller", "officer", "items", "purposes", "retention", "destruction", "cookies"],
        )
        self.mandatory(data)
        langs = data.get("languages", ["ko", "en"])
        if not isinstance(langs, list) or not langs or not all(isinstance(x, str) and x for x in langs):
            self.problem("languages", 'must be a non-empty list of language codes, e.g. ["ko", "en"]')
        else:
            self.languages = tuple(langs)
        version = self.string("version", data.get("version", ""))
        effective = data.get("effective_date")
        if effective is not None and not is_placeholder(effective):
            effective = str(effective)
            try:
                if not _DATE.match(effective):
                    raise ValueError(effective)
                date.fromisoformat(effective)
            except ValueError:
                self.problem("effective_date", f"{effective!r} is not a date (YYYY-MM-DD)")
        tz_name = data.get("timezone", "Asia/Seoul")
        if not isinstance(tz_name, str):
            self.problem("timezone", f"must be an IANA time zone name such as 'Asia/Seoul', not {tz_name!r}")
        else:
            try:
                zone(tz_name)
            except PeriodError as exc:
                self.problem("timezone", str(exc))

        items = self.entries(
            "items",
            {"label", "collection", "required", "stored", "description"},
            {"label", "collection"},
            self.item,
        )
        item_ids = {i.id for i in items}
        purposes = self.entries(
            "purposes",
            {"label", "description", "basis", "items", "statute", "gpc", "refusal_consequence"},
            {"label", "description", "basis", "items"},
            lambda w, e: self.purpose(w, e, item_ids),
        )
        retention = self.entries(
            "retention",
            {"label", "period", "statute", "article", "items", "records"},
            {"label", "period", "statute"},
            lambda w, e: self.retention_class(w, e, item_ids),
        )
        recipients = self.entries(
            "recipients",
            {"name", "kind", "relationship", "purpose", "items", "retention", "overseas"},
            {"name", "purpose", "items"},
            lambda w, e: self.recipient(w, e, item_ids),
        )
        grounds = self.entries("refusal_grounds", {"text", "statute", "kinds", "clause"}, {"text"}, self.ground)
        self.cross_checks(items, purposes, retention)
        controller = self.controller(data.get("controller", {}))
        officer = self.officer(data.get("officer", {}))
        destruction = self.destruction(data.get("destruction", {}))
        cookies = self.cookies(data.get("cookies", {}))
        rights = self.rights(data.get("rights"))
        department = self.department(data.get("department"))
        safety = self.safety(data.get("safety"))
        remedies = self.remedies(data)
        children = parse_children(self, data.get("children"), {i.id: i.collection for i in items})
        service = read_service(self, data.get("service", {}))
        if self.problems:
            return None
        return Policy(
            version=version,
            languages=self.languages,
            timezone=tz_name,
            controller=controller,
            officer=officer,
            items=items,
            purposes=purposes,
            retention=retention,
            recipients=recipients,
            refusal_grounds=grounds,
            destruction=destruction,
            cookies=cookies,
            effective_date=effective,
            source=source,
            rights=rights,
            department=department,
            safety=safety,
            remedies=remedies,
            children=children,
            service=service,
        )

    def controller(self, raw: Any) -> Controller:
        d = self.table("controller", raw, {"name", "short_name", "intro", "homepage"}, ["name"])
        name = self.text("controller.name", d.get("name"))
        return Controller(
            name=name,
            short_name=self.text("controller.short_name", d["short_name"]) if "short_name" in d else name,
            intro=self.optional_text("controller.intro", d.get("intro")),
            homepage=d.get("homepage"),
        )

    def officer(self, raw: Any) -> Officer:
        d = self.table("officer", raw, {"name", "name_en", "email", "title", "phone"}, ["name", "email"])
        return Officer(
            name=self.string("officer.name", d.get("name")),
            email=self.string("officer.email", d.get("email"), pattern=_EMAIL, hint=" (an email address)"),
            name_en=d.get("name_en"),
            title=self.optional_text("officer.title", d.get("title")),
            phone=d.get("phone"),
        )

    def item(self, where: str, e: dict[str, Any]) -> Item:
        return Item(
            id=e["id"],
            label=self.text(f"{where}.label", e.get("label")),
            collection=self.choice(f"{where}.collection", e.get("collection"), COLLECTIONS),
            required=self.boolean(f"{where}.required", e.get("required", False)),
            stored=self.boolean(f"{where}.stored", e.get("stored", True)),
            description=self.optional_text(f"{where}.description", e.get("description")),
        )

    def purpose(self, where: str, e: dict[str, Any], item_ids: set[str]) -> Purpose:
        basis = self.choice(f"{where}.basis", e.get("basis"), BASES)
        gpc = self.boolean(f"{where}.gpc", e.get("gpc", False))
        if gpc and basis != "consent":
            self.problem(f"{where}.gpc", "only a purpose whose basis is 'consent' can honour Sec-GPC")
        return Purpose(
            id=e["id"],
            label=self.text(f"{where}.label", e.get("label")),
            description=self.text(f"{where}.description", e.get("description")),
            basis=basis,
            items=self.id_list(f"{where}.items", e.get("items"), item_ids, "item"),
            statute=self.optional_text(f"{where}.statute", e.get("statute")),
            honours_gpc=gpc,
            refusal_consequence=self.refusal_consequence(where, e, basis),
        )

    def retention_class(self, where: str, e: dict[str, Any], item_ids: set[str]) -> RetentionClass:
        raw_period = e.get("period")
        period: Period | None = None
        if raw_period != UNTIL_WITHDRAWAL and "period" in e:
            try:
                period = parse_period(str(raw_period))
            except PeriodError as exc:
                self.problem(f"{where}.period", f'{exc} (or "{UNTIL_WITHDRAWAL}")')
        if "items" not in e and "records" not in e:
            self.problem(where, "must say what it covers: 'items', 'records' or both")
        return RetentionClass(
            id=e["id"],
            label=self.text(f"{where}.label", e.get("label")),
            period=period,
            statute=self.text(f"{where}.statute", e.get("statute")),
            article=self.optional_text(f"{where}.article", e.get("article")),
            items=self.id_list(f"{where}.items", e.get("items", []), item_ids, "item", non_empty=False),
            records=self.optional_text(f"{where}.records", e.get("records")),
        )

    def recipient(self, where: str, e: dict[str, Any], item_ids: set[str]) -> Recipient:
        return Recipient(
            id=e["id"],
            name=self.text(f"{where}.name", e.get("name")),
            kind=self.relationship(where, e),  # type: ignore[arg-type]
            purpose=self.text(f"{where}.purpose", e.get("purpose")),
            items=self.id_list(f"{where}.items", e.get("items"), item_ids, "item"),
            retention=self.optional_text(f"{where}.retention", e.get("retention")),
            overseas=self.overseas(where, e.get("overseas")),
        )

    def ground(self, where: str, e: dict[str, Any]) -> RefusalGround:
        """A refusal ground: with ``kinds`` and ``clause`` (both, checked against each
        other), or neither (an old file: §37② grounds, for stop and withdraw)."""
        kinds, clause = e.get("kinds"), e.get("clause")
        if kinds is None and clause is None:
            kinds = list(LEGACY_KINDS)
        elif not isinstance(kinds, list) or not kinds or not all(isinstance(k, str) for k in kinds):
            self.problem(f"{where}.kinds", 'must be a non-empty list of request kinds, e.g. ["stop", "withdraw"]')
            kinds = []
        elif clause is not None and not isinstance(clause, str):
            self.problem(f"{where}.clause", f'must be text such as "37-2-1", not {clause!r}')
        else:
            for problem in clause_problems(tuple(kinds), clause):
                self.problem(where, problem)
        return RefusalGround(
            e["id"],
            self.text(f"{where}.text", e.get("text")),
            self.optional_text(f"{where}.statute", e.get("statute")),
            kinds=tuple(kinds),
            clause=clause if isinstance(clause, str) else None,
        )

    def destruction(self, raw: Any) -> Destruction:
        d = self.table("destruction", raw, {"procedure", "method", "separate_storage"}, ["procedure", "method"])
        return Destruction(
            procedure=self.text("destruction.procedure", d.get("procedure")),
            method=self.text("destruction.method", d.get("method")),
            separate_storage=self.boolean("destruction.separate_storage", d.get("separate_storage", True)),
        )

    def cookies(self, raw: Any) -> Text:
        d = self.table("cookies", raw, {"text"}, ["text"])
        return self.text("cookies.text", d.get("text"))

    def cross_checks(
        self, items: tuple[Item, ...], purposes: tuple[Purpose, ...], retention: tuple[RetentionClass, ...]
    ) -> None:
        kept = {i for r in retention for i in r.items}
        for item in items:
            if item.stored and item.id not in kept:
                self.problem(
                    f"items ({item.id})",
                    "a stored item needs a retention class that lists it (or set stored = false)",
                )
            if not item.stored and item.id in kept:
                self.problem(f"items ({item.id})", "an item that is not stored cannot have a retention class")
        used = {i for p in purposes for i in p.items}
        for item in items:
            if item.stored and item.id not in used:
                self.problem(f"items ({item.id})", "no purpose uses this item; personal data needs a purpose")
