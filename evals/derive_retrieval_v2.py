"""Derives evals/sets/retrieval-v2-{dev,test}.jsonl from review-v2-{dev,test}: the field of the one record asked about
that holds the asked attribute (ATTR_FIELDS; results and ties picked by the nuggets they state). Run once:
`python -m evals.derive_retrieval_v2` (rewrites both files; check the diff)."""
import json
import re
import sys
from collections import Counter
from pathlib import Path

from corpus import load_records
from indexing.render import record_names, render_fields

SETS = Path(__file__).resolve().parent / "sets"


def main() -> None:
    records = {r.id: r for r in load_records()}
    names = record_names(records.values())
    rendered = {rid: render_fields(r, names) for rid, r in records.items() if r.type != "ref"}

    ATTR_FIELDS = {"sample-size": ["n_randomised"], "phase": ["design"], "design": ["design"], "population": ["population"],
      "setting": ["setting"], "arms-doses": ["arms"], "primary-endpoint": ["primary_endpoint"], "registration": ["registration"],
      "publication": ["publication"], "class": ["class", "kind", "category", "intro"], "target": ["targets"],
      "mechanism": ["mechanism", "description"], "biomarker-selection": ["relevance"], "approval": ["approval"],
      "definition": ["expansion", "definition", "intro", "class"]}
    RESULT_ATTRS = {"os", "pfs", "orr", "dcr", "survival-rate", "hazard-ratio", "safety", "result"}
    def norm(s): return re.sub(r"\s+", " ", s.lower())

    for split in ("dev", "test"):
        out = []
        skipped = Counter()
        for line in (SETS / f"review-v2-{split}.jsonl").read_text(encoding="utf-8").splitlines():
            d = json.loads(line)
            if not d["answerable"] or d["category"] not in ("attribute", "definition", "review-prose", "reference"):
                continue
            rel = []
            if d["category"] in ("review-prose", "reference"):
                rel = []
                for j in d["relevant"]:
                    if "span" in j:
                        rel.append(j)
                    elif j["record_id"].startswith("ref:"):
                        rel.append({"record_id": j["record_id"], "field": "citation"})
                if not rel:
                    skipped["prose-no-span"] += 1; continue
            else:
                if len(d["entities"]) != 1:
                    skipped["entities"] += 1; continue
                rid = d["entities"][0]
                rr = rendered.get(rid)
                if rr is None:
                    skipped["no-render"] += 1; continue
                attr = d.get("attribute")
                fields = [f for f in rr.fields if f.key not in ("names", "sources")]
                if d["category"] == "definition" or (d["form"] == "definition" and attr in ("class", "definition")):
                    first = {"agent": "class", "term": "expansion"}.get(records[rid].type, "intro")
                    keys = [first, "summary", "definition"]
                    pool = [f for f in fields if f.key in keys]
                elif attr in RESULT_ATTRS:
                    pool = [f for f in fields if f.key.startswith("result:")]
                else:
                    wanted = ATTR_FIELDS.get(attr, [])
                    pool = [f for f in fields if f.key.split(":")[0] in wanted]
                if not pool:
                    pool = fields
                best, best_n = [], -1
                for f in pool:
                    text = norm(rr.text[f.start:f.end])
                    n = sum(norm(x) in text for x in d["nuggets"])
                    if n > best_n:
                        best, best_n = [f], n
                    elif n == best_n:
                        best.append(f)
                if d["category"] == "definition" or attr in ("class", "definition") and d["form"] == "definition":
                    best = pool  # what a thing is: its first sentence and summary
                if not best:
                    skipped["no-field"] += 1; print("NOFIELD", d["id"], d["question"], d["nuggets"], file=sys.stderr); continue
                for f in best:
                    j = {"record_id": rid, "field": f.key.split(":")[0]}
                    if f.key.startswith("result:") or f.key.startswith("approval:"):
                        j["label"] = f.label
                    rel.append(j)
                if len(best) > 2:
                    skipped["ambiguous"] += 1; print("AMBIG", d["id"], d["question"], attr, [f.key for f in best], file=sys.stderr)
            item = {"id": f"r2-{split}-{len(out)+1:03d}", "question": d["question"], "category": d["category"],
                    "attribute": d.get("attribute"), "relevant": rel, "from": d["id"]}
            out.append(item)
        with open(SETS / f"retrieval-v2-{split}.jsonl", "w") as fh:
            fh.writelines(json.dumps(it, ensure_ascii=False) + "\n" for it in out)
        print(split, len(out), dict(skipped), file=sys.stderr)


if __name__ == "__main__":
    main()
