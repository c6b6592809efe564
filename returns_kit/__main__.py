"""``python -m returns_kit``: the same as the ``returns`` command."""

from returns_kit.cli import run

if __name__ == "__main__":
    run()
