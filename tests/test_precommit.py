"""The pre-commit hook, run by pre-commit itself against a repository of returns."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import FIXTURES, ROOT

PRE_COMMIT = [sys.executable, "-m", "pre_commit"]


@pytest.fixture(scope="module")
def returns_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = tmp_path_factory.mktemp("returns-repo")
    shutil.copy(FIXTURES / "valid" / "hartlepool-2013-14.xlsx", repo / "good.xlsx")
    shutil.copy(FIXTURES / "invalid" / "B003.xlsx", repo / "bad.xlsx")
    (repo / "notes.txt").write_text("not a workbook: the hook must not look at it")
    git = ["git", "-c", "user.email=ci@example.org", "-c", "user.name=ci"]
    subprocess.run([*git, "init", "-q"], cwd=repo, check=True)
    subprocess.run([*git, "add", "."], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "returns"], cwd=repo, check=True)
    return repo


def try_repo(repo: Path, home: Path, *files: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PRE_COMMIT_HOME": str(home)}
    return subprocess.run(
        [*PRE_COMMIT, "try-repo", str(ROOT), "returns-validate", "--files", *files],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.slow  # pre-commit installs returns_kit into a fresh environment: about 2 minutes
def test_hook_passes_valid_returns_and_fails_invalid_ones(
    returns_repo: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    home = tmp_path_factory.mktemp("pre-commit-home")
    passing = try_repo(returns_repo, home, "good.xlsx", "notes.txt")
    assert passing.returncode == 0, passing.stdout + passing.stderr
    assert "validate personal budget returns" in passing.stdout
    failing = try_repo(returns_repo, home, "good.xlsx", "bad.xlsx")
    assert failing.returncode == 1, failing.stdout + failing.stderr
    assert "B003 budgets-sum" in failing.stdout and "Failed" in failing.stdout


def test_the_developers_config_runs_ruff_and_ruff_format(tmp_path: Path) -> None:
    """.pre-commit-config.yaml (the developers' hooks, not the councils'): its ruff hooks find
    an unused import and reformat a file, with the tools of this environment, offline."""
    repo = tmp_path / "repo"
    repo.mkdir()
    shutil.copy(ROOT / ".pre-commit-config.yaml", repo)
    shutil.copy(ROOT / "pyproject.toml", repo)  # the same ruff settings as the project
    (repo / "module.py").write_text("import os\nx = {'a':1}\n")
    git = ["git", "-c", "user.email=ci@example.org", "-c", "user.name=ci"]
    subprocess.run([*git, "init", "-q"], cwd=repo, check=True)
    subprocess.run([*git, "add", "."], cwd=repo, check=True)
    env = {
        **os.environ,
        "PRE_COMMIT_HOME": str(tmp_path / "home"),
        # the hooks are language: system: they run the ruff installed beside this Python
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    for hook, says in (("ruff", "1 fixed"), ("ruff-format", "1 file reformatted")):
        run = subprocess.run(
            [*PRE_COMMIT, "run", hook, "--all-files"],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode == 1, run.stdout + run.stderr
        assert says in run.stdout, run.stdout
    assert (repo / "module.py").read_text() == 'x = {"a": 1}\n'  # fixed and formatted
    config = subprocess.run(
        [*PRE_COMMIT, "validate-config", ".pre-commit-config.yaml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert config.returncode == 0, config.stdout + config.stderr
