"""May I write here: the library's one check of output paths (returns_kit.outputs), used by
every command, and the aggregate's summary line, both moved out of the CLI. The CLI's own
tests (test_cli.py) show the same checks as one usage line each; these show the library
decides them without click, naming the option, and touching nothing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from returns_kit import aggregate_returns
from returns_kit.aggregate.write import MARKER, check_destination
from returns_kit.outputs import OutputError, check_new_file, check_output_folder, check_outputs

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def test_an_output_that_is_the_input_under_another_name_is_refused(tmp_path: Path) -> None:
    workbook = tmp_path / "return.xlsx"
    workbook.write_bytes(b"PK the council's return")
    linked = tmp_path / "copy.xlsx"
    os.link(workbook, linked)
    with pytest.raises(OutputError) as refused:
        check_outputs((workbook,), ("--annotate", linked, ".xlsx"))
    assert refused.value.option == "--annotate"
    assert str(refused.value) == f"{linked} is the workbook being checked; choose another name."
    assert workbook.read_bytes() == b"PK the council's return"


@pytest.mark.parametrize(
    ("outputs", "option", "message"),
    [
        ([("--annotate", "{tmp}/a.html", ".xlsx")], "--annotate", "must be named a.xlsx"),
        ([("--html", "{tmp}", None)], "--html", "is a folder; give a file name ending with"),
        ([("--html", "{tmp}/missing/p.html", None)], "--html", "does not exist"),
        (
            [("--annotate", "{tmp}/x.xlsx", ".xlsx"), ("--html", "{tmp}/x.xlsx", None)],
            "--html",
            "is also the --annotate output",
        ),
    ],
    ids=["suffix", "folder", "missing-folder", "twice"],
)
def test_each_refusal_names_the_option(
    outputs: list[tuple[str, str, str | None]], option: str, message: str, tmp_path: Path
) -> None:
    given = [(name, Path(path.format(tmp=tmp_path)), suffix) for name, path, suffix in outputs]
    with pytest.raises(OutputError, match=message) as refused:
        check_outputs((), *given)
    assert refused.value.option == option


def test_good_outputs_pass_and_absent_ones_are_skipped(tmp_path: Path) -> None:
    check_outputs((), ("--annotate", tmp_path / "a.xlsx", ".xlsx"), ("--html", None, None))


def test_an_existing_file_is_replaced_only_when_asked(tmp_path: Path) -> None:
    out = tmp_path / "ours.xlsx"
    check_new_file(out, replace=False)  # nothing there yet
    out.write_bytes(b"a return someone filled in")
    with pytest.raises(OutputError, match="exists; give another name, or --force") as refused:
        check_new_file(out, replace=False)
    assert refused.value.option == ""
    check_new_file(out, replace=True)
    assert out.read_bytes() == b"a return someone filled in"


def test_an_output_folder_is_new_empty_or_an_earlier_runs(tmp_path: Path) -> None:
    check_output_folder(tmp_path / "new", MARKER)
    (tmp_path / "empty").mkdir()
    check_output_folder(tmp_path / "empty", MARKER)
    ours = tmp_path / "ours"
    ours.mkdir()
    (ours / MARKER).write_text("status\n")
    check_destination(ours)
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "thesis.docx").write_bytes(b"someone's work")
    for refused in (theirs, theirs / "thesis.docx"):
        with pytest.raises(OutputError, match="is not an earlier aggregate's output folder"):
            check_destination(refused)
    assert (theirs / "thesis.docx").read_bytes() == b"someone's work"


def test_the_summary_line_counts_the_manifest_and_the_flags() -> None:
    result = aggregate_returns([FIXTURES / "valid", FIXTURES / "invalid"])
    statuses = result.tables["manifest"]["status"].to_list()
    count = {status: statuses.count(status) for status in set(statuses)}
    # every count but superseded is exercised by these fixtures
    assert all(count.get(s, 0) > 0 for s in ("included", "excluded", "conflict", "missing"))
    assert result.summary(Path("tables")) == (
        f"{count['included']:,} returns included, 0 superseded, {count['excluded']:,} excluded, "
        f"{count['conflict']:,} in conflict, {count['missing']:,} missing; "
        f"{result.tables['flags'].height:,} period-to-period flags. Tables in tables/"
    )
