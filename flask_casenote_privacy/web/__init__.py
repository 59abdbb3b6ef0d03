"""The web face of the extension: the ``privacy`` blueprint and its views."""

from .blueprint import create_blueprint

__all__ = ["create_blueprint"]
