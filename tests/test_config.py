"""--config: every threshold's type and range is checked, so no slip switches a rule off."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from returns_kit.cli import main
from returns_kit.config import ConfigError, Thresholds, load_thresholds

from .conftest import FIXTURES, ROOT

VALID = FIXTURES / "valid" / "hartlepool-2013-14.xlsx"


@pytest.mark.parametrize(
    ("toml", "said"),
    [
        ("[thresholds]\npb_rate_jump = 15\n", "pb_rate_jump = 15 is a share, between 0 and 1"),
        ("[thresholds]\nnominal_share_max = 20\n", "nominal_share_max = 20 is a share"),
        ("[thresholds]\npeople_total_change_max = -0.1\n", "people_total_change_max = -0.1"),
        ("thresholds = 3\n", "thresholds = 3 must be a table"),
        ('[thresholds]\nseries_breaks = ["2014/15"]\n', '"2014/15" is not a period'),
        ('[thresholds]\nseries_breaks = "2014-15"\n', "must be a list of periods"),
        (
            "[thresholds]\nexplanation_min_chars = 20.5\n",
            "explanation_min_chars = 20.5 must be a whole",
        ),
        ("[thresholds]\nrelabelled_clients_min = true\n", "relabelled_clients_min = true"),
        ('[thresholds]\nspend_per_person_min = "100"\n', 'spend_per_person_min = "100" must be a'),
        ("[thresholds]\nspend_per_person_min = inf\n", "spend_per_person_min = inf"),
        ("[thresholds]\nspend_per_person_min = 900000\n", "is above spend_per_person_max"),
        ("[thresholds]\npb_rate_jmp = 0.1\n", "did you mean 'pb_rate_jump'?"),
        ("[threshold]\npb_rate_jump = 0.1\n", "did you mean [thresholds]?"),
        ("[thresholds\n", "not a readable TOML file"),
    ],
    ids=[
        "rate-as-points",
        "share-as-percent",
        "negative-share",
        "thresholds-not-a-table",
        "period-misspelt",
        "periods-not-a-list",
        "float-for-int",
        "bool-for-int",
        "string-for-number",
        "infinite",
        "min-above-max",
        "unknown-key",
        "unknown-table",
        "not-toml",
    ],
)
def test_a_bad_value_is_one_line_naming_key_and_value(
    toml: str, said: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "returns.toml"
    config.write_text(toml, "utf-8")
    with pytest.raises(ConfigError, match=re.escape(said)):
        load_thresholds(config)
    code = main(["validate", str(VALID), "--config", str(config)])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    assert len(captured.err.strip().splitlines()) == 1 and said in captured.err
    assert "Traceback" not in captured.err


def test_good_values_are_read_as_their_types(tmp_path: Path) -> None:
    config = tmp_path / "returns.toml"
    config.write_text(
        "[thresholds]\nnominal_share_max = 0\npb_rate_jump = 1\n"
        'relabelled_clients_min = 10\nseries_breaks = [" 2014-15 ", "2020-21"]\n',
        "utf-8",
    )
    loaded = load_thresholds(config)
    assert loaded.nominal_share_max == 0.0 and isinstance(loaded.nominal_share_max, float)
    assert loaded.pb_rate_jump == 1.0 and loaded.relabelled_clients_min == 10
    assert loaded.series_breaks == ("2014-15", "2020-21")
    assert loaded.choice_rate_stable == Thresholds().choice_rate_stable


def test_the_documented_example_loads_as_the_defaults(tmp_path: Path) -> None:
    """docs/configuration.md's TOML block is every default: it must pass every check."""
    page = (ROOT / "docs" / "configuration.md").read_text("utf-8")
    block = page.split("```toml\n", 1)[1].split("```", 1)[0]
    config = tmp_path / "returns.toml"
    config.write_text(block, "utf-8")
    assert load_thresholds(config) == Thresholds()
