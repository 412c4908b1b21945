"""Uploaded files: tell their type from their content, and remove identifying metadata.

See :mod:`intake.files.sniff` and :mod:`intake.files.clean` (the contract for callers).
"""

from __future__ import annotations

from intake.files._base import Destination, Source
from intake.files.clean import CleanReport, IncompleteOutputError, clean, copy_through
from intake.files.labels import Info
from intake.files.sniff import FileKind, Sniffed, sniff

__all__ = [
    "CleanReport",
    "Destination",
    "FileKind",
    "IncompleteOutputError",
    "Info",
    "Sniffed",
    "Source",
    "clean",
    "copy_through",
    "sniff",
]
