"""Issue 21: a service started with a broken configuration file does not start; it logs and raises the
loader's one message ``file: key.path: message`` (services/common/configfile.py ConfigFiles).

Started as operators start it — ``nameko run --config deploy/local/config.yaml services.<name>.service`` —
with the file's setting pointing at a broken copy; the same service with the shipped file starts."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from services.common import settings

pytestmark = pytest.mark.integration

NAMEKO = str(Path(sys.executable).with_name("nameko"))


def _start(tmp_path, service: str, env: dict) -> subprocess.Popen:
    environment = dict(os.environ, ZHIFA_VAR_DIR=str(tmp_path), ZHIFA_METRICS_DISABLED="1",
                       **{f"ZHIFA_{service.upper()}_DB": f"sqlite:///{tmp_path / (service + '.db')}"}, **env)
    return subprocess.Popen([NAMEKO, "run", "--config", "deploy/local/config.yaml", f"services.{service}.service"],
                            cwd=settings.ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)


@pytest.mark.parametrize("service, setting, name, broken, message", [
    ("review", "ZHIFA_REVIEW_SETTINGS", "review/review.yaml", ("warn_working_days: 1", "warn_working_days: one"),
     "task.warn_working_days: Not a valid integer."),
    ("records", "ZHIFA_RECORDS_RETENTION_FILE", "records/retention.yaml", ("  default_years: 30", "  default_yrs: 30"),
     "personal_data.default_years: Missing data for required field.; personal_data.default_yrs: Unknown field."),
])
def test_a_service_with_a_broken_config_file_does_not_start_and_says_why(tmp_path, service, setting, name, broken,
                                                                          message):
    text = (settings.ROOT / "config" / name).read_text(encoding="utf-8")
    assert broken[0] in text
    path = tmp_path / Path(name).name
    path.write_text(text.replace(broken[0], broken[1]), encoding="utf-8")
    process = _start(tmp_path, service, {setting: str(path)})
    output, _ = process.communicate(timeout=120)
    assert process.returncode != 0, output
    line = f"{path}: {message}"
    assert f"CRITICAL services.common.configfile: {service} not started: bad configuration: {line}" in output, output
    assert f"ConfigFileError: {line}" in output, output          # raised out of the runner: nameko run exits


def test_in_process_the_container_refuses_to_start_and_starts_with_the_shipped_file(amqp_uri, tmp_path):
    """The same through nameko's ServiceContainer (what ServiceRunner and the tests' suites use): start()
    raises the message with a broken file; with the shipped files it starts and holds what it loaded."""
    from nameko import config
    from nameko.containers import ServiceContainer

    from services.common.configfile import ConfigFileError
    from services.common.migrations import upgrade
    from services.review.service import ReviewService

    url = f"sqlite:///{tmp_path / 'review.db'}"
    broken = tmp_path / "checklist.yaml"
    broken.write_text("min_certified_officers: 2\ncriminal_transfer: {default: {basis: gross, threshold: 1}}\n",
                      encoding="utf-8")
    base = {"AMQP_URI": amqp_uri, "ZHIFA_DATABASES": {"review": url}, "ZHIFA_METRICS_DISABLED": "1"}
    upgrade("review", url)
    with config.patch(dict(base, ZHIFA_REVIEW_CHECKLIST=str(broken)), clear=False):
        container = ServiceContainer(ReviewService)
        with pytest.raises(ConfigFileError, match=f"^{broken}: criminal_transfer.default.basis: Must be one of"):
            container.start()
        container.kill()
    with config.patch(base, clear=False):
        container = ServiceContainer(ReviewService)
        container.start()
        try:
            provider = next(e for e in container.dependencies if e.attr_name == "config_files")
            assert provider.files.checklist.min_certified_officers == 2
        finally:
            container.stop()


def test_rev8_review_with_the_shipped_sample_benchmarks_does_not_start_outside_the_demo(amqp_uri, tmp_path):
    """Issue 18 (REV-8): ZHIFA_SAMPLE_DATA off (any deployment) and the shipped SAMPLE-* benchmarks: the
    container refuses to start, naming the file and the sample matter codes."""
    from nameko import config
    from nameko.containers import ServiceContainer

    from services.common.migrations import upgrade
    from services.common.sample_data import SampleDataRefused
    from services.review.service import ReviewService

    url = f"sqlite:///{tmp_path / 'review.db'}"
    upgrade("review", url)
    base = {"AMQP_URI": amqp_uri, "ZHIFA_DATABASES": {"review": url}, "ZHIFA_METRICS_DISABLED": "1",
            "ZHIFA_SAMPLE_DATA": "false"}
    with config.patch(base, clear=False):
        container = ServiceContainer(ReviewService)
        with pytest.raises(SampleDataRefused, match=r"benchmarks\.yaml: sample data is not live configuration: "
                                                    r"SAMPLE-"):
            container.start()
        container.kill()
