"""Run the sheet suites over a workbook with GX, and say which columns fail which rule.

This is GX's verdict on a return's structure, to hold beside returns_kit's own: the
tests check that both reach the same one on every fixture. Results are asked for as
BOOLEAN_ONLY, so GX never collects a cell's value (client references included).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from returns_kit.gx import engine
from returns_kit.gx.frames import located_tables, sheet_frame
from returns_kit.gx.suite import build_suite
from returns_kit.schema import sheet_specs
from returns_kit.workbook.tables import Table


@dataclass(frozen=True, order=True, slots=True)
class Failure:
    """A failed critical expectation: the sheet, the column (None for several) and its rule."""

    sheet: str
    column: str | None
    rule: str


class SheetChecker:
    """One ephemeral GX context holding a validation definition per sheet, reused for every
    workbook checked (building them is most of GX's cost)."""

    def __init__(self) -> None:
        gx = engine.gx()
        self._context = engine.context()
        with engine.quiet():
            source = self._context.data_sources.add_pandas("returns_kit")
            self._definitions: dict[str, Any] = {}
            for name in sheet_specs():
                batch = source.add_dataframe_asset(name).add_batch_definition_whole_dataframe(name)
                suite = self._context.suites.add(build_suite(name, self._context))
                self._definitions[name] = self._context.validation_definitions.add(
                    gx.ValidationDefinition(name=name, data=batch, suite=suite)
                )

    def check_table(self, table: Table) -> list[Failure]:
        """The failures of one located sheet, sorted."""
        frame = sheet_frame(table)
        with engine.quiet():
            result = self._definitions[table.spec.name].run(
                batch_parameters={"dataframe": engine.to_pandas(frame)},
                result_format="BOOLEAN_ONLY",
            )
        return sorted(set(failures(table.spec.name, result, frame.columns)))

    def check_workbook(self, path: Path) -> dict[str, list[Failure]]:
        """Each sheet of the return found in the workbook, with its failures (none: it passes)."""
        return {name: self.check_table(table) for name, table in located_tables(path).items()}


def failures(sheet: str, result: Any, columns: list[str]) -> list[Failure]:
    """The failed critical expectations of a validation result, as rules on columns.

    An expectation on a column the frame lacks fails in GX with an error; it is left out,
    as the column's ``expect_column_to_exist`` (F005) already says so.
    """
    found = []
    for item in result.results:
        config = item.expectation_config
        if item.success or str(config.severity.value) != "critical":
            continue
        target = config.kwargs.get("column")
        if target is not None and target not in columns and config.type != "expect_column_to_exist":
            continue
        found.append(Failure(sheet, config.meta.get("column"), config.meta["rule"]))
    return found
