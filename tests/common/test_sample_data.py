"""Issue 18 (REV-8, CMP-1): the shipped sample data — review's ``SAMPLE-*`` discretion benchmarks and the
placeholder complaint channels — is live configuration only where ZHIFA_SAMPLE_DATA allows it (the demo's
deploy/local/config.yaml and the tests). Anywhere else the configuration loader refuses it, so the service
does not start and says which file and which entries are samples; replaced files start without it."""
import pytest
import yaml
from nameko import config

from services.common import settings
from services.common.configfile import ConfigFileError
from services.common.sample_data import SampleDataRefused, is_sample_text

OFF = {"ZHIFA_SAMPLE_DATA": "false"}


def test_rev8_sample_benchmarks_refused_without_the_setting_and_allowed_with_it():
    from services.review.configuration import load_all, load_benchmarks

    with config.patch(OFF, clear=False):
        with pytest.raises(SampleDataRefused, match=r"benchmarks\.yaml: sample data is not live configuration: "
                                                    r"SAMPLE-AQ-097-1, SAMPLE-DQ-099-1, SAMPLE-SP-126-3"):
            load_all()
        assert isinstance(SampleDataRefused("x"), ConfigFileError)        # stops the start-up like a bad file
    with config.patch({"ZHIFA_SAMPLE_DATA": "true"}, clear=False):
        assert "SAMPLE-SP-126-3" in load_benchmarks()


def test_rev8_published_benchmarks_start_without_the_setting(tmp_path):
    from services.review.configuration import load_benchmarks

    data = yaml.safe_load((settings.ROOT / "config" / "review" / "benchmarks.yaml").read_text(encoding="utf-8"))
    data["matters"] = {code.replace("SAMPLE-", "320000-"): m for code, m in data["matters"].items()}
    path = tmp_path / "benchmarks.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with config.patch(OFF, clear=False):
        assert sorted(load_benchmarks(path)) == ["320000-AQ-097-1", "320000-DQ-099-1", "320000-SP-126-3"]


def test_cmp1_placeholder_channels_refused_without_the_setting(tmp_path):
    from services.complaints.configuration import load_all

    with config.patch(OFF, clear=False), pytest.raises(SampleDataRefused) as refused:
        load_all()
    message = str(refused.value)
    assert "channels.yaml: sample data is not live configuration" in message
    assert "regions.320000.email" in message and "ZHIFA_SAMPLE_DATA" in message
    # the same directory with real-looking channels (no reserved domain, no 示例) is live configuration
    root = tmp_path / "config"
    import shutil

    shutil.copytree(settings.ROOT / "config", root)
    (root / "complaints" / "channels.yaml").write_text(
        'regions:\n  "320400":\n    name: 常州市\n    email: zfjd@sfj.changzhou.gov.cn\n'
        '    hotlines: [{number: "12345", name: 常州市12345政务服务便民热线}]\n', encoding="utf-8")
    with config.patch(OFF, clear=False):
        assert load_all(root).channels.channels_for("320412").email == "zfjd@sfj.changzhou.gov.cn"


@pytest.mark.parametrize("text, sample", [("zfjd@sfj.changzhou.example", True), ("https://zfjd.js.example/x", True),
                                          ("武进区司法局（示例地址，部署时替换）", True),
                                          ("zfjd@sfj.changzhou.gov.cn", False), ("12345政务服务便民热线", False),
                                          ("https://www.example.com/", False), (None, False)])
def test_placeholder_text(text, sample):
    assert is_sample_text(text) is sample


def test_the_demo_config_allows_sample_data_and_no_deployment_config_does():
    """make run (deploy/local) sets it; the compose and Kubernetes configs never do."""
    demo = yaml.safe_load((settings.ROOT / "deploy" / "local" / "config.yaml").read_text(encoding="utf-8"))
    assert demo["ZHIFA_SAMPLE_DATA"] is True
    for path in (settings.ROOT / "deploy").rglob("*"):
        if path.is_file() and path.suffix in (".yaml", ".yml", ".env", ".sh") and "local" not in path.parts:
            assert "ZHIFA_SAMPLE_DATA" not in path.read_text(encoding="utf-8", errors="ignore"), path
