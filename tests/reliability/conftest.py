"""Lets the reliability tests import their helper modules (``_procs``, ``_writer``)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
