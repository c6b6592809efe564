"""Run the GX checkpoint over the aggregate's national tables and write its Data Docs.

A GX checkpoint validates the frames handed to it in one run, so each table (and the
derived ``reconciliation`` frame) gets a checkpoint of its own in one ephemeral context;
the Data Docs site is built once, at the end, with every result. Results are kept as
SUMMARY: the national tables hold no client-level data, and the few failing values shown
are what a maintainer needs to find the defect.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from returns_kit.gx import engine
from returns_kit.gx.national import (
    KEYS,
    RECONCILIATION,
    reconciliation,
    reconciliation_plan,
    table_plan,
)
from returns_kit.gx.plan import Planned
from returns_kit.gx.suite import expectation

#: Where the Data Docs go inside the aggregate's output folder.
DOCS_FOLDER = "gx"
RUN_NAME = "returns-aggregate"


@dataclass
class Verdict:
    """The checkpoints' outcome: how many expectations ran, and which failed."""

    evaluated: int = 0
    #: "table: check on column" for each failed expectation
    failed: list[str] = field(default_factory=list)
    #: the kind of error when GX could not run at all
    error: str | None = None

    @property
    def success(self) -> bool:
        return not self.failed and self.error is None

    def line(self, docs: Path) -> str:
        """One line for the terminal."""
        index = docs / "index.html"
        if self.error is not None:
            return (
                f"GX checkpoint could not run ({self.error}); the tables were written, the "
                f"Data Docs in {docs} may be missing or incomplete"
            )
        if self.success:
            return (
                f"GX checkpoint passed: {self.evaluated} expectations on the national tables; "
                f"Data Docs in {index}"
            )
        shown = "; ".join(self.failed[:3]) + ("; ..." if len(self.failed) > 3 else "")
        return (
            f"GX checkpoint failed {len(self.failed)} of {self.evaluated} expectations "
            f"({shown}): the tables are inconsistent, a defect in returns_kit; Data Docs in "
            f"{index}"
        )


def _frames(tables: dict[str, pl.DataFrame]) -> dict[str, tuple[pl.DataFrame, list[Planned]]]:
    frames = {name: (tables[name], table_plan(name, tables[name])) for name in KEYS}
    frames[RECONCILIATION] = (reconciliation(tables), reconciliation_plan())
    return frames


def _describe(table: str, result: Any) -> str:
    """What failed, by table, check and column(s): never the values."""
    kwargs = result.expectation_config.kwargs
    if "column" in kwargs:
        where = kwargs["column"]
    elif "column_list" in kwargs:
        where = ", ".join(kwargs["column_list"])
    else:
        where = f"{kwargs.get('column_A')} vs {kwargs.get('column_B')}"
    return f"{table}: {result.expectation_config.meta.get('rule')} ({where})"


def run_checkpoint(tables: dict[str, pl.DataFrame], docs: Path) -> Verdict:
    """Validate the national tables with GX and write the Data Docs site into ``docs``."""
    gx = engine.gx()
    context = engine.context(docs)
    verdict = Verdict()
    with engine.quiet():
        from great_expectations.core.run_identifier import RunIdentifier

        source = context.data_sources.add_pandas("national")
        for name, (frame, plan) in _frames(tables).items():
            batch = source.add_dataframe_asset(name).add_batch_definition_whole_dataframe(name)
            suite = gx.ExpectationSuite(name=f"national.{name}")
            suite = context.suites.add(suite)
            for planned in plan:
                suite.add_expectation(expectation(planned))
            definition = context.validation_definitions.add(
                gx.ValidationDefinition(name=name, data=batch, suite=suite)
            )
            checkpoint = context.checkpoints.add(
                gx.Checkpoint(
                    name=f"national.{name}",
                    validation_definitions=[definition],
                    result_format={"result_format": "SUMMARY"},
                )
            )
            outcome = checkpoint.run(
                batch_parameters={"dataframe": engine.to_pandas(frame)},
                run_id=RunIdentifier(run_name=RUN_NAME),
            )
            for run in outcome.run_results.values():
                verdict.evaluated += len(run.results)
                verdict.failed += [
                    _describe(name, item) for item in run.results if not item.success
                ]
        context.build_data_docs(site_names=[engine.DOCS_SITE])
    return verdict


class DataDocs:
    """The ``gx`` extra output of ``write_outputs``: runs the checkpoint when the tables are
    staged, writing Data Docs into ``<staging>/gx/``, and keeps the verdict for the CLI."""

    def __init__(self, tables: dict[str, pl.DataFrame]) -> None:
        self.tables = tables
        self.verdict: Verdict | None = None

    def __call__(self, staging: Path) -> None:
        try:
            self.verdict = run_checkpoint(self.tables, staging / DOCS_FOLDER)
        except Exception as problem:  # GX's errors are many; they must not cost the tables
            self.verdict = Verdict(error=type(problem).__name__)
