"""The policy's ``[service]`` block: facts about the service that decide what the
law asks of it. Today one: how many data subjects it holds, which decides how long
operator access records (접속기록) are kept.

개인정보의 안전성 확보조치 기준 §8 ①: access records are kept at least one year, and at
least two years where the controller processes the personal information of 50,000
or more data subjects (or unique identifying or sensitive information).

.. code-block:: toml

    [service]
    subjects_at_least = 50000   # or: large_scale = true
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..periods import Period, parse_period

__all__ = ["LARGE_SCALE_SUBJECTS", "Service", "read_service", "service_dict"]

LARGE_SCALE_SUBJECTS = 50_000  # 안전성 확보조치 기준 §8 ① 단서


@dataclass(frozen=True)
class Service:
    """``subjects_at_least``: a lower bound of the number of data subjects held;
    ``large_scale``: said outright (unique identifiers or sensitive information too)."""

    subjects_at_least: int | None = None
    large_scale: bool = False

    @property
    def requires_two_years(self) -> bool:
        return self.large_scale or (self.subjects_at_least or 0) >= LARGE_SCALE_SUBJECTS

    @property
    def access_record_period(self) -> Period:
        """The shortest period the law allows for operator access records."""
        return parse_period("P2Y" if self.requires_two_years else "P1Y")


def read_service(reader: Any, raw: Any) -> Service:
    """Read the block with the loader's problem collector (``validation.ProblemCollector``)."""
    data = reader.table("service", raw, {"subjects_at_least", "large_scale"}, [])
    count = data.get("subjects_at_least")
    if count is not None and (not isinstance(count, int) or isinstance(count, bool) or count < 0):
        reader.problem("service.subjects_at_least", f"{count!r} must be a whole number of data subjects")
        count = None
    large = data.get("large_scale", False)
    if not isinstance(large, bool):
        reader.problem("service.large_scale", f"{large!r} must be true or false")
        large = False
    return Service(count, large)


def service_dict(service: Service) -> dict[str, Any] | None:
    """The block in the policy's JSON; None (left out) when the file has none, so the
    digest of a policy without it does not change."""
    if service == Service():
        return None
    return {"subjects_at_least": service.subjects_at_least, "large_scale": service.large_scale}
