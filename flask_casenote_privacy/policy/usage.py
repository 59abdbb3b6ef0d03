"""What the extension itself asks of a valid policy: the retention classes it files
its own records under (the access log, the provision ledger) exist and have a
period. ``init_app`` (config/) and ``flask privacy policy check`` both report these."""

from __future__ import annotations

from .model import Policy

__all__ = ["CAPTURE_RETENTION", "PROVISION_RETENTION", "usage_problems"]

#: The retention classes the extension itself files records under, by the
#: configuration key that names each, with its default (``config.DEFAULTS``).
CAPTURE_RETENTION = "access_log"  # PRIVACY_CAPTURE_RETENTION: the access log
PROVISION_RETENTION = "payment_record"  # PRIVACY_PROVISION_RETENTION: the provision ledger


def usage_problems(
    policy: Policy,
    *,
    capture_retention: str = CAPTURE_RETENTION,
    provision_retention: str = PROVISION_RETENTION,
) -> list[tuple[str, str]]:
    """What the extension asks of a valid policy, as ``(config key, problem)`` pairs.

    The one owner of these rules: ``init_app`` (``config.read_settings``) and
    ``flask privacy policy check`` both report exactly these, once each.
    """
    found: list[tuple[str, str]] = []
    known = ", ".join(r.id for r in policy.retention)
    for key, class_id, what in (
        ("PRIVACY_CAPTURE_RETENTION", capture_retention, "access logs"),
        ("PRIVACY_PROVISION_RETENTION", provision_retention, "provision records"),
    ):
        retention = policy.find_retention_class(class_id) if isinstance(class_id, str) else None
        if retention is None:
            problem = f"{class_id!r} is not a retention class of the policy (it has: {known})"
            found.append((key, f"{problem}; {what} are kept under it"))
        elif retention.period is None:
            found.append((key, f"retention class {class_id!r} has no period; {what} need one"))
    return found
