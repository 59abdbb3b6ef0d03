"""The policy's history: ``/policy/history`` (every version, with what changed from
the one before) and ``/policy?version=<id>`` (an old version's page). Parse and
format only; the versions come from ``storage/policy_history.py``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, jsonify, request, url_for

from ..errors import InvalidRequest, NotFound, PolicyError
from ..policy.diff import grouped
from ..policy.document import policy_from_document
from ..policy.model import Policy
from ..services import Services
from ..storage.policy_history import diff_versions, find_version, list_versions
from .http import render_page, wants_json

__all__ = ["add_history_routes", "lang_arg", "requested_version"]


def lang_arg(services: Services) -> str | None:
    """``?lang=`` to carry into a link: none for the default language (one URL per page)."""
    lang = request.args.get("lang")
    return None if lang == services.settings.default_language else lang


def requested_version(services: Services) -> Policy | None:
    """The policy of ``?version=<id>``; ``None`` without the parameter. 400 for a
    malformed id, 404 for one never recorded."""
    raw = request.args.get("version")
    if raw is None:
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9:
        raise InvalidRequest(f"version: expected the number of a recorded version, not {raw[:40]!r}")
    version = find_version(services.databases.main, int(raw))
    if version is None:
        raise NotFound(f"no policy version {int(raw)}; see {url_for('privacy.policy_history')} for every version")
    try:
        return policy_from_document(version.document, source=f"policy version {version.id}")
    except PolicyError as exc:  # stored by a later release of the extension
        raise NotFound(f"policy version {version.id} cannot be shown by this release: {exc.message}") from None


def history_entries(services: Services, lang: str) -> list[dict[str, Any]]:
    """Every version, newest first, each with the changes from the one before."""
    versions = list_versions(services.databases.main)
    entries = []
    for index, version in enumerate(versions):
        diff = diff_versions(versions[index - 1], version) if index else None
        entries.append(
            {
                **version.summary(),
                "current": version.digest == services.policy.digest,
                "url": url_for("privacy.policy_page", version=version.id, lang=lang_arg(services)),
                "diff": None if diff is None else diff.to_dict(),
                "changes": [] if diff is None else grouped(diff, lang),
                "lapsing": [] if diff is None else sorted(diff.lapsing),
                "material": bool(diff and diff.material),
            }
        )
    return entries[::-1]


def add_history_routes(bp: Blueprint, services: Services, *, language: Callable[[], str]) -> None:
    @bp.get("/policy/history")
    def policy_history() -> Any:
        """Every version of the policy with its effective date and what changed."""
        lang = language()
        entries = history_entries(services, lang)
        if wants_json():
            return jsonify(versions=[{k: v for k, v in e.items() if k != "changes"} for e in entries])
        return render_page(
            "privacy/policy_history.html",
            lang,
            versions=entries,
            controller=services.policy.controller.name.get(lang),
            other_lang=next((x for x in services.policy.languages if x != lang), None),
            policy_url=url_for("privacy.policy_page", lang=lang_arg(services)),
        )
