"""The ledger as a Django app (the web service of the next issue installs the same app)."""

from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "returns_kit.ledger"
    label = "ledger"
    verbose_name = "Collection ledger"
    default_auto_field = "django.db.models.BigAutoField"
