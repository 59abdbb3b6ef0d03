"""The single-use withdrawal link (policy section 6): asked for by email, read
back when the member follows it. The token is made when the mail is sent
(rights/notifications.py), so it never waits anywhere at rest."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..addresses import normal_address
from ..errors import TokenError
from ..signing import WithdrawLink
from .limits import hit
from .outbox import LINK_LOOKUP, tell

if TYPE_CHECKING:
    from ..services import Services

__all__ = ["read_withdraw_link", "request_withdraw_link"]


def request_withdraw_link(services: Services, email: str, client: str | None) -> None:
    """Ask for a single-use withdrawal link for ``email`` (the member's, if any).

    Rate-limited per address and per client (:class:`RateLimited`). Whether a
    member has that address is decided when the mail is sent, from the outbox:
    the answer takes the same time for members and for anyone else.
    """
    limits = services.settings.link_limits
    hit(services, f"address:{normal_address(email) or email}", limits.per_address)
    if client is not None:
        hit(services, f"client:{client}", limits.per_client)
    tell(services, LINK_LOOKUP, recipient=email)


def read_withdraw_link(services: Services, token: str) -> WithdrawLink:
    """The link's content, if it can still be used: signed by us, not expired, not
    used, and its member has not left (a departed member's link must never reach a
    new member given the same host id). :class:`TokenError` otherwise."""
    link = services.withdraw_tokens.read(token)
    services.withdraw_tokens.check_unused(services.databases.main, link)
    if services.is_departed(link.subject):
        raise TokenError("invalid")
    return link
