"""The only module that imports great_expectations: offline, quiet, in memory.

GX is imported on first use, with its analytics switched off before the import, and
every context is ephemeral (in memory): nothing is read from or written to the current
folder or the user's home, and Data Docs go only where the caller says.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from returns_kit.errors import ReturnsKitError

#: The one line shown when the extra is not installed.
MISSING = "great-expectations is not installed; pip install 'returns_kit[gx]'"
#: The Data Docs site every context writes to, when it writes any.
DOCS_SITE = "returns_kit"


class GXUnavailable(ReturnsKitError):
    """great_expectations cannot be imported: the ``[gx]`` extra is not installed."""


@contextmanager
def quiet() -> Iterator[None]:
    """Silence GX's own warnings (deprecations inside GX, pandas notices) while it runs:
    they are about GX's code, not the user's data, and nothing a user can act on."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def gx() -> Any:
    """The great_expectations module, imported with analytics off; raises GXUnavailable."""
    # Set before the import, as GX reads it then; GX sends nothing when it is false.
    os.environ["GX_ANALYTICS_ENABLED"] = "false"
    try:
        with quiet():
            import great_expectations
    except ImportError as problem:
        raise GXUnavailable(MISSING) from problem
    # GX logs through "great_expectations.*"; without a handler of ours Python's last-resort
    # handler would print its warnings on the user's terminal.
    logging.getLogger("great_expectations").addHandler(logging.NullHandler())
    return great_expectations


def expectations() -> Any:
    """The ``great_expectations.expectations`` module (the Expect* classes)."""
    gx()
    with quiet():
        import great_expectations.expectations as module
    return module


def context(docs: Path | None = None) -> Any:
    """A new ephemeral GX context: in-memory stores, no analytics, no progress bars, and, when
    ``docs`` is given, one Data Docs site written to that folder."""
    gx_module = gx()
    with quiet():
        from great_expectations.data_context.types.base import (
            DataContextConfig,
            InMemoryStoreBackendDefaults,
            ProgressBarsConfig,
        )

        sites: dict[str, Any] = {}
        if docs is not None:
            sites[DOCS_SITE] = {
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(docs),
                },
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            }
        config = DataContextConfig(
            store_backend_defaults=InMemoryStoreBackendDefaults(),
            analytics_enabled=False,
            progress_bars=ProgressBarsConfig(globally=False),
            data_docs_sites=sites,
        )
        return gx_module.get_context(project_config=config, mode="ephemeral")


def to_pandas(frame: Any) -> Any:
    """A polars frame as pandas, through plain lists: GX needs pandas, and this way the
    extra does not also need pyarrow (nulls become NaN/None, which GX treats as missing)."""
    with quiet():
        import pandas

    return pandas.DataFrame(frame.to_dict(as_series=False), columns=frame.columns)
