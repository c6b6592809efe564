"""The collection service (``returns serve``): the ledger with people at it, in a browser and
over a JSON API. Django, in the ``[collect]`` extra; the views are thin shells over
:mod:`returns_kit.ledger` and the rest of the library."""
