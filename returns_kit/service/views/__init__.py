"""The service's views: thin shells over the ledger, one module per audience."""
