//! What the printed application form can show, and the one check every printed field passes.
//!
//! The form (seed 003's 申请表, drawn by `applications::form_pdf`) sets its text in STSong-Light,
//! the standard CJK font PDF readers supply, and draws a character that font lacks with a glyph
//! taken from a configured fallback font and embedded as a subset. Input takes exactly what the
//! form draws, no more and no less. A character is printable when:
//!
//! - STSong-Light has it under the `UniGB-UCS2-H` encoding the form uses ([`in_standard_font`]):
//!   the code points that CMap maps, which are GB 18030's BMP repertoire (GBK, CJK Extension A,
//!   Kangxi radicals, the usual punctuation, Latin, Greek and Cyrillic), private use excluded; or
//! - it is a character a person's name can have ([`PersonName`]'s repertoire: a Chinese
//!   character of any extension or compatibility block, a Latin letter, the middle dot `·`) and
//!   a fallback font has a glyph for it ([`FallbackGlyphs`]).
//!
//! Why this rule rather than a fixed list of Unicode blocks: both halves are the data the PDF
//! itself draws from (the form asks [`in_standard_font`] to choose the font and the same
//! [`FallbackGlyphs`] for the glyph), so what the check accepts is what the form draws, whatever
//! fonts a deployment configures. Why only names' characters from a fallback font: the fallback
//! exists for 生僻字 and for the accented letters of transliterated names; a font that happens to
//! hold emoji (HanaMinA has some), symbols or private-use glyphs does not make them fit for a
//! document that is stamped and filed. So emoji, symbols outside GB 18030, private use,
//! unassigned code points, controls and invisible formatting characters are refused, with the
//! field and the character named.
//!
//! [`PersonName`]: super::PersonName

use super::{DomainError, is_invisible_format, person_name::is_name_character};

/// Where the printed form can find a glyph that STSong-Light lacks: the configured fallback
/// fonts. Implemented by the form's fonts; `()` stands for "no fallback font".
pub trait FallbackGlyphs {
    /// Whether some fallback font has a glyph for `character`.
    fn has_glyph(&self, character: char) -> bool;
}

impl FallbackGlyphs for () {
    fn has_glyph(&self, _character: char) -> bool {
        false
    }
}

/// A value printed on the application form, named as the form labels it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PrintedField {
    /// 单位名称.
    UnitName,
    /// 单位住所（地址）.
    Address,
    /// 行政区划代码.
    RegionCode,
    /// 统一社会信用代码.
    Uscc,
    /// 单位联系电话.
    ContactPhone,
    /// 经办人手机号码.
    AgentPhone,
    /// 法定代表人姓名.
    LegalRepresentativeName,
    /// 营业执照或法人证书登记机关.
    RegistrationAuthority,
    /// 法定代表人身份证号码.
    LegalRepresentativeId,
    /// 经办人姓名.
    AgentName,
    /// 被授权人（经办人）身份证号码.
    AgentId,
}

impl PrintedField {
    /// The input field that carries the value (the step's name for it).
    pub fn input_name(self) -> &'static str {
        match self {
            Self::UnitName => "name",
            Self::Address => "address",
            Self::RegionCode => "region_code",
            Self::Uscc => "uscc",
            Self::ContactPhone => "contact_phone",
            Self::AgentPhone => "phone",
            Self::LegalRepresentativeName => "legal_representative_name",
            Self::RegistrationAuthority => "registration_authority",
            Self::LegalRepresentativeId => "legal_representative_id",
            Self::AgentName => "name",
            Self::AgentId => "id_number",
        }
    }

    /// The field as the form and the wizard label it.
    pub fn label_zh(self) -> &'static str {
        match self {
            Self::UnitName => "单位名称",
            Self::Address => "单位住所（地址）",
            Self::RegionCode => "行政区划代码",
            Self::Uscc => "统一社会信用代码",
            Self::ContactPhone => "单位联系电话",
            Self::AgentPhone => "经办人手机号码",
            Self::LegalRepresentativeName => "法定代表人姓名",
            Self::RegistrationAuthority => "登记机关",
            Self::LegalRepresentativeId => "法定代表人身份证号码",
            Self::AgentName => "经办人姓名",
            Self::AgentId => "经办人身份证号码",
        }
    }
}

