"""Synthetic recordings: the built-in demo, test fixtures and benchmark files. No Qt."""

from .files import DemoFiles, demo_folder, ensure_demo_files

__all__ = ["DemoFiles", "demo_folder", "ensure_demo_files"]
