"""Great Expectations, the optional ``[gx]`` extra: suites built from the JSON Schemas, and a
checkpoint over the aggregate's national tables.

Importing this package imports nothing of great_expectations: only
:mod:`returns_kit.gx.engine` does, and only when a function needs it, so that ``validate``
and ``aggregate`` without ``--gx`` never load it.

- :mod:`~returns_kit.gx.plan`: the expectations each sheet's schema implies (no GX needed).
- :mod:`~returns_kit.gx.frames`: a sheet as the frame those expectations apply to.
- :mod:`~returns_kit.gx.suite`: a plan as a GX ExpectationSuite, and its JSON.
- :mod:`~returns_kit.gx.sheets`: run the sheet suites over a workbook.
- :mod:`~returns_kit.gx.national`: the expectations on the national tables.
- :mod:`~returns_kit.gx.checkpoint`: run them as checkpoints and write Data Docs.
"""
