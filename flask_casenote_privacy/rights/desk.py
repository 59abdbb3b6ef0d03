"""The privacy officer's desk: every task an operator does with members' data, for
the officer pages and the CLI alike. Each task writes its operator access record
(PIPA Art. 29, 안전성 확보조치 기준 §8) here, once, so no caller can forget it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidRequest
from ..services import Services
from . import objections, records, requests
from .audit import record_operator_access
from .export import export_subject
from .identity import Identity
from .postpone import postpone_request

__all__ = [
    "Operator",
    "complete",
    "decide_objection",
    "export",
    "export_reason",
    "list_requests",
    "object_to",
    "postpone",
    "refuse",
    "register",
    "view_request",
]


@dataclass(frozen=True)
class Operator:
    """Who does a task, from where, and through which door (``web`` or ``cli``)."""

    name: str
    ip: str | None = None
    channel: str = "web"


def resolve(services: Services, subject: Any, by_host_id: Callable[[str], str]) -> Any:
    """What an operator typed: an identity as the request list shows it
    ("41#2-3fa9c1d2"), or the host's id ("41"), looked up with ``by_host_id``: the
    member who has it now for a new request, the one who has or last had it for an
    export. Anything that is not a valid id is passed on, for the service to refuse."""
    if not requests.valid_subject(subject):
        return subject
    if "#" in subject and services.host_of(subject) != subject:
        return subject
    return by_host_id(subject)


def _audit(services: Services, operator: Operator, task: str, subject: str | None, reason: str | None = None) -> None:
    suffix = " (cli)" if operator.channel == "cli" else ""
    record_operator_access(
        services, operator=operator.name, task=task + suffix, subject=subject, ip=operator.ip, reason=reason
    )


def export_reason(reason: Any) -> str:
    """An export or download of a member's data needs its reason, checked before
    anything is read (안전성 확보조치 기준 §8 ②: the reason of a download is checked)."""
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidRequest("reason: say why the member's data is exported (e.g. the request id it answers)")
    if len(reason) > 1000:
        raise InvalidRequest("reason: at most 1000 characters")
    return reason.strip()


def list_requests(services: Services, operator: Operator) -> list[dict[str, Any]]:
    rows = records.list_requests(services)
    _audit(services, operator, "list requests", None)
    return rows


def view_request(services: Services, request_id: str, operator: Operator) -> dict[str, Any]:
    req = records.get_request(services, request_id)
    _audit(services, operator, f"view request {request_id}", req["subject"])
    return req


def register(
    services: Services,
    operator: Operator,
    *,
    subject: Any,
    identity_check: Any = None,
    requester: Any = None,
    agent_reference: Any = None,
    **fields: Any,
) -> dict[str, Any]:
    """Intake of a written or emailed request (see :func:`.requests.register_request`):
    ``subject`` is the host's id of the member who has it now; ``identity_check``,
    ``requester`` and ``agent_reference`` how the officer knew who asked (rights/identity.py)."""
    identity = resolve(services, subject, services.identity_of)
    checked = Identity(identity_check, requester, agent_reference)
    req = requests.register_request(services, subject=identity, registered_by=operator.name, identity=checked, **fields)
    _audit(services, operator, f"register {req['kind']} request {req['id']}", req["subject"])
    return req


def complete(
    services: Services,
    request_id: str,
    operator: Operator,
    *,
    values: dict[str, Any] | None = None,
    by_hand: bool = False,
) -> dict[str, Any]:
    """Carry out a request; ``values`` are a correction's new values, used and never
    stored; ``by_hand``: the officer corrected the data themselves."""
    req = requests.complete_request(services, request_id, officer=operator.name, values=values, by_hand=by_hand)
    _audit(services, operator, f"complete request {request_id}", req["subject"])
    return req


def refuse(
    services: Services,
    request_id: str,
    operator: Operator,
    *,
    ground: str,
    reason: str,
    withheld: list[str] | None = None,
) -> dict[str, Any]:
    req = requests.refuse_request(
        services, request_id, ground=ground, reason=reason, officer=operator.name, withheld=withheld
    )
    task = "limit" if withheld else "refuse"
    _audit(services, operator, f"{task} request {request_id}", req["subject"])
    return req


def postpone(services: Services, request_id: str, operator: Operator, *, until: Any, reason: Any) -> dict[str, Any]:
    req = postpone_request(services, request_id, until=until, reason=reason, officer=operator.name)
    _audit(services, operator, f"postpone request {request_id}", req["subject"])
    return req


def object_to(
    services: Services, request_id: str, operator: Operator, *, statement: Any, channel: Any
) -> dict[str, Any]:
    """The officer's intake of a written or emailed objection."""
    req = objections.object_to_request(
        services, request_id, statement=statement, channel=channel, registered_by=operator.name
    )
    _audit(services, operator, f"register objection to request {request_id}", req["subject"])
    return req


def decide_objection(
    services: Services,
    request_id: str,
    operator: Operator,
    *,
    decision: Any,
    reason: Any,
    values: dict[str, Any] | None = None,
    by_hand: bool = False,
) -> dict[str, Any]:
    """Upholding an objection to a refused correction takes its ``values`` (or ``by_hand``)."""
    req = objections.decide_objection(
        services,
        request_id,
        decision=decision,
        reason=reason,
        officer=operator.name,
        values=values,
        by_hand=by_hand,
    )
    _audit(services, operator, f"decide objection to request {request_id}", req["subject"])
    return req


def export(services: Services, subject: str, operator: Operator, *, reason: Any) -> dict[str, Any]:
    why = export_reason(reason)
    data = export_subject(services, resolve(services, subject, services.latest_identity))
    _audit(services, operator, "export subject data", subject, why)
    return data
