"""kernel.config: precedence defaults < config file < environment < option, provenance, index read-back."""

from __future__ import annotations

from pathlib import Path

import pytest

from kernel import config as kc
from kernel.config import Config
from kernel.errors import MesochatError


@pytest.fixture
def clean_env(monkeypatch):
    for name in list(__import__("os").environ):
        if name.startswith("MESOCHAT_") or name == "OPENAI_API_KEY":
            monkeypatch.delenv(name)
    return monkeypatch


def write_toml(tmp_path, text):
    path = tmp_path / "mesochat.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_each_layer_overrides_the_one_below(tmp_path, clean_env):
    path = write_toml(tmp_path, "[chunking]\nsize = 120\noverlap = 2\n[retrieval]\ndepth = 70\n")
    clean_env.setenv("MESOCHAT_CHUNKING_SIZE", "140")
    config = Config.load(config_file=path, chunk_size=200)
    assert config.chunking.size == 200 and config.source("chunking.size") == "option --chunk-size"
    assert config.chunking.overlap == 2 and config.source("chunking.overlap") == f"config file {path}"
    assert config.retrieval.depth == 70
    assert config.embedding.batch_size == 64 and config.source("embedding.batch_size") == "default"
    without_option = Config.load(config_file=path)
    assert without_option.chunking.size == 140
    assert without_option.source("chunking.size") == "environment $MESOCHAT_CHUNKING_SIZE"


def test_established_environment_names(tmp_path, clean_env):
    clean_env.setenv("MESOCHAT_HOME", str(tmp_path))
    clean_env.setenv("MESOCHAT_CHROMA_URL", "http://127.0.0.1:9")
    clean_env.setenv("OPENAI_API_KEY", "sk-test")
    config = Config.load(config_file=None)
    assert config.paths.home == tmp_path and config.index_dir == tmp_path / "index" / "mesochat"
    assert config.chroma.url == "http://127.0.0.1:9"
    assert config.llm.api_key.get_secret_value() == "sk-test"
    assert "sk-test" not in repr(config) and "sk-test" not in str(config.effective())


def test_config_file_is_found_through_the_environment(tmp_path, clean_env):
    path = write_toml(tmp_path, '[chroma]\ncollection = "other-index"\n')
    clean_env.setenv("MESOCHAT_CONFIG", str(path))
    assert Config.load().chroma.collection == "other-index"
    clean_env.setenv("MESOCHAT_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(MesochatError, match="MESOCHAT_CONFIG"):
        Config.load()


@pytest.mark.parametrize(
    ("text", "message"),
    [("[chunking]\nsize = 0\n", "chunking.size"), ("[nope]\nx = 1\n", "Unknown section"),
     ("[chunking]\nwords = 3\n", "chunking.words"), ("[chunking\n", "TOML")],
)
def test_bad_config_files_are_one_line_errors(tmp_path, clean_env, text, message):
    with pytest.raises(MesochatError, match=message) as info:
        Config.load(config_file=write_toml(tmp_path, text))
    assert "\n" not in str(info.value)


def test_unknown_option_and_bad_value(clean_env):
    with pytest.raises(MesochatError, match="Unknown option 'chunksize'"):
        Config.load(config_file=None, chunksize=3)
    with pytest.raises(MesochatError, match=r"answer.k \(option --k\)"):
        Config.load(config_file=None, k=0)


def test_an_explicit_llm_backend_replaces_the_other_from_a_lower_layer(clean_env):
    clean_env.setenv("MESOCHAT_LLM_BASE_URL", "http://127.0.0.1:10")
    assert Config.load(config_file=None).llm.backend == "openai-like"
    config = Config.load(config_file=None, llm_gguf="/x.gguf")
    assert config.llm.backend == "llama-cpp" and config.llm.base_url is None
    with pytest.raises(MesochatError, match="both an LLM endpoint"):
        Config.load(config_file=None, llm_gguf="/x.gguf", llm_base_url="http://127.0.0.1:10")


def test_index_shape_is_read_back_unless_chosen(clean_env):
    built = Config.load(config_file=None, environment=False, chunk_size=200, retrieval_bm25_k1=1.2)
    shape = built.index_shape()
    assert shape["chunking.size"] == 200 and shape["retrieval.bm25_k1"] == 1.2
    plain = Config.load(config_file=None, environment=False).with_index(shape)
    assert plain.chunking.size == 200 and plain.source("chunking.size") == "index manifest"
    assert plain.retrieval.bm25_params == {"method": "lucene", "k1": 1.2, "b": 0.4, "title_weight": 1, "field_weight": 0}
    chosen = Config.load(config_file=None, environment=False, chunk_size=100).with_index(shape)
    assert chosen.chunking.size == 100 and chosen.source("chunking.size") == "option --chunk-size"


def test_the_kernel_leaves_the_abstention_threshold_to_the_assistant():
    """kernel/ knows no assistant file: unset, the threshold is None (the assistant fills in its calibration)."""
    assert Config.load(config_file=None, environment=False).answer.abstain_threshold is None
    assert Config.load(config_file=None, environment=False, threshold=0.4).answer.abstain_threshold == 0.4
    assert "calibration" not in Path(kc.__file__).read_text(encoding="utf-8").split("class AnswerConfig")[0]
