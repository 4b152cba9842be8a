"""quantdesk: an investment decision-support platform.

The package is organised in layers (see ``DESIGN.md`` in the documentation): ``core`` and
``domain`` at the bottom, compute and ports above them, adapters and services next, and the
``runtime`` composition root with the ``api`` and ``cli`` interfaces on top.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
