"""Python's cyclic garbage collector, tuned for a service process (issue 17).

A service allocates a few dozen short-lived containers per event (the decoded body, the validated event,
the entry, the rows). With Python's default first threshold (700) the collector ran about 700 times in a
20,000-event burst of the records ingestion bench, and its full collections walked every object loaded at
start-up (nameko, SQLAlchemy, marshmallow schemas, the Merkle tail): 10% of the records service's CPU
(measured with ``gc.callbacks``, bench/records_ingest.py). So, once a service has started:

- ``gc.freeze()`` moves everything loaded so far out of the collector's scans — modules, classes, schemas
  and caches live as long as the process, and a cycle among them is never garbage worth the walk;
- the first threshold is ``ZHIFA_GC_THRESHOLD`` (20,000 new containers): collections are ~30 times rarer and
  each still only looks at young objects. Memory held by garbage cycles between two collections stays small
  (their objects are short-lived batch data); reference counting frees everything else at once, as before.

``ZHIFA_GC_THRESHOLD=0`` leaves Python's defaults and freezes nothing.
"""
from __future__ import annotations

import gc
import logging

from services.common import settings

log = logging.getLogger(__name__)

_tuned = False


def tune() -> bool:
    """Freeze what is loaded and raise the first threshold — once per process (every service's ``Metrics``
    starts it, and a process may run several containers). Returns True when it tuned the collector now."""
    global _tuned
    threshold = settings.get("ZHIFA_GC_THRESHOLD")
    if _tuned or not threshold:
        return False
    gc.collect()
    gc.freeze()
    _, second, third = gc.get_threshold()
    gc.set_threshold(threshold, second, third)
    _tuned = True
    log.info("gc: %s objects frozen, first threshold %s", gc.get_freeze_count(), threshold)
    return True
