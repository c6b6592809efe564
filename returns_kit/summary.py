"""Summarise a validated return into what the period rules and the aggregate need."""

from __future__ import annotations

import polars as pl

from returns_kit.measures import COUNTS, ReturnSummary
from returns_kit.rules.clients import CLIENT, nominal_counts
from returns_kit.rules.context import ReturnContext

SERVICE_COLUMNS = ("service_type", "arrangement", "people", "gross_spend_gbp")
CLIENT_COLUMNS = ("budget_type", "service_type", "arrangement", "provider_ref", "weekly_cost_gbp")


def summarise(context: ReturnContext) -> ReturnSummary | None:
    """The summary of a return with no error, or None when it lacks what a summary needs."""
    budgets, services = context.sheet("Budgets"), context.sheet("Services")
    if context.council is None or context.period is None or budgets is None or services is None:
        return None
    clients = context.sheet("Clients")
    client_rows = None
    if clients is not None and all(name in clients.typed.columns for name in CLIENT_COLUMNS):
        # Keyed by the reference as written, as the Clients rules key them.
        key = clients.table.frame.select(pl.col("client_ref").str.strip_chars().alias(CLIENT))
        client_rows = clients.typed.select(CLIENT_COLUMNS).with_columns(key.to_series())
    summary = ReturnSummary(
        council_code=context.council.gss_code,
        period=str(context.period),
        submitted_on=context.about.get("submitted_on"),
        budgets=budgets.typed.select("age_band", "support_reason", *COUNTS),
        services=services.typed.select(SERVICE_COLUMNS).filter(pl.col("people").is_not_null()),
        nominal=nominal_counts(context) if clients is not None else None,
        clients=client_rows,
    )
    return summary.warm()
