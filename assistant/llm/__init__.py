"""The LLM path: endpoint or in-process GGUF, prompts, and the support check of generated sentences."""
