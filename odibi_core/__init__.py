"""odibi_core: a small data pipeline framework built step by step in the odibi course.

The framework's modules arrive lesson by lesson (see the course issues); this
package root only carries the version.
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
