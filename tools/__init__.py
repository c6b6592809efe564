"""Developer tools, not product: synthetic return generators, the docs generator and the
test oracle. The wheel leaves this package out (pyproject.toml packages only returns_kit);
nothing in returns_kit imports it."""
