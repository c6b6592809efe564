"""Self-contained HTML reports: one page for a council's return, one for an aggregate run."""
