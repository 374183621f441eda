"""`scrub`: phone numbers, PRC ID-card numbers and e-mail addresses never reach storage;
ordinary numbers stay."""

from __future__ import annotations

import pytest

from services.common.privacy import scrub


class TestMobiles:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("请联系13812345678谢谢", "请联系[phone]谢谢"),
            ("电话 +86 138 1234 5678。", "电话 [phone]。"),
            ("+86-13912345678", "[phone]"),
            ("(+86)13812345678", "[phone]"),
            ("0086 13812345678", "[phone]"),
            ("138-1234-5678 或 199 8765 4321", "[phone] 或 [phone]"),
            ("全角１３８１２３４５６７８也算", "全角[phone]也算"),
        ],
    )
    def test_mainland_mobiles_in_every_usual_form(self, text: str, expected: str) -> None:
        assert scrub(text) == expected

    @pytest.mark.parametrize(
        "text",
        [
            "12345678901",  # 11 digits, but no mobile starts 12
            "13812345678901",  # part of a longer number
            "订单号 123456789012",
        ],
    )
    def test_other_long_numbers_stay(self, text: str) -> None:
        assert scrub(text) == text

    def test_landlines_with_an_area_code(self) -> None:
        assert scrub("办公室 0456-8221234，或(0456)8221235") == "办公室 [phone]，或[phone]"


class TestIdNumbers:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("身份证230102199003071234号", "身份证[id-number]号"),
            ("23010219900307123X", "[id-number]"),
            ("号码23010219900307123x结束", "号码[id-number]结束"),
            ("２３０１０２１９９００３０７１２３Ｘ", "[id-number]"),
        ],
    )
    def test_18_digit_numbers_with_a_birth_date(self, text: str, expected: str) -> None:
        assert scrub(text) == expected

    def test_an_18_digit_number_without_a_birth_date_stays(self) -> None:
        assert scrub("流水 123456789012345678") == "流水 123456789012345678"

    def test_a_longer_run_of_digits_is_no_id_number(self) -> None:
        assert scrub("2301021990030712345") == "2301021990030712345"


class TestEmails:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("邮箱 zhang.san@example.com.cn 联系", "邮箱 [email] 联系"),
            ("13812345678@qq.com", "[email]"),
            ("Write to a+b@gov.example.org.", "Write to [email]."),
        ],
    )
    def test_addresses(self, text: str, expected: str) -> None:
        assert scrub(text) == expected


class TestOrdinaryText:
    @pytest.mark.parametrize(
        "text",
        [
            "2026年评分95分，12345热线办理很快",
            "窗口排队20分钟，第3季度有改善",
            "2026-12-01 上午10:30 到访",
            "",
        ],
    )
    def test_stays_as_written(self, text: str) -> None:
        assert scrub(text) == text

    def test_everything_in_one_comment(self) -> None:
        text = "张三，13812345678，230102199003071234，zs@example.com：2026年打95分。"
        assert scrub(text) == "张三，[phone]，[id-number]，[email]：2026年打95分。"
