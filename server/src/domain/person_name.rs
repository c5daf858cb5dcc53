//! A person's name as on an identity document.

use serde::Deserialize;

use super::{DomainError, NameProblem, is_invisible_format, string_value_type};

const MIN_CHARS: usize = 2;
const MAX_CHARS: usize = 30;

/// The separator in transliterated names of ethnic-minority and foreign persons
/// (e.g. 买买提·艾力), U+00B7 as printed on resident ID cards.
const MIDDLE_DOT: char = '·';

/// A holder's (or agent's, or legal representative's) name: 2–30 characters of Chinese
/// characters and Latin letters, with middle dots between name parts and single spaces between
/// Latin words.
///
/// `parse` trims, turns the look-alike dots that input methods produce (`・`, `‧`, `･`, `•`) into
/// U+00B7 and collapses runs of spaces (including full-width and no-break spaces) into one
/// ASCII space, so that the stored form compares equal to what the identity check returns.
/// Tabs and line breaks inside the name are control characters and rejected.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct PersonName(String);

impl PersonName {
    /// Parses a person's name.
    ///
    /// # Errors
    ///
    /// [`DomainError::PersonName`] with the [`NameProblem`].
    pub fn parse(input: &str) -> Result<Self, DomainError> {
        let invalid = |reason| DomainError::PersonName { reason };
        let mut name: Vec<char> = Vec::with_capacity(input.len());
        let mut pending_space = false;
        for (index, given) in input.trim().chars().enumerate() {
            if given.is_control() || is_invisible_format(given) {
                return Err(invalid(NameProblem::ControlCharacter {
                    position: index + 1,
                }));
            }
            if given.is_whitespace() {
                pending_space = true;
                continue;
            }
            let character = match given {
                '・' | '‧' | '･' | '•' => MIDDLE_DOT,
                other => other,
            };
            if character.is_numeric() && !is_chinese_character(character) {
                return Err(invalid(NameProblem::Digit { character }));
            }
            if !is_name_character(character) {
                return Err(invalid(NameProblem::DisallowedCharacter { character }));
            }
            if pending_space {
                name.push(' ');
                pending_space = false;
            }
            name.push(character);
        }

        let length = name.len();
        if length < MIN_CHARS {
            return Err(invalid(NameProblem::TooShort {
                length,
                min: MIN_CHARS,
            }));
        }
        if length > MAX_CHARS {
            return Err(invalid(NameProblem::TooLong {
                length,
                max: MAX_CHARS,
            }));
        }
        if let Some(separator) = misplaced_separator(&name) {
            return Err(invalid(NameProblem::MisplacedSeparator { separator }));
        }
        Ok(Self(name.into_iter().collect()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

string_value_type!(PersonName);

/// The first separator that is not between two name characters; a space must moreover be
/// between two Latin letters. `name` has no leading or trailing whitespace and no space runs.
fn misplaced_separator(name: &[char]) -> Option<char> {
    let is_separator = |character: char| character == MIDDLE_DOT || character == ' ';
    if let Some(&first) = name.first().filter(|&&first| is_separator(first)) {
        return Some(first);
    }
    if let Some(&last) = name.last().filter(|&&last| is_separator(last)) {
        return Some(last);
    }
    name.windows(3).find_map(|window| match *window {
        [before, ' ', after] if !(is_latin_letter(before) && is_latin_letter(after)) => Some(' '),
        [before, MIDDLE_DOT, after] if is_separator(before) || is_separator(after) => {
            Some(MIDDLE_DOT)
        }
        _ => None,
    })
}

/// A character a name may consist of: a Chinese character, a Latin letter or the middle dot.
/// The printed form draws these, and only these, from a fallback font when STSong-Light lacks
/// them ([`super::printable`]).
pub(super) fn is_name_character(character: char) -> bool {
    is_chinese_character(character) || is_latin_letter(character) || character == MIDDLE_DOT
}

/// CJK unified ideographs (basic block, extension A, extensions B–H in planes 2 and 3),
/// compatibility ideographs and 〇. Rare characters in names (生僻字) live in the extensions.
fn is_chinese_character(character: char) -> bool {
    matches!(
        character,
        '\u{3007}'
            | '\u{3400}'..='\u{4DBF}'
            | '\u{4E00}'..='\u{9FFF}'
            | '\u{F900}'..='\u{FAFF}'
            | '\u{20000}'..='\u{323AF}'
    )
}

/// Letters of the Latin script: ASCII, Latin-1, Latin Extended-A/B and Latin Extended
/// Additional (accented letters of transliterated foreign names).
fn is_latin_letter(character: char) -> bool {
    character.is_alphabetic()
        && matches!(
            character,
            'A'..='Z' | 'a'..='z' | '\u{00C0}'..='\u{024F}' | '\u{1E00}'..='\u{1EFF}'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(input: &str) -> NameProblem {
        match PersonName::parse(input) {
            Err(DomainError::PersonName { reason }) => reason,
            other => panic!("{input:?} gave {other:?}"),
        }
    }

    #[test]
    fn accepts_real_name_shapes() {
        for name in [
            "张三",
            "欧阳娜娜",
            "买买提·艾力",
            "迪丽热巴·迪力木拉提",
            "John Smith",
            "José María Núñez",
            "Nguyễn Văn An",
            "李〇",
            "𠮷野",
            "约翰·Smith",
        ] {
            assert_eq!(PersonName::parse(name).unwrap().as_str(), name);
        }
    }

    #[test]
    fn normalises_whitespace_and_look_alike_dots() {
        assert_eq!(PersonName::parse("  张三\n").unwrap().as_str(), "张三");
        assert_eq!(
            PersonName::parse("John   Smith").unwrap().as_str(),
            "John Smith"
        );
        assert_eq!(
            PersonName::parse("买买提・艾力").unwrap().as_str(),
            "买买提·艾力"
        );
        assert_eq!(
            PersonName::parse("买买提•艾力").unwrap().as_str(),
            "买买提·艾力"
        );
    }

    #[test]
    fn counts_characters_not_bytes() {
        assert!(PersonName::parse(&"王".repeat(30)).is_ok());
        assert_eq!(
            problem(&"王".repeat(31)),
            NameProblem::TooLong {
                length: 31,
                max: 30
            }
        );
        assert_eq!(problem("王"), NameProblem::TooShort { length: 1, min: 2 });
        assert_eq!(problem("  "), NameProblem::TooShort { length: 0, min: 2 });
        assert_eq!(
            PersonName::parse("").unwrap_err().message_zh(),
            "请输入姓名"
        );
    }

    #[test]
    fn rejects_control_and_invisible_characters() {
        assert_eq!(
            problem("张\u{0007}三"),
            NameProblem::ControlCharacter { position: 2 }
        );
        assert_eq!(
            problem("张\u{200B}三"),
            NameProblem::ControlCharacter { position: 2 }
        );
    }

    #[test]
    fn rejects_digits_including_full_width_and_circled() {
        for (name, character) in [("张三1", '1'), ("张三２", '２'), ("张三①", '①')] {
            assert_eq!(problem(name), NameProblem::Digit { character }, "{name}");
        }
        let error = PersonName::parse("张三1").unwrap_err();
        assert_eq!(error.code(), "person_name_invalid");
        assert!(error.message_zh().contains("不能包含数字"));
    }

    #[test]
    fn rejects_punctuation_symbols_and_other_scripts() {
        for (name, character) in [
            ("张三!", '!'),
            ("O'Brien", '\''),
            ("张-三", '-'),
            ("Иван", 'И'),
            ("김철수", '김'),
            ("张三😀", '😀'),
        ] {
            assert_eq!(
                problem(name),
                NameProblem::DisallowedCharacter { character },
                "{name}"
            );
        }
    }

    #[test]
    fn rejects_misplaced_separators() {
        for (name, separator) in [
            ("·买买提", '·'),
            ("买买提·", '·'),
            ("买买提··艾力", '·'),
            ("John ·Smith", ' '),
            ("张 三", ' '),
            ("John 三", ' '),
        ] {
            assert_eq!(
                problem(name),
                NameProblem::MisplacedSeparator { separator },
                "{name}"
            );
        }
    }

    #[test]
    fn serde_round_trip_as_a_plain_string() {
        let name = PersonName::parse("买买提·艾力").unwrap();
        let json = serde_json::to_string(&name).unwrap();
        assert_eq!(json, "\"买买提·艾力\"");
        assert_eq!(serde_json::from_str::<PersonName>(&json).unwrap(), name);
        assert!(serde_json::from_str::<PersonName>("\"张三1\"").is_err());
    }
}
