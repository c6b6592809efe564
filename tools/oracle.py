"""The test oracle: jsonschema, reading the shipped schemas, as the reference the compiled
checks (:mod:`returns_kit.compile`) must agree with cell by cell.

The product never runs jsonschema (its checks are compiled to polars expressions), so the
oracle and its dependency live here, outside the wheel, with the tests that use them.
"""

from __future__ import annotations

from typing import Any

from returns_kit.schema import load_schemas


def registry() -> Any:
    """A ``referencing.Registry`` of every schema under its ``$id``, so $refs resolve offline."""
    from referencing import Registry, Resource

    return Registry().with_resources(
        (doc["$id"], Resource.from_contents(doc)) for doc in load_schemas().values()
    )


def validator(stem: str) -> Any:
    """A jsonschema validator for one sheet's schema (the reference the compiled checks follow)."""
    from jsonschema import Draft202012Validator

    return Draft202012Validator(
        load_schemas()[stem],
        registry=registry(),
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )
