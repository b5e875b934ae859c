"""Load and check the YAML records plus the 206 generated reference records.

``validate_records`` collects every problem (schema errors, YAML syntax, duplicate ids, dangling
``related`` ids) so one run of ``mesochat corpus validate`` shows them all; ``load_records`` refuses to
return a half-valid set and raises one MesochatError line instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, ValidationError

from corpus.figures import figures
from corpus.models import RECORD_CLASSES, SLUG_RE, Approval, Arm, Publication, Record, Source, TrialResult
from corpus.references import reference_records
from corpus.review import Review, load_review
from kernel.errors import MesochatError

RECORDS_DIR = Path(__file__).resolve().parent / "records"
_YAML_TYPES = tuple(t for t in RECORD_CLASSES if t != "ref")
_NESTED: dict[str, type[BaseModel]] = {
    "sources": Source, "arms": Arm, "results": TrialResult, "approvals": Approval, "publication": Publication,
}


@dataclass(frozen=True)
class Problem:
    file: str
    record_id: str  # "-" when the problem is about the whole file
    field: str  # dotted path such as "results.0.sources.1.ref", "-" when not about one field
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.record_id}: {self.field}: {self.message}"


class _Loader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate keys (a silent overwrite hides a typo) and keeps dates as text."""


def _mapping_without_duplicates(loader: _Loader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} in one record", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates)
_Loader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _yaml_problem(file: str, err: yaml.YAMLError) -> Problem:
    mark = getattr(err, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "unknown line"
    what = getattr(err, "problem", None) or str(err).splitlines()[0]
    return Problem(file, "-", "-", f"YAML syntax error at {where}: {what}")


def _allowed_fields(cls: type[BaseModel], loc: tuple) -> list[str]:
    """Field names of the (nested) model where an unknown key was found, for a 'did you mean' hint."""
    model = cls
    for part in loc[:-1]:
        if isinstance(part, str) and part in _NESTED:
            model = _NESTED[part]
    return sorted(model.model_fields)


def _schema_problems(file: str, rid: str, cls: type[Record], err: ValidationError) -> list[Problem]:
    out = []
    for e in err.errors():
        loc = tuple(e["loc"])
        field = ".".join(str(p) for p in loc) or "-"
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = f"unknown field (typo?); allowed here: {', '.join(_allowed_fields(cls, loc))}"
        elif e["type"] == "missing":
            msg = "required field is missing"
        elif e["type"] == "too_short" and loc and loc[-1] == "sources":
            msg = "at least one source is required (review: abstract, ref: N, doi, pmid, pmcid or url)"
        elif loc and e["type"] not in ("value_error", "assertion_error"):
            value = repr(e.get("input"))
            msg += f" (got {value[:60]})"
        out.append(Problem(file, rid, field, msg))
    return out


@dataclass
class _Entry:
    file: str
    item: dict  # the raw YAML mapping
    record: Record | None  # None when it failed validation

    @property
    def raw_id(self) -> str | None:
        rid = self.item.get("id")
        return rid if isinstance(rid, str) and rid else None


def _parse_file(path: Path) -> tuple[list[_Entry], list[Problem]]:
    file = _display(path)
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except yaml.YAMLError as err:
        return [], [_yaml_problem(file, err)]
    except UnicodeDecodeError:
        return [], [Problem(file, "-", "-", "file is not UTF-8 text")]
    if data is None:
        return [], []  # an empty file holds no records
    if not isinstance(data, list):
        return [], [Problem(file, "-", "-", "a records file must be a YAML list; start each record with '- id: ...'")]

    entries: list[_Entry] = []
    problems: list[Problem] = []
    for i, item in enumerate(data, start=1):
        if not isinstance(item, dict):
            problems.append(Problem(file, f"#{i}", "-", "each list item must be a mapping with id, type, name, ..."))
            continue
        entry = _Entry(file, item, None)
        entries.append(entry)
        rid = entry.raw_id or f"#{i}"
        rtype = item.get("type")
        if rtype == "ref":
            problems.append(Problem(file, rid, "type", "ref records are generated from the review's reference "
                                    "list; cite a reference with a source {ref: N} instead"))
            continue
        if rtype not in _YAML_TYPES:
            what = "is missing" if rtype is None else f"{rtype!r} is unknown"
            problems.append(Problem(file, rid, "type", f"type {what}; use one of {', '.join(_YAML_TYPES)}"))
            continue
        cls = RECORD_CLASSES[rtype]
        try:
            entry.record = cls.model_validate(item)
        except ValidationError as err:
            problems.extend(_schema_problems(file, rid, cls, err))
    return entries, problems


def _looks_like_id(value: str) -> bool:
    prefix, sep, slug = value.partition(":")
    return bool(sep) and prefix in RECORD_CLASSES and bool(SLUG_RE.match(slug))


def _basis_problems(entries: list[_Entry], known: set[str]) -> list[Problem]:
    """An approval's basis must name a trial record that exists."""
    out = []
    for e in entries:
        agent = e.record
        for j, ap in enumerate(getattr(agent, "approvals", []) or []):
            if ap.basis and ap.basis not in known:
                out.append(Problem(e.file, agent.id, f"approvals.{j}.basis", f"{ap.basis!r} points to no record"))
    return out


def _figure_findings(entries: list[_Entry]) -> tuple[list[Problem], list[Problem]]:
    """(problems, warnings) about the sources behind figures; both kinds warn, so far.

    A missing source or `evidence` is already a schema problem (models.TrialResult/Approval). Figures resting
    only on secondary sources, or only on weak hosts, are warned about; `mesochat corpus stats` counts both.
    """
    problems: list[Problem] = []
    warnings: list[Problem] = []
    for e in entries:
        if e.record is None:
            continue
        for f in figures([e.record]):
            where = f"{f.field} ({f.label})"
            if f.weak_only:
                warnings.append(Problem(e.file, e.record.id, where, "rests only on weak hosts (mirror, staging "
                                        "or news repost); cite the primary, regulatory or registry copy"))
            elif f.secondary_only:
                warnings.append(Problem(e.file, e.record.id, where, "only secondary sources; add the primary "
                                        "publication, a regulatory document or the registry record"))
    return problems, warnings


def _link_problems(entries: list[_Entry], known: set[str]) -> list[Problem]:
    out = []
    for e in entries:
        related = e.item.get("related")
        if not isinstance(related, list):
            continue
        rid = e.raw_id or "-"
        for j, target in enumerate(related):
            if not isinstance(target, str) or not _looks_like_id(target):
                continue  # a malformed id is a schema problem, reported already
            if target == rid:
                out.append(Problem(e.file, rid, f"related.{j}", "a record cannot be related to itself"))
            elif target not in known:
                out.append(Problem(e.file, rid, f"related.{j}", f"{target!r} points to no record"))
    return out


def collect_records(
    records_dir: str | Path | None = None, review: Review | None = None
) -> tuple[list[Record], list[Problem]]:
    """(the valid records incl. the generated references, every problem); never raises for bad records."""
    records, problems, _ = check_records(records_dir, review)
    return records, problems


def check_records(
    records_dir: str | Path | None = None, review: Review | None = None
) -> tuple[list[Record], list[Problem], list[Problem]]:
    """(valid records incl. references, problems, warnings); warnings do not make the records invalid."""
    folder = Path(records_dir) if records_dir is not None else RECORDS_DIR
    if records_dir is not None and not folder.is_dir():
        raise MesochatError(f"records directory {folder} does not exist; pass a folder holding *.yaml files")
    files = sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]) if folder.is_dir() else []

    entries: list[_Entry] = []
    problems: list[Problem] = []
    for path in files:
        file_entries, file_problems = _parse_file(path)
        entries.extend(file_entries)
        problems.extend(file_problems)

    refs = reference_records(review or load_review())
    # Ids and links are checked on the raw mappings, so an otherwise invalid record still claims its id
    # (no cascade of "points to no record") and a duplicate is reported even when one copy is broken.
    defined_in: dict[str, str] = {r.id: "the generated reference list" for r in refs}
    records: list[Record] = []
    for e in entries:
        rid = e.raw_id
        if rid is None:
            continue
        if rid in defined_in:
            if e.item.get("type") != "ref":  # a hand-written ref record is reported as such already
                problems.append(Problem(e.file, rid, "id", f"duplicate id; already defined in {defined_in[rid]}"))
            continue
        defined_in[rid] = e.file
        if e.record is not None:
            records.append(e.record)
    problems.extend(_link_problems(entries, set(defined_in)))
    problems.extend(_basis_problems(entries, set(defined_in)))
    figure_problems, warnings = _figure_findings(entries)
    problems.extend(figure_problems)
    problems.sort(key=lambda p: p.file)  # stable: grouped by file, in file order within each
    return records + list(refs), problems, warnings


def validate_records(records_dir: str | Path | None = None, review: Review | None = None) -> list[Problem]:
    """Every problem in the records (empty list when all are valid)."""
    return collect_records(records_dir, review)[1]


def load_records(records_dir: str | Path | None = None, review: Review | None = None) -> list[Record]:
    """YAML records (default ``corpus/records/*.yaml``) followed by ``ref:1`` .. ``ref:206``.

    Raises MesochatError with the first problem(s) when anything is invalid.
    """
    records, problems = collect_records(records_dir, review)
    if problems:
        shown = "; ".join(str(p) for p in problems[:2])
        more = f" (and {len(problems) - 2} more)" if len(problems) > 2 else ""
        raise MesochatError(
            f"{len(problems)} problem(s) in records: {shown}{more}; run 'mesochat corpus validate' to list them all"
        )
    return records


def records_by_id(records: list[Record]) -> dict[str, Record]:
    return {r.id: r for r in records}

