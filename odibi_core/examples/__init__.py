"""Runnable examples: ``python -m odibi_core.examples.<name>``."""
