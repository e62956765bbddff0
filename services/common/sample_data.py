"""Sample data shipped as live configuration is refused outside the demo and the tests (issue 18; REV-8, CMP-1).

The repository ships example rule files so that ``make run`` shows something: review's discretion benchmarks
with ``SAMPLE-*`` matter codes, complaint channels with placeholder addresses (RFC 2606 ``.example`` domains,
"（示例…）"). A deployment that forgets to replace them would push invented benchmarks to officers and publish
channels nobody reads. ``ZHIFA_SAMPLE_DATA`` (false by default) is the explicit permission the demo and the
tests give; without it the service's configuration loader raises :class:`SampleDataRefused` (a
``ConfigFileError``), so the service does not start and says which file and which entries are samples.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Iterable

from services.common import settings
from services.common.configfile import ConfigFileError

log = logging.getLogger(__name__)

SAMPLE_CODE_PREFIX = "SAMPLE-"
SAMPLE_DOMAIN_SUFFIX = ".example"          # RFC 2606: reserved, never a real address
SAMPLE_TEXT_MARK = "示例"


class SampleDataRefused(ConfigFileError):
    """A rule file holds sample data and ZHIFA_SAMPLE_DATA does not allow it."""


def sample_data_allowed() -> bool:
    return bool(settings.get("ZHIFA_SAMPLE_DATA"))


def is_sample_code(code: str) -> bool:
    return str(code).upper().startswith(SAMPLE_CODE_PREFIX)


def is_sample_text(text: str | None) -> bool:
    """An address, e-mail, URL or label that is a placeholder: a reserved ``.example`` domain or "示例"."""
    if not text:
        return False
    value = str(text)
    host = value.split("@")[-1].split("//")[-1].split("/")[0].split(":")[0].lower()
    return host.endswith(SAMPLE_DOMAIN_SUFFIX) or SAMPLE_TEXT_MARK in value


def refuse_sample_data(path: str | Path, samples: Iterable[str]) -> None:
    """Raise :class:`SampleDataRefused` naming ``path`` and the sample entries, unless there are none or
    ZHIFA_SAMPLE_DATA allows them (then a warning is logged)."""
    found = sorted(set(samples))
    if not found:
        return
    shown = ", ".join(found[:5]) + (f" and {len(found) - 5} more" if len(found) > 5 else "")
    if sample_data_allowed():
        log.warning("%s holds sample data (%s): allowed by ZHIFA_SAMPLE_DATA (demo and tests only)", path, shown)
        return
    raise SampleDataRefused(f"{path}: sample data is not live configuration: {shown}; replace the file with the "
                            f"published rules (or set ZHIFA_SAMPLE_DATA=true, for the demo and tests only)")
