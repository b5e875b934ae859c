"""The BEIR loader and runner end to end on a 30-document dataset the test writes (real MiniLM, real Chroma)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.beir import METRICS, PUBLISHED_SCIFACT, beir_document, collection_name, load_beir, run_beir
from kernel.errors import MesochatError

TOPICS = [
    ("Aspirin and colorectal adenoma", "Daily low-dose aspirin reduced the recurrence of colorectal adenomas in a randomised trial."),
    ("Statins in primary prevention", "Statin therapy lowered LDL cholesterol and major vascular events in people without heart disease."),
    ("Vitamin D and fractures", "Vitamin D supplementation alone did not prevent hip fractures in older adults living at home."),
    ("Metformin and gluconeogenesis", "Metformin suppresses hepatic gluconeogenesis through effects on mitochondrial redox state."),
    ("BRCA1 and homologous recombination", "Loss of BRCA1 impairs homologous recombination repair and sensitises tumours to PARP inhibitors."),
    ("Malaria bed nets", "Insecticide-treated bed nets cut child mortality from malaria in sub-Saharan Africa."),
    ("Gut microbiota and obesity", "Germ-free mice colonised with microbiota from obese donors gained more fat mass."),
    ("Telomere length and ageing", "Shorter leukocyte telomeres were associated with higher mortality in the elderly."),
    ("Influenza vaccination in pregnancy", "Maternal influenza vaccination protected infants from laboratory-confirmed influenza."),
    ("Smoking cessation with varenicline", "Varenicline doubled continuous abstinence from smoking compared with placebo."),
    ("HPV vaccine and cervical lesions", "Quadrivalent HPV vaccination prevented high-grade cervical intraepithelial neoplasia."),
    ("CRISPR off-target editing", "Whole-genome sequencing detected few off-target mutations after CRISPR-Cas9 editing."),
    ("Sleep deprivation and memory", "One night without sleep impaired hippocampal encoding of new episodic memories."),
    ("Antibiotic resistance in hospitals", "Carbapenem-resistant Enterobacteriaceae spread between hospital wards via sinks."),
    ("Exercise and depression", "Aerobic exercise reduced depressive symptoms as much as sertraline over sixteen weeks."),
    ("Salt intake and blood pressure", "Reducing dietary sodium lowered systolic blood pressure in hypertensive adults."),
    ("Zika virus and microcephaly", "Zika virus infection during pregnancy was linked to congenital microcephaly."),
    ("Tau propagation in Alzheimer disease", "Misfolded tau spreads between connected neurons in mouse models of Alzheimer disease."),
    ("Insulin pumps in type 1 diabetes", "Closed-loop insulin delivery improved time in glucose target range."),
    ("Coffee and liver disease", "Coffee consumption was inversely associated with liver cirrhosis."),
    ("Air pollution and asthma", "Traffic-related air pollution increased asthma incidence in children."),
    ("Helicobacter pylori and gastric cancer", "Eradicating Helicobacter pylori lowered the incidence of gastric cancer."),
    ("Stem cell niche in the intestine", "Lgr5-positive crypt cells generate all cell types of the intestinal epithelium."),
    ("Breastfeeding and infections", "Exclusive breastfeeding reduced gastrointestinal infections during the first year."),
    ("Hip replacement outcomes", "Cemented hip prostheses had fewer revisions in patients over seventy-five."),
    ("Measles immune amnesia", "Measles infection erased pre-existing antibody repertoires against other pathogens."),
    ("Dengue antibody enhancement", "Prior dengue antibodies enhanced disease severity on secondary infection."),
    ("Circadian clock genes", "Mutations in the Period gene shortened the circadian rhythm in fruit flies."),
    ("Opioid prescribing after surgery", "Large postoperative opioid prescriptions predicted persistent opioid use."),
    ("Iron deficiency in pregnancy", "Intravenous iron corrected anaemia faster than oral iron in pregnant women."),
]
QUERIES = {  # query id -> (text, relevant document index)
    "q1": ("Does aspirin prevent bowel polyps from coming back?", 0),
    "q2": ("PARP inhibitors work in tumours lacking BRCA1 DNA repair", 4),
    "q3": ("Can physical activity treat depression like antidepressants?", 14),
    "q4": ("Insecticide nets reduce childhood deaths from malaria", 5),
    "q5": ("misfolded tau protein spreading between neurons", 17),
}


def write_dataset(root: Path) -> Path:
    (root / "qrels").mkdir(parents=True)
    with (root / "corpus.jsonl").open("w") as fh:
        for i, (title, text) in enumerate(TOPICS):
            fh.write(json.dumps({"_id": f"d{i}", "title": title, "text": text}) + "\n")
    with (root / "queries.jsonl").open("w") as fh:
        for qid, (text, _) in QUERIES.items():
            fh.write(json.dumps({"_id": qid, "text": text, "metadata": {}}) + "\n")
        fh.write(json.dumps({"_id": "unjudged", "text": "a query with no judgements"}) + "\n")
    rows = "".join(f"{qid}\td{doc}\t1\n" for qid, (_, doc) in QUERIES.items())
    (root / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n" + rows)
    return root


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("beir") / "tiny-set")


def test_load_beir_builds_documents_with_title_and_abstract_sections(dataset):
    docs, queries, qrels = load_beir(dataset, "test")
    assert len(docs) == 30 and set(queries) == set(QUERIES)  # unjudged queries are left out
    assert qrels["q2"] == {"d4": 1}
    d = docs[4]
    assert d.doc_id == "d4" and d.source_type == "beir" and d.title == TOPICS[4][0]
    title, abstract = d.sections
    assert (title.path, d.text[title.start : title.end]) == ("Title", TOPICS[4][0])
    assert (abstract.path, d.text[abstract.start : abstract.end]) == ("Abstract", TOPICS[4][1])
    untitled = beir_document({"_id": "x", "title": "", "text": "Only a body."})
    assert untitled.text == "Only a body." and [s.path for s in untitled.sections] == ["Abstract"]
    assert collection_name(dataset) == "beir-tiny-set"


def test_bad_layouts_are_one_line_errors(tmp_path, dataset):
    with pytest.raises(MesochatError, match="not a directory"):
        load_beir(tmp_path / "nowhere", "test")
    with pytest.raises(MesochatError, match="available splits: test"):
        load_beir(dataset, "dev")
    broken = write_dataset(tmp_path / "broken")
    with (broken / "corpus.jsonl").open("a") as fh:
        fh.write("{not json\n")
    with pytest.raises(MesochatError, match="line 31 is not JSON"):
        load_beir(broken, "test")
    (broken / "corpus.jsonl").unlink()
    with pytest.raises(MesochatError, match="corpus.jsonl is missing"):
        load_beir(broken, "test")
    orphan = write_dataset(tmp_path / "orphan")
    (orphan / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq404\td1\t1\n")
    with pytest.raises(MesochatError, match="no text in queries.jsonl"):
        load_beir(orphan, "test")
    (orphan / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1 d1\n")
    with pytest.raises(MesochatError, match="line 2"):
        load_beir(orphan, "test")


@pytest.mark.slow
def test_run_beir_end_to_end_and_cached(dataset, tmp_path):
    import ranx

    from indexing.build import build_index
    from kernel.config import Config

    settings = Config.load(home=tmp_path / "home")
    result = run_beir(dataset, "test", ["bm25", "dense", "hybrid"], settings, progress=False)
    assert result["n_queries"] == 5 and result["n_documents"] == 30
    for mode in ("bm25", "dense", "hybrid"):
        metrics = result["modes"][mode]
        assert set(METRICS) <= set(metrics)
        assert all(0.0 <= metrics[m] <= 1.0 for m in METRICS)
        assert isinstance(result["runs"][mode], ranx.Run)
        assert set(result["runs"][mode].keys()) == set(QUERIES)
    # Paraphrased queries: MiniLM finds every answer in the top 3; the hybrid keeps that.
    assert result["modes"]["dense"]["recall@5"] == 1.0
    assert result["modes"]["hybrid"]["recall@5"] == 1.0 and result["modes"]["hybrid"]["ndcg@10"] >= 0.8
    assert result["modes"]["hybrid"]["recall@100"] == 1.0
    # The dataset lives in its own collection beside the review index, and re-running embeds nothing.
    beir_settings = Config.load(home=settings.paths.home, collection="beir-tiny-set")
    assert beir_settings.index_dir.is_dir()
    docs, _, _ = load_beir(dataset, "test")
    again = build_index(beir_settings, documents=docs, progress=False)
    assert again.chunks_embedded == 0 and again.docs_unchanged == 30


def test_published_baselines_are_there():
    assert PUBLISHED_SCIFACT["BM25 flat (Anserini)"] == {"ndcg@10": 0.679, "recall@100": 0.925}
    assert PUBLISHED_SCIFACT["bge-small-en-v1.5"]["ndcg@10"] == 0.713
