"""Synthetic recordings: the built-in demo, test fixtures and benchmark files. No Qt."""
