"""Load the JSON Schemas and describe each sheet's fields.

The schemas in the repository's top-level ``schemas/`` folder are the single
source of truth for the return's structure; the wheel carries a copy inside the
package. Everything structural (compiled checks, the template, the docs) is
derived from the :class:`SheetSpec` built here. The tests hold the schemas to their
meta-schema, and the compiled checks to jsonschema's verdicts, with :mod:`tools.oracle`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path
from typing import Any, Literal

FieldKind = Literal["integer", "number", "money", "date", "code", "text"]

#: Sheet schemas in the order the sheets appear in a return.
SHEET_SCHEMAS = ("about", "budgets", "services", "clients", "explanations")
SCHEMA_FILES = ("codes", *SHEET_SCHEMAS)


def schemas_dir() -> Traversable:
    """Where the schemas are: inside the installed package, or at the top of a source checkout."""
    packaged = resources.files("returns_kit").joinpath("schemas")
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "schemas"


@cache
def load_schemas() -> dict[str, dict[str, Any]]:
    """Every schema document, by file stem ("codes", "about", "budgets", ...)."""
    folder = schemas_dir()
    return {
        stem: json.loads(folder.joinpath(f"{stem}.json").read_text("utf-8"))
        for stem in SCHEMA_FILES
    }


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One column (or About field) as the schema describes it."""

    name: str
    kind: FieldKind
    required: bool
    description: str
    minimum: float | None = None
    pattern: str | None = None
    #: code -> label, in list order, for code fields
    codes: tuple[tuple[str, str], ...] = ()
    #: a pseudonymous reference whose values are never echoed
    identifier: bool = False
    #: the rule a malformed value breaks, where the spec names one (A001, A004) instead of V001/V002
    rule: str | None = None

    @property
    def code_list(self) -> tuple[str, ...]:
        return tuple(code for code, _ in self.codes)


@dataclass(frozen=True, slots=True)
class SheetSpec:
    """One sheet of the return: its name, whether it is required, and its fields in order."""

    name: str
    stem: str
    title: str
    description: str
    required: bool
    layout: Literal["table", "fields"]
    key: tuple[str, ...]
    fields: tuple[FieldSpec, ...]

    def field(self, name: str) -> FieldSpec:
        for spec in self.fields:
            if spec.name == name:
                return spec
        raise KeyError(name)

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.fields)

    @property
    def required_fields(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.fields if spec.required)


def _resolve(prop: dict[str, Any], codes: dict[str, Any]) -> dict[str, Any]:
    ref = prop.get("$ref")
    if ref is None:
        return prop
    # Only refs into codes.json#/$defs/... are used; resolve them by name.
    target = codes["$defs"][ref.rsplit("/", 1)[-1]]
    return {**target, **{k: v for k, v in prop.items() if k != "$ref"}}


def _field(name: str, prop: dict[str, Any], required: bool) -> FieldSpec:
    kind: FieldKind
    if "enum" in prop:
        kind = "code"
    elif prop.get("type") == "integer":
        kind = "integer"
    elif prop.get("type") == "number":
        kind = "money" if prop.get("x-cell") == "money" else "number"
    elif prop.get("format") == "date":
        kind = "date"
    else:
        kind = "text"
    labels = prop.get("x-labels", {})
    return FieldSpec(
        name=name,
        kind=kind,
        required=required,
        description=prop.get("description", ""),
        minimum=prop.get("minimum"),
        pattern=prop.get("pattern"),
        codes=tuple((code, labels.get(code, code)) for code in prop.get("enum", ())),
        identifier=bool(prop.get("x-identifier", False)),
        rule=prop.get("x-rule"),
    )


@cache
def sheet_specs() -> dict[str, SheetSpec]:
    """Every sheet of the return by its canonical name, in sheet order."""
    docs = load_schemas()
    specs: dict[str, SheetSpec] = {}
    for stem in SHEET_SCHEMAS:
        doc = docs[stem]
        required = set(doc.get("required", ()))
        fields = tuple(
            _field(name, _resolve(prop, docs["codes"]), name in required)
            for name, prop in doc["properties"].items()
        )
        specs[doc["x-sheet"]] = SheetSpec(
            name=doc["x-sheet"],
            stem=stem,
            title=doc["title"],
            description=doc.get("description", ""),
            required=bool(doc.get("x-required-sheet", False)),
            layout=doc.get("x-layout", "table"),
            key=tuple(doc.get("x-key", ())),
            fields=fields,
        )
    return specs
