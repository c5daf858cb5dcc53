//! An employer's (用人单位) registered name.

use serde::Deserialize;

use super::{DomainError, NameProblem, is_invisible_format, string_value_type};

const MIN_CHARS: usize = 2;
const MAX_CHARS: usize = 100;

/// An employer's name as on its business licence: 2–100 characters, trimmed, without control or
/// invisible formatting characters. Otherwise kept exactly as given (full-width brackets and
/// all), because it is compared with the name registered elsewhere.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct UnitName(String);

impl UnitName {
    /// Parses an employer's name.
    ///
    /// # Errors
    ///
    /// [`DomainError::UnitName`] with the [`NameProblem`].
    pub fn parse(input: &str) -> Result<Self, DomainError> {
        let invalid = |reason| DomainError::UnitName { reason };
        let trimmed = input.trim();
        if let Some(index) = trimmed
            .chars()
            .position(|character| character.is_control() || is_invisible_format(character))
        {
            return Err(invalid(NameProblem::ControlCharacter {
                position: index + 1,
            }));
        }
        let length = trimmed.chars().count();
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
        Ok(Self(trimmed.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

string_value_type!(UnitName);

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(input: &str) -> NameProblem {
        match UnitName::parse(input) {
            Err(DomainError::UnitName { reason }) => reason,
            other => panic!("{input:?} gave {other:?}"),
        }
    }

    #[test]
    fn accepts_and_trims_real_name_shapes() {
        for (input, stored) in [
            (
                "深圳市腾讯计算机系统有限公司",
                "深圳市腾讯计算机系统有限公司",
            ),
            (" 腾讯科技（深圳）有限公司\t", "腾讯科技（深圳）有限公司"),
            ("昆明市第一中学", "昆明市第一中学"),
            ("ABB (China) Ltd.", "ABB (China) Ltd."),
        ] {
            assert_eq!(UnitName::parse(input).unwrap().as_str(), stored);
        }
    }

    #[test]
    fn counts_characters_not_bytes() {
        assert!(UnitName::parse(&"企".repeat(100)).is_ok());
        assert_eq!(
            problem(&"企".repeat(101)),
            NameProblem::TooLong {
                length: 101,
                max: 100
            }
        );
        assert_eq!(problem("企"), NameProblem::TooShort { length: 1, min: 2 });
        assert_eq!(problem(" \n "), NameProblem::TooShort { length: 0, min: 2 });
    }

    #[test]
    fn rejects_control_and_invisible_characters() {
        let error = UnitName::parse("腾讯\u{0000}科技").unwrap_err();
        assert_eq!(
            error,
            DomainError::UnitName {
                reason: NameProblem::ControlCharacter { position: 3 }
            }
        );
        assert_eq!(error.code(), "unit_name_invalid");
        assert!(error.message_zh().starts_with("单位名称第3个字符"));
        assert_eq!(
            problem("腾讯\u{202E}科技"),
            NameProblem::ControlCharacter { position: 3 }
        );
    }

    #[test]
    fn serde_round_trip_as_a_plain_string() {
        let name = UnitName::parse("腾讯科技（深圳）有限公司").unwrap();
        let json = serde_json::to_string(&name).unwrap();
        assert_eq!(serde_json::from_str::<UnitName>(&json).unwrap(), name);
        assert!(serde_json::from_str::<UnitName>("\"a\"").is_err());
    }
}
