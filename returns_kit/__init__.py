"""returns_kit: check and aggregate personal budget monitoring returns."""

from returns_kit.findings import Finding, Severity

__all__ = ["Finding", "Severity"]
__version__ = "0.1.0"
