"""Deterministic synthetic returns for tests, fixtures and benchmarks."""

from returns_kit.synth.generate import generate_return
from returns_kit.synth.model import Formula, SyntheticReturn
from returns_kit.synth.national import PLANTED, generate_national
from returns_kit.synth.write import write_ods, write_xlsx

__all__ = [
    "PLANTED",
    "Formula",
    "SyntheticReturn",
    "generate_national",
    "generate_return",
    "write_ods",
    "write_xlsx",
]