/// Whether STSong-Light has `character` under `UniGB-UCS2-H` (see [`STANDARD_FONT`]).
pub fn in_standard_font(character: char) -> bool {
    let Ok(code) = u16::try_from(u32::from(character)) else {
        return false;
    };
    STANDARD_FONT
        .binary_search_by(|&(first, last)| {
            if last < code {
                std::cmp::Ordering::Less
            } else if first > code {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

/// Whether the form draws `character` with a fallback font: it is a name's character that
/// STSong-Light lacks. Whether it can then be drawn depends on the fallback fonts' glyphs.
pub fn needs_fallback(character: char) -> bool {
    !in_standard_font(character) && is_name_character(character)
}

/// Whether the form can print `character`, given the fallback fonts.
pub fn is_printable(character: char, fallback: &dyn FallbackGlyphs) -> bool {
    in_standard_font(character) || (needs_fallback(character) && fallback.has_glyph(character))
}

/// Checks that every character of `text`, the value of `field`, can be printed on the form.
///
/// # Errors
///
/// [`DomainError::Unprintable`] naming the field and the first character that cannot.
pub fn check_printable(
    field: PrintedField,
    text: &str,
    fallback: &dyn FallbackGlyphs,
) -> Result<(), DomainError> {
    match text
        .chars()
        .enumerate()
        .find(|&(_, character)| !is_printable(character, fallback))
    {
        Some((index, character)) => Err(DomainError::Unprintable {
            field,
            position: index + 1,
            character,
        }),
        None => Ok(()),
    }
}

/// Whether a refused character shows nothing on screen, so that a message should name its
/// position rather than quote it.
pub(super) fn is_invisible(character: char) -> bool {
    character.is_control() || character.is_whitespace() || is_invisible_format(character)
}

/// The code points STSong-Light has under `UniGB-UCS2-H`, as inclusive ranges in ascending
/// order: every code point Adobe's CMap `UniGB-UCS2-H` (Adobe-GB1-4, version 12.006, as Debian's
/// poppler-data ships it) maps to a CID, less the 14 private-use code points it maps (GB 18030-2000
/// put a few vertical forms there), which input never takes. A test reads the CMap and compares.
const STANDARD_FONT: &[(u16, u16)] = &[
    (0x0020, 0x007E),
    (0x00A4, 0x00A5),
    (0x00A7, 0x00A8),
    (0x00B0, 0x00B1),
    (0x00D7, 0x00D7),
    (0x00E0, 0x00E1),
    (0x00E8, 0x00EA),
    (0x00EC, 0x00ED),
    (0x00F2, 0x00F3),
    (0x00F7, 0x00F7),
    (0x00F9, 0x00FA),
    (0x00FC, 0x00FC),
    (0x0101, 0x0101),
    (0x0113, 0x0113),
    (0x011B, 0x011B),
    (0x012B, 0x012B),
    (0x014D, 0x014D),
    (0x016B, 0x016B),
    (0x01CE, 0x01CE),
    (0x01D0, 0x01D0),
    (0x01D2, 0x01D2),
    (0x01D4, 0x01D4),
    (0x01D6, 0x01D6),
    (0x01D8, 0x01D8),
    (0x01DA, 0x01DA),
    (0x01DC, 0x01DC),
    (0x01F9, 0x01F9),
    (0x02C7, 0x02C7),
    (0x02C9, 0x02CB),
    (0x02D9, 0x02D9),
    (0x0391, 0x03A1),
    (0x03A3, 0x03A9),
    (0x03B1, 0x03C1),
    (0x03C3, 0x03C9),
    (0x0401, 0x0401),
    (0x0410, 0x044F),
    (0x0451, 0x0451),
    (0x1E3F, 0x1E3F),
    (0x2010, 0x2010),
    (0x2013, 0x2016),
    (0x2018, 0x2019),
    (0x201C, 0x201D),
    (0x2025, 0x2026),
    (0x2030, 0x2030),
    (0x2032, 0x2033),
    (0x2035, 0x2035),
    (0x203B, 0x203B),
    (0x20AC, 0x20AC),
    (0x2103, 0x2103),
    (0x2105, 0x2105),
    (0x2109, 0x2109),
    (0x2116, 0x2116),
    (0x2121, 0x2121),
    (0x2160, 0x216B),
    (0x2170, 0x2179),
    (0x2190, 0x2193),
    (0x2196, 0x2199),
    (0x2208, 0x2208),
    (0x220F, 0x220F),
    (0x2211, 0x2211),
    (0x2215, 0x2215),
    (0x221A, 0x221A),
    (0x221D, 0x2220),
    (0x2223, 0x2223),
    (0x2225, 0x2225),
    (0x2227, 0x222B),
    (0x222E, 0x222E),
    (0x2234, 0x2237),
    (0x223D, 0x223D),
    (0x2248, 0x2248),
    (0x224C, 0x224C),
    (0x2252, 0x2252),
    (0x2260, 0x2261),
    (0x2264, 0x2267),
    (0x226E, 0x226F),
    (0x2295, 0x2295),
    (0x2299, 0x2299),
    (0x22A5, 0x22A5),
    (0x22BF, 0x22BF),
    (0x22EF, 0x22EF),
    (0x2312, 0x2312),
    (0x2460, 0x2469),
    (0x2474, 0x249B),
    (0x2500, 0x254B),
    (0x2550, 0x2573),
    (0x2581, 0x258F),
    (0x2593, 0x2595),
    (0x25A0, 0x25A1),
    (0x25B2, 0x25B3),
    (0x25BC, 0x25BD),
    (0x25C6, 0x25C7),
    (0x25CB, 0x25CB),
    (0x25CE, 0x25CF),
    (0x25E2, 0x25E5),
    (0x2605, 0x2606),
    (0x2609, 0x2609),
    (0x2640, 0x2640),
    (0x2642, 0x2642),
    (0x2E80, 0x2E99),
    (0x2E9B, 0x2EF3),
    (0x2F00, 0x2FD5),
    (0x2FF0, 0x2FFB),
    (0x3000, 0x3003),
    (0x3005, 0x3017),
    (0x301D, 0x301E),
    (0x3021, 0x3029),
    (0x3033, 0x3035),
    (0x3038, 0x303A),
    (0x303E, 0x303F),
    (0x3041, 0x3094),
    (0x309B, 0x309E),
    (0x30A1, 0x30FE),
    (0x3105, 0x312C),
    (0x31A0, 0x31B7),
    (0x3220, 0x3229),
    (0x3231, 0x3231),
    (0x32A3, 0x32A3),
    (0x338E, 0x338F),
    (0x339C, 0x339E),
    (0x33A1, 0x33A1),
    (0x33C4, 0x33C4),
    (0x33CE, 0x33CE),
    (0x33D1, 0x33D2),
    (0x33D5, 0x33D5),
    (0x3400, 0x4DB5),
    (0x4E00, 0x9FA5),
    (0xF92C, 0xF92C),
    (0xFA0D, 0xFA0F),
    (0xFA11, 0xFA11),
    (0xFA13, 0xFA14),
    (0xFA18, 0xFA18),
    (0xFA1F, 0xFA21),
    (0xFA23, 0xFA24),
    (0xFA27, 0xFA29),
    (0xFE30, 0xFE30),
    (0xFE49, 0xFE52),
    (0xFE54, 0xFE57),
    (0xFE59, 0xFE66),
    (0xFE68, 0xFE6B),
    (0xFF01, 0xFF5E),
    (0xFFE0, 0xFFE5),
];

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use std::collections::BTreeSet;

    use super::*;

    /// A fallback font with a glyph for everything, to show what the rule refuses regardless.
    struct EveryGlyph;

    impl FallbackGlyphs for EveryGlyph {
        fn has_glyph(&self, _character: char) -> bool {
            true
        }
    }

    /// A fallback font with glyphs for exactly these characters.
    struct Glyphs(&'static str);

    impl FallbackGlyphs for Glyphs {
        fn has_glyph(&self, character: char) -> bool {
            self.0.contains(character)
        }
    }

    fn refused(field: PrintedField, text: &str, fallback: &dyn FallbackGlyphs) -> DomainError {
        check_printable(field, text, fallback).unwrap_err()
    }

    /// The code points `UniGB-UCS2-H` maps, read from poppler-data's copy of Adobe's CMap.
    fn cmap_code_points() -> BTreeSet<u32> {
        const CMAP: &str = "/usr/share/poppler/cMap/Adobe-GB1/UniGB-UCS2-H";
        let text = std::fs::read_to_string(CMAP).unwrap_or_else(|error| {
            panic!(
                "cannot read {CMAP} ({error}): this test needs Adobe's CMap; \
                 install it with `apt-get install -y poppler-data`"
            )
        });
        let hex = |token: &str| u32::from_str_radix(token.trim_matches(['<', '>']), 16).unwrap();
        let mut points = BTreeSet::new();
        let mut section = "";
        for line in text.lines() {
            let tokens: Vec<&str> = line.split_whitespace().collect();
            match tokens.as_slice() {
                [.., "begincidrange"] => section = "range",
                [.., "begincidchar"] => section = "char",
                ["endcidrange"] | ["endcidchar"] => section = "",
                [first, last, _cid] if section == "range" => points.extend(hex(first)..=hex(last)),
                [code, _cid] if section == "char" => {
                    points.insert(hex(code));
                }
                _ => {}
            }
        }
        points
    }

    #[test]
    fn the_standard_font_table_is_the_cmap_without_private_use() {
        let private_use = 0xE000..=0xF8FF;
        let mapped = cmap_code_points();
        assert!(mapped.len() > 28_000, "{} code points", mapped.len());
        let expected: BTreeSet<u32> = mapped
            .into_iter()
            .filter(|code| !private_use.contains(code))
            .collect();
        let table: BTreeSet<u32> = STANDARD_FONT
            .iter()
            .flat_map(|&(first, last)| u32::from(first)..=u32::from(last))
            .collect();
        assert_eq!(table, expected);
        // Sorted, disjoint and not adjacent, as the binary search needs.
        for pair in STANDARD_FONT.windows(2) {
            assert!(
                pair[0].0 <= pair[0].1 && pair[0].1 + 1 < pair[1].0,
                "{pair:?}"
            );
        }
        for code in expected {
            let character = char::from_u32(code).unwrap();
            assert!(in_standard_font(character), "U+{code:04X}");
        }
    }

    #[test]
    fn gb_text_needs_no_fallback_font() {
        for text in [
            "云南省昆明市西山区某某路 1 号（A 座）",
            "昆明测试科技有限公司",
            "ABB (China) Ltd.",
            "Ⅲ号楼 3—5 层，№ 12",
            "张三",
            "〇",
        ] {
            assert_eq!(check_printable(PrintedField::Address, text, &()), Ok(()));
        }
        assert!(!in_standard_font('𠀀'));
        assert!(!in_standard_font('\u{E816}'), "private use is not taken");
    }

    #[test]
    fn rare_characters_are_printable_with_a_fallback_font_that_has_them() {
        let fallback = Glyphs("𠀀𡘙·ñ");
        for name in ["王𠀀", "𡘙", "买买提·艾力", "Núñez"] {
            assert_eq!(
                check_printable(PrintedField::AgentName, name, &fallback),
                Ok(()),
                "{name}"
            );
        }
        assert_eq!(
            refused(PrintedField::AgentName, "王𠀀", &()),
            DomainError::Unprintable {
                field: PrintedField::AgentName,
                position: 2,
                character: '𠀀'
            }
        );
        // A rare character the fallback fonts lack is refused too.
        assert_eq!(
            refused(PrintedField::UnitName, "𠀁公司", &fallback),
            DomainError::Unprintable {
                field: PrintedField::UnitName,
                position: 1,
                character: '𠀁'
            }
        );
    }

    #[test]
    fn emoji_symbols_and_private_use_are_refused_whatever_the_fallback_font_holds() {
        for (text, position, character) in [
            ("腾讯😀科技", 3, '😀'),
            ("某某路♛号", 4, '♛'),
            ("某某路\u{E000}号", 4, '\u{E000}'),
            ("某某路\u{E816}号", 4, '\u{E816}'),
            ("김철수", 1, '김'),
            ("路\u{10FFFF}", 2, '\u{10FFFF}'),
        ] {
            assert_eq!(
                refused(PrintedField::Address, text, &EveryGlyph),
                DomainError::Unprintable {
                    field: PrintedField::Address,
                    position,
                    character
                },
                "{text}"
            );
        }
    }

    #[test]
    fn the_message_names_the_field_and_the_character_or_its_position() {
        let error = refused(PrintedField::UnitName, "腾讯😀科技", &EveryGlyph);
        assert_eq!(error.code(), "text_unprintable");
        assert_eq!(
            error.message_zh(),
            "单位名称中的“😀”（第3个字）无法打印在申请表上，请删除或改用规范汉字"
        );
        for invisible in ['\u{202E}', '\u{200B}', '\u{0007}', '\u{00A0}', '\u{2028}'] {
            let text = format!("某某路{invisible}1号");
            let error = refused(PrintedField::Address, &text, &EveryGlyph);
            assert_eq!(
                error.message_zh(),
                "单位住所（地址）第4个字符是不可见的控制字符或特殊空格，无法打印在申请表上，请删除后重新输入",
                "U+{:04X}",
                u32::from(invisible)
            );
        }
    }
}
