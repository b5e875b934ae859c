"""Runs at start-up of every Python process the tests launch (tests.helpers.cli_env puts this directory on
PYTHONPATH): routes embeddings through the test vector cache when MESOCHAT_EMBED_CACHE names one."""

import os

if os.environ.get("MESOCHAT_EMBED_CACHE"):
    from tests.embed_cache import install

    install(os.environ["MESOCHAT_EMBED_CACHE"])
