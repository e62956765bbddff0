"""Published complaint channels with parent-region fallback (CMP-1)."""
from __future__ import annotations

import pytest

from services.complaints.domain import ConfigError, Hotline, channels_for, load_channels


def test_cmp1_county_entry_with_fields_inherited_from_city_and_province():
    info = channels_for("320412")
    assert info.name == "常州市武进区"
    assert info.postal_address.postcode == "213100"
    assert info.email == "zfjd@sfj.changzhou.example"                 # from the city
    assert info.hotlines == (Hotline("12345", "常州市12345政务服务便民热线"),)
    assert info.web_form == "https://zfjd.jiangsu.example/complaints/new"  # from the province
    assert info.has_12345
    assert info.sources == {"name": "320412", "scope": "320412", "postal_address": "320412", "mailbox": "320400",
                            "email": "320400", "hotlines": "320400", "web_form": "320000"}


def test_cmp1_township_and_unlisted_county_fall_back_to_parent():
    town = channels_for("320412001")
    assert town.region_code == "320412001"
    assert town.sources["scope"] == "320412"
    other_county = channels_for("320411")
    assert other_county.sources["scope"] == "320000"
    assert other_county.email == "zfjd@sfj.changzhou.example"


def test_cmp1_region_outside_any_published_entry():
    assert channels_for("110105") is None
    with pytest.raises(ValueError):
        channels_for("12")


@pytest.mark.parametrize("yaml_text, message", [
    ("regions: {}\n", "regions: must name at least one region"),
    ("regions:\n  '3204': {scope: x}\n", "not an administrative division code"),
    ("regions:\n  '320400': {name: 常州市}\n", "neither a scope nor any channel"),
    ("regions:\n  '320400': {email: not-an-address}\n", "regions.320400.email: Not a valid email address."),
    ("regions:\n  '320400': {web_form: ftp://x}\n", "regions.320400.web_form: Not a valid URL."),
    ("regions:\n  '320400': {hotlines: [{number: '12345'}]}\n", "regions.320400.hotlines.0.name: Missing data"),
    ("regions:\n  '320400': {fax: '123'}\n", "regions.320400.fax: Unknown field."),
])
def test_cmp1_channel_file_validation(tmp_path, yaml_text, message):
    path = tmp_path / "channels.yaml"
    path.write_text(yaml_text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_channels(path)


def test_cmp1_unquoted_codes_load(tmp_path):
    path = tmp_path / "channels.yaml"
    path.write_text("regions:\n  320400:\n    hotlines: [{number: 12345, name: 热线}]\n", encoding="utf-8")
    assert channels_for("320412", load_channels(path)).hotlines == (Hotline("12345", "热线"),)
