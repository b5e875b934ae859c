"""assistant/ code names no record of the corpus: no record id, no trial, drug or biomarker name, no trial family
("CheckMate"), no sponsor. What the code needs of the corpus it derives from the records when it is built.

Scanned: every string literal of assistant/**/*.py except docstrings (comments are not literals either); they
document the code with examples. Glossary terms and mechanisms are the field's vocabulary ("overall survival",
"PFS"), and names written all in lower case are ordinary words ("histology", "nivo"); neither counts as a name.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from assistant.understand.list_filters import sponsor_of
from corpus import load_records

REPO = Path(__file__).resolve().parents[2]
NAMED_TYPES = ("trial", "agent", "biomarker")


def corpus_names(records) -> tuple[set[str], set[str]]:
    """(record ids, names): the proper names of trials, drugs and biomarkers (names, synonyms, code names), the
    trial families ("KEYNOTE" of "KEYNOTE-483") and the sponsors the trial records name."""
    ids = {r.id for r in records}
    names: set[str] = set()
    for r in records:
        if r.type not in NAMED_TYPES:
            continue
        for name in [r.name, *r.synonyms, *(getattr(r, "code_names", None) or [])]:
            if name != name.lower() and len(name) >= 3:  # "histology", "nivo": ordinary words
                names.add(name)
            if r.type == "trial" and (family := re.match(r"([A-Za-z]{3,})[- ]?\d", name)):
                names.add(family.group(1))
        if r.type == "trial" and (group := sponsor_of(r)):
            names.add(group)
    return ids, names


def _docstrings(tree: ast.AST) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                out.add(id(first.value))
    return out


def offenders(root: Path, ids: set[str], names: set[str]) -> list[str]:
    """``file:line: name`` for every string literal under ``root`` that holds a record id or a corpus name."""
    name_rx = re.compile(r"(?<![A-Za-z0-9])(?:" + "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
                         + r")(?![A-Za-z0-9])", re.IGNORECASE)
    found = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        skip = _docstrings(tree)
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Constant) and isinstance(node.value, str)) or id(node) in skip:
                continue
            ids_in = [i for i in ids if i in node.value]
            rest = re.sub("|".join(map(re.escape, ids_in)), " ", node.value) if ids_in else node.value
            hits = ids_in + [m.group(0) for m in name_rx.finditer(rest)]
            found += [(str(path.relative_to(root.parent)), node.lineno, h) for h in dict.fromkeys(hits)]
    return [f"{p}:{line}: {h}" for p, line, h in sorted(found)]


def test_assistant_code_names_no_record_of_the_corpus():
    ids, names = corpus_names(load_records())
    assert offenders(REPO / "assistant", ids, names) == []


def test_the_check_catches_a_record_id_a_name_a_family_and_a_sponsor(tmp_path):
    ids, names = corpus_names(load_records())
    (tmp_path / "assistant").mkdir()
    (tmp_path / "assistant" / "bad.py").write_text(
        '"""Docstrings may say CheckMate 743."""\n'
        'X = "trial:checkmate-743"  # comments may too: CheckMate 743\n'
        'Y = r"\\b(?:KEYNOTE|other)\\b"\n'
        'Z = {"nivo": ["nivolumab"]}\n'
        'S = r"run by|PrECOG"\n'
        'OK = r"\\bhistolog\\w*|overall survival|\\bnivo\\b"\n')
    assert offenders(tmp_path / "assistant", ids, names) == [
        "assistant/bad.py:2: trial:checkmate-743", "assistant/bad.py:3: KEYNOTE", "assistant/bad.py:4: nivolumab",
        "assistant/bad.py:5: PrECOG"]
