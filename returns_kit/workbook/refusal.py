"""Why a file is refused before any parser reads it: the one F001, F002 or F003 finding a
scan raises from wherever it is. Its words are the rule's template
(:data:`returns_kit.rules.messages.TEMPLATES`), so that every refusal reads alike."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn

from returns_kit.findings import Finding
from returns_kit.rules.catalogue import finding

#: Sizes are read in binary megabytes.
MIB = 1024 * 1024


class Refusal(Exception):
    def __init__(self, refused: Finding) -> None:
        super().__init__(refused.message)
        self.finding = refused


def refuse(rule_id: str, params: Mapping[str, Any] | None = None, /, *, variant: str) -> NoReturn:
    """Stop the scan with ``rule_id``'s ``variant`` message, filled with ``params``."""
    raise Refusal(finding(rule_id, params, variant=variant))
