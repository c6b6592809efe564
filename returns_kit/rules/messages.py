"""Every finding's message, as a template its parameters fill (as frictionless errors do).

A rule's finding carries its numbers and names as ``params``; the message is the rule's
template filled with them. So a flag, a page, the ledger or a reader of the JSON report takes
a number from the data, never by reading it back out of the text, and the wording of every
message can be read (and documented) in one place.

Templates are keyed by rule id, then by variant: most rules say one thing (variant ``""``);
some say one of a few (A002 for a code that is no council, or a council not active in the
period). A template uses :meth:`str.format` fields, with one conversion of our own: ``!j``
joins a list with ", " (``{columns!j}``). A parameter holds what the message shows and nothing
more: a cell's value only as :func:`returns_kit.privacy.shown` lets it be quoted.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from functools import cache
from typing import Any

#: rule id -> variant -> template. Grouped as the rules are: the file and its structure
#: (F), cells (V), About (A), Budgets (B), Services (S), Clients (C), Explanations (E),
#: periods (P) and the internal error (X).
TEMPLATES: dict[str, dict[str, str]] = {
    # -- the file and its structure (workbook/, validate.py) --
    # -- cells (compile.py) --
    # -- About, Budgets, Services, Clients, Explanations (rules/) --
    "B003": {
        "": "people_total is {people_total:,} but the six budget types add up to {types_sum:,}."
    },
    # -- periods (rules/periods.py, aggregate/screens.py, ledger) --
    # -- the internal error --
}


class _Formatter(string.Formatter):
    """str.format with ``!j``: a list joined with ", "."""

    def convert_field(self, value: Any, conversion: str | None) -> Any:
        if conversion == "j":
            return ", ".join(str(item) for item in value)
        return super().convert_field(value, conversion)


_FORMATTER = _Formatter()


def render(rule_id: str, variant: str, params: Mapping[str, Any]) -> str:
    """The message of ``rule_id``'s ``variant`` template filled with ``params``.

    >>> TEMPLATES["_example"] = {"": "people_total is {people_total:,} in {columns!j}."}
    >>> render("_example", "", {"people_total": 1200, "columns": ["a", "b"]})
    'people_total is 1,200 in a, b.'
    >>> del TEMPLATES["_example"]
    """
    template = TEMPLATES[rule_id][variant]
    if params.keys() != fields(template):
        # A defect of the rule, not of the file: params hold exactly what the message shows,
        # so that a reader of params sees every figure of the message and nothing else.
        raise ValueError(
            f"{rule_id} {variant!r}: params {sorted(params)} but the template uses "
            f"{sorted(fields(template))}"
        )
    return _FORMATTER.vformat(template, (), params)


@cache
def fields(template: str) -> frozenset[str]:
    """The parameter names a template uses: what its findings' ``params`` must hold."""
    return frozenset(name for _, name, _, _ in _FORMATTER.parse(template) if name)
