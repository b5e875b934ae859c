"""The import layers: kernel < corpus < indexing < assistant < ui; evals and mesochat above them; benchmarks above
every product package; tests above everything.

A module may import its own package and any package below it, never one above (checked on the source, so
lazy imports inside functions count too): benchmarks may import any product package but never tests/, and no
product package imports benchmarks.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LAYERS = ["kernel", "corpus", "indexing", "assistant", "ui", "evals", "mesochat", "benchmarks"]
RANK = {name: i for i, name in enumerate([*LAYERS, "tests"])}  # tests/ sits on top and is not checked
# evals and mesochat sit on top of everything; neither imports the other's internals.
PEERS = {("evals", "mesochat"), ("mesochat", "evals")}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names & set(RANK)


def violations(root: Path = REPO) -> list[str]:
    found = []
    for package in LAYERS:
        for path in sorted((root / package).rglob("*.py")):
            for target in imported_packages(path):
                if RANK[target] > RANK[package] and (package, target) not in PEERS:
                    found.append(f"{path.relative_to(root)} imports {target} (layer above {package})")
    return found


def test_no_package_imports_a_layer_above_it():
    assert violations() == []


def test_the_check_catches_an_upward_import(tmp_path):
    for package in LAYERS:
        (tmp_path / package).mkdir()
    (tmp_path / "kernel" / "bad.py").write_text("def f():\n    from assistant.api import Assistant\n")
    (tmp_path / "corpus" / "ok.py").write_text("import kernel.errors\n")
    assert violations(tmp_path) == ["kernel/bad.py imports assistant (layer above kernel)"]


def test_the_check_catches_a_benchmark_importing_tests(tmp_path):
    for package in LAYERS:
        (tmp_path / package).mkdir()
    (tmp_path / "benchmarks" / "ok.py").write_text("from assistant.api import Assistant\nimport ui.app\nimport evals\n")
    (tmp_path / "benchmarks" / "bad.py").write_text("def f():\n    from tests.indexing.test_faults import run\n")
    (tmp_path / "evals" / "bad.py").write_text("import benchmarks.bench_ask\n")
    assert violations(tmp_path) == ["evals/bad.py imports benchmarks (layer above evals)",
                                    "benchmarks/bad.py imports tests (layer above benchmarks)"]
