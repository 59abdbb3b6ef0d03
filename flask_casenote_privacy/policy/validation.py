"""Reading untrusted TOML values while collecting every problem (the policy loader's primitives)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from .model import Text

__all__ = ["ID_PATTERN", "PLACEHOLDER", "ProblemCollector", "is_placeholder", "placeholders"]

T = TypeVar("T")
ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_ID = ID_PATTERN
#: How a starter policy (``flask privacy policy init``) marks a fact to fill in.
PLACEHOLDER = "<<FILL IN"


def is_placeholder(value: Any) -> bool:
    return isinstance(value, str) and PLACEHOLDER in value


def placeholders(value: Any, where: str = "") -> list[str]:
    """A problem for each placeholder left in a TOML document, named by its key path."""
    found: list[str] = []
    if is_placeholder(value):
        found.append(f"{where}: still a placeholder to fill in ({value})")
    elif isinstance(value, dict):
        for key, inner in value.items():
            found += placeholders(inner, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            entry_id = inner.get("id") if isinstance(inner, dict) else None
            label = f" ({entry_id})" if isinstance(entry_id, str) else ""
            found += placeholders(inner, f"{where}[{index}]{label}")
    return found


class ProblemCollector:
    """Reads untrusted TOML values, collecting problems instead of stopping at the first."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.problems: list[str] = []
        self.languages: tuple[str, ...] = ("ko", "en")

    def problem(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    # -- primitives ------------------------------------------------------
    def table(self, where: str, value: Any, allowed: Iterable[str], required: Iterable[str]) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.problem(where, f"must be a table, not {type(value).__name__}")
            return {}
        for key in sorted(set(value) - set(allowed)):
            self.problem(where, f"unknown key {key!r} (allowed: {', '.join(sorted(allowed))})")
        for key in required:
            if key not in value:
                self.problem(where, f"missing required key {key!r}")
        return value

    def string(self, where: str, value: Any, *, pattern: re.Pattern[str] | None = None, hint: str = "") -> str:
        if not isinstance(value, str) or not value.strip():
            self.problem(where, "must be a non-empty string")
            return ""
        if pattern is not None and not pattern.match(value) and not is_placeholder(value):
            self.problem(where, f"{value!r} is not valid{hint}")
        return value

    def boolean(self, where: str, value: Any) -> bool:
        if not isinstance(value, bool):
            self.problem(where, "must be true or false")
            return False
        return value

    def choice(self, where: str, value: Any, choices: tuple[str, ...]) -> Any:
        if value not in choices:
            self.problem(where, f"{value!r} is not one of {', '.join(choices)}")
        return value

    def text(self, where: str, value: Any) -> Text:
        if isinstance(value, str) and value.strip():
            return Text({lang: value for lang in self.languages})
        if not isinstance(value, dict):
            self.problem(where, 'must be a string or a table of languages such as {ko = "...", en = "..."}')
            return Text({})
        for lang in self.languages:
            if not isinstance(value.get(lang), str) or not value[lang].strip():
                self.problem(where, f"missing the {lang!r} text")
        for lang in sorted(set(value) - set(self.languages)):
            self.problem(where, f"language {lang!r} is not in the policy's languages {list(self.languages)}")
        return Text({lang: value[lang] for lang in self.languages if isinstance(value.get(lang), str)})

    def optional_text(self, where: str, value: Any) -> Text | None:
        return None if value is None else self.text(where, value)

    def id_list(self, where: str, value: Any, known: set[str], what: str, *, non_empty: bool = True) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.problem(where, f"must be a list of {what} ids")
            return ()
        if non_empty and not value:
            self.problem(where, f"must name at least one {what}")
        for entry in value:
            if entry not in known:
                self.problem(where, f"unknown {what} {entry!r} (declared: {', '.join(sorted(known)) or 'none'})")
        if len(set(value)) != len(value):
            self.problem(where, f"names the same {what} twice")
        return tuple(value)

    def entries(
        self, key: str, allowed: set[str], required: set[str], build: Callable[[str, dict[str, Any]], T]
    ) -> tuple[T, ...]:
        raw = self.data.get(key, [])
        if not isinstance(raw, list):
            self.problem(key, f"must be an array of tables ([[{key}]])")
            return ()
        seen: set[str] = set()
        built: list[T] = []
        for index, entry in enumerate(raw):
            entry_id = entry.get("id") if isinstance(entry, dict) else None
            where = f"{key}[{index}]" + (f" ({entry_id})" if isinstance(entry_id, str) else "")
            entry = self.table(where, entry, allowed | {"id"}, required | {"id"})
            if "id" in entry:
                self.string(f"{where}.id", entry["id"], pattern=_ID, hint=" (use lower_snake_case)")
                if isinstance(entry["id"], str):  # a non-string id is already reported above
                    if entry["id"] in seen:
                        self.problem(where, f"duplicate id {entry['id']!r}")
                    seen.add(entry["id"])
            if entry:
                # An entry without a usable id (already reported) still gets its fields
                # checked, but stays out of the cross-checks.
                has_id = isinstance(entry.get("id"), str)
                value = build(where, entry if has_id else {**entry, "id": ""})
                if has_id:
                    built.append(value)
        return tuple(built)
