"""Tables of the archive database: the separate DB of policy section 5 (분리보관).

Records arrive here only when the law makes the controller keep them after
their purpose ended; each capability adds its tables with a migration in
``migrations/archive/versions``.
"""

from __future__ import annotations

from sqlalchemy import MetaData

__all__ = ["metadata"]

metadata = MetaData()
