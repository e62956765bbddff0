"""CMP-1: the complaint attachment rules the gateway and the complaints service share
(services/common/attachments.py, config/attachments.yaml)."""
import pytest

from services.common.attachments import check_attachment, check_attachments, load_intake_rules
from services.common.configfile import ConfigFileError as ConfigError

PDF, PNG = b"%PDF-1.7 demo", b"\x89PNG\r\n\x1a\n demo"


def write(tmp_path, text):
    path = tmp_path / "attachments.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_cmp1_shipped_rules_accept_a_pdf_and_refuse_a_renamed_program():
    rules = load_intake_rules()
    assert check_attachment("处罚决定书.pdf", "application/pdf", PDF, rules) == []
    assert check_attachment("照片.pdf", "application/pdf", b"MZ\x90\x00 program", rules) == [
        f"照片.pdf：只接受{rules.types_label}格式的文件"]
    assert check_attachment("照片.png", "application/pdf", PNG, rules)  # declared type differs from the bytes
    assert check_attachments([("a.pdf", "application/pdf", PDF)] * (rules.max_files + 1), rules)[0] == \
        f"附件最多{rules.max_files}个"


@pytest.mark.parametrize("text, message", [
    ("attachments: {max_files: 5, max_bytes: 10, types: {image/png: png}, extra: 1}\n",
     "attachments.extra: Unknown field."),
    ("attachments: {max_files: -1, max_bytes: 10, types: {image/png: png}}\n", "attachments.max_files:"),
    ("attachments: {max_files: 5, max_bytes: 10, types: {image/gif: gif}}\n", "attachments.types.image/gif"),
    ("attachments: {max_files: 5, max_bytes: 10}\n", "attachments.types: Missing data"),
    ("- a list\n", "(top level): must be a mapping"),
])
def test_cmp1_a_broken_rules_file_is_refused_with_file_key_and_reason(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_intake_rules(path)
    assert str(caught.value).startswith(f"{path}: ") and message in str(caught.value), str(caught.value)


def test_every_problem_of_a_file_is_in_the_one_message(tmp_path):
    path = write(tmp_path, "attachments: {max_files: x, max_bytes: 0, types: {image/png: png}}\nother: 1\n")
    with pytest.raises(ConfigError) as caught:
        load_intake_rules(path)
    message = str(caught.value)
    assert "attachments.max_files: Not a valid integer." in message and "attachments.max_bytes:" in message
    assert "other: Unknown field." in message and message.count(str(path)) == 1
