"""PLAT-1 region tiers and scope; PLAT-8 party identifiers."""
import pytest

from services.common.identifiers import (Tier, parent_region, region_covers, region_tier, resident_id_check_char,
                                         uscc_check_char, validate_resident_id, validate_uscc)


@pytest.mark.parametrize("code,tier,parent", [
    ("320000", Tier.PROVINCE, None), ("320400", Tier.CITY, "320000"), ("320412", Tier.COUNTY, "320400"),
    ("320412001", Tier.TOWNSHIP, "320412")])
def test_plat1_tiers_and_parents(code, tier, parent):
    assert region_tier(code) == tier and parent_region(code) == parent


@pytest.mark.parametrize("scope,code,allowed", [
    ("320000", "320412001", True), ("320400", "320412", True), ("320400", "320500", False),
    ("320412", "320412001", True), ("320412", "320411", False), ("320412001", "320412", False),
    ("320412", "320400", False), ("320400", "bad", False)])
def test_plat1_scope(scope, code, allowed):
    assert region_covers(scope, code) is allowed


def test_plat8_resident_id_check_digit():
    assert validate_resident_id("11010519491231002X") is None           # GB 11643 published example
    assert "校验位" in validate_resident_id("110105194912310021")
    assert "出生日期" in validate_resident_id("110105194913310028")
    assert validate_resident_id("1101051949") is not None
    first17 = "32041219850314123"
    assert validate_resident_id(first17 + resident_id_check_char(first17)) is None


def test_plat8_unified_social_credit_code():
    assert validate_uscc("91350100M000100Y43") is None                  # a published valid code
    assert "校验位" in validate_uscc("91350100M000100Y44")
    assert validate_uscc("91350100M000100YI3") is not None              # I is not in the alphabet
    first17 = "91320412MA1X2Y3B4"
    assert validate_uscc(first17 + uscc_check_char(first17)) is None
