"""Test set-up. eventlet first (nameko no longer monkey-patches on its own — NAMEKO-NOTES)."""
import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # eventlet announces its own deprecation on import
    import eventlet

eventlet.monkey_patch()

import os  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("ZHIFA_METRICS_DISABLED", "1")

pytest_plugins = ["tests.fixtures"]
