"""The collection ledger: ``returns collect ...`` and ``returns aggregate --collection``.

A Django app (models, migrations) over SQLite in the collection folder or PostgreSQL. Only
this package imports Django, and only when a collection command runs: ``validate`` and
``aggregate`` without ``--collection`` never load it. The library functions are in
:mod:`returns_kit.ledger.service`; :mod:`returns_kit.ledger.cli` is the thin click shell.
"""
