"""Deterministic synthetic returns for tests, fixtures and benchmarks."""

from tools.synth.generate import generate_return
from tools.synth.model import Formula, SyntheticReturn
from tools.synth.national import PLANTED, generate_national
from tools.synth.write import write_ods, write_xlsx

__all__ = [
    "PLANTED",
    "Formula",
    "SyntheticReturn",
    "generate_national",
    "generate_return",
    "write_ods",
    "write_xlsx",
]
