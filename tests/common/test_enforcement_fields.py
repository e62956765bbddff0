"""执法领域 names on pages (issue 19, DISC-1/DISC-9): a field sent as a code is shown by its Chinese name, one
sent in Chinese as sent, and an unknown code never as the code itself."""
from services.common.catalogue.fields import ENFORCEMENT_FIELD_NAMES_ZH, enforcement_field_zh
from services.gateway import pages


def test_codes_become_names_and_chinese_stays():
    assert enforcement_field_zh("ecology_environment") == "生态环境"
    assert enforcement_field_zh("market_regulation") == "市场监管"
    assert enforcement_field_zh("市场监管") == "市场监管"
    assert enforcement_field_zh("some_new_field") == "其他领域"
    assert enforcement_field_zh(None) == "" and enforcement_field_zh("  ") == ""
    assert all(not name.isascii() for name in ENFORCEMENT_FIELD_NAMES_ZH.values())


def test_the_config_files_fields_all_have_names():
    """Every field the shipped rules and checklists configure by code has a Chinese name."""
    import yaml
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "config"
    checklist = yaml.safe_load((root / "review" / "checklist.yaml").read_text(encoding="utf-8"))
    codes = set()

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "fields" and isinstance(value, dict):
                    codes.update(value)
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(checklist)
    assert codes and codes <= set(ENFORCEMENT_FIELD_NAMES_ZH), codes - set(ENFORCEMENT_FIELD_NAMES_ZH)


def test_the_page_filter_is_installed():
    assert pages._env.from_string("{{ 'transport'|field_zh }}").render() == "交通运输"
