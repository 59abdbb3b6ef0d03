"""``Privacy``'s methods for a member's rights in host code (kept here, as
rights/guardians.py keeps ``ChildrenFacade``: the extension module is the wiring).
Each takes the host's subject id and calls the service function it names."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import requests
from .export import export_subject
from .provisions import record_provision

if TYPE_CHECKING:
    from ..services import Services

__all__ = ["RightsFacade"]


class RightsFacade:
    """Provisions, access exports and requests, for the current app."""

    if TYPE_CHECKING:  # Privacy.services gives the current app's

        @property
        def services(self) -> Services: ...

    def record_provision(self, subject: str, *, recipient: str, items: list[str]) -> dict[str, Any]:
        """Record a handover of personal data to a recipient of the policy (section 3)."""
        services = self.services
        return record_provision(services, services.identity_of(str(subject)), recipient=recipient, items=items)

    def export(self, subject: str) -> dict[str, Any]:
        """Everything held about ``subject`` (the 열람 of PIPA Art. 35), as JSON-ready data."""
        services = self.services
        return export_subject(services, services.latest_identity(str(subject)))

    def register_request(self, **fields: Any) -> dict[str, Any]:
        """Register a data-subject request (see :func:`~.rights.requests.register_request`);
        ``subject`` is the host's id of the member who has it now."""
        services = self.services
        subject = fields.pop("subject", None)
        if isinstance(subject, str) and requests.valid_subject(subject):
            subject = services.identity_of(subject)
        return requests.register_request(services, subject=subject, **fields)
