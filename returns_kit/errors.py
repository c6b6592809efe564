"""The one base of every exception returns_kit raises on purpose.

A bad workbook never raises: it gets findings. What raises is a usage problem (two returns
that do not pair, a configuration that cannot be used, an output folder that is not ours) or
a command that must stop with nothing written (a release that cannot be protected). Each
such exception is a :class:`ReturnsKitError`, so a caller can catch them all in one place and
tell them from a defect (anything else).
"""

from __future__ import annotations


class ReturnsKitError(Exception):
    """A usage problem or a refused command, with a message for the person who ran it."""
