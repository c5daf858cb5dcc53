//! The one error type of the domain layer.
//!
//! `Display` is English and meant for logs; [`DomainError::code`] is the stable identifier put in
//! the JSON error body; [`DomainError::message_zh`] is what the person who typed the value reads.
//! Variants never carry the rejected value itself: resident ID numbers, phone numbers and names
//! are personal data and must not reach logs through an error.

use super::printable::{PrintedField, is_invisible};
use crate::failure::{Code, Describe, Description, code};

/// A value could not be parsed into one of the domain types.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DomainError {
    /// A unified social credit code does not have 18 characters after trimming.
    #[error("unified social credit code must have 18 characters, found {length}")]
    UsccLength {
        /// Number of characters found.
        length: usize,
    },

    /// A unified social credit code contains a character outside the GB 32100 character set
    /// (digits and upper-case letters other than I, O, Z, S and V).
    #[error(
        "unified social credit code has invalid character {character:?} at position {position}"
    )]
    UsccCharacter {
        /// 1-based position of the character.
        position: usize,
        /// The character as it was given.
        character: char,
    },

    /// Positions 3 to 8 of a unified social credit code (the administrative division code of the
    /// registration authority) are not all digits.
    #[error(
        "unified social credit code must have a digit at position {position} \
         (administrative division code), found {character:?}"
    )]
    UsccRegion {
        /// 1-based position of the character.
        position: usize,
        /// The character as it was given.
        character: char,
    },

    /// The 18th character of a unified social credit code does not match the check character
    /// computed from the first 17.
    #[error("unified social credit code check character should be {expected:?}, found {found:?}")]
    UsccChecksum {
        /// Check character computed from the first 17 characters.
        expected: char,
        /// Check character given.
        found: char,
    },

    /// A resident ID number does not have 18 characters after trimming.
    #[error("resident ID number must have 18 characters, found {length}")]
    IdLength {
        /// Number of characters found.
        length: usize,
    },

    /// A resident ID number has something other than a digit in positions 1 to 17, or other than
    /// a digit or `X` in position 18.
    #[error("resident ID number has invalid character {character:?} at position {position}")]
    IdCharacter {
        /// 1-based position of the character.
        position: usize,
        /// The character as it was given.
        character: char,
    },

    /// Positions 7 to 14 of a resident ID number are not an acceptable birth date.
    #[error("resident ID number has an invalid birth date: {reason}")]
    IdBirthDate {
        /// What is wrong with the date (the date itself is not kept: it is personal data).
        reason: BirthDateProblem,
    },

    /// The 18th character of a resident ID number does not match the check character computed
    /// from the first 17 digits.
    #[error("resident ID number check character should be {expected:?}, found {found:?}")]
    IdChecksum {
        /// Check character computed from the first 17 digits.
        expected: char,
        /// Check character given.
        found: char,
    },

    /// A phone number is not a mainland China mobile number.
    #[error("phone number is not a mainland China mobile number: {reason}")]
    PhoneFormat {
        /// What is wrong with it.
        reason: PhoneProblem,
    },

    /// A person's name is not acceptable.
    #[error("person name rejected: {reason}")]
    PersonName {
        /// What is wrong with it.
        reason: NameProblem,
    },

    /// An employer's name is not acceptable.
    #[error("unit name rejected: {reason}")]
    UnitName {
        /// What is wrong with it.
        reason: NameProblem,
    },

    /// A certificate serial number is not well-formed hexadecimal.
    #[error("certificate serial number is malformed: {reason}")]
    SerialFormat {
        /// What is wrong with it.
        reason: SerialProblem,
    },

    /// A certificate serial number is zero; RFC 5280 requires a positive integer.
    #[error("certificate serial number must be positive, found zero")]
    SerialNotPositive,

    /// A certificate serial number's DER content octets are fewer than 8 (too little entropy for
    /// a serial we issue) or more than 20 (forbidden by RFC 5280).
    #[error("certificate serial number must be 8 to 20 octets, found {length}")]
    SerialLength {
        /// Number of DER content octets of the value.
        length: usize,
    },

    /// A value to be printed on the application form holds a character the form cannot print
    /// (see [`printable`](super::printable)): an emoji, a symbol or a rare character no font of
    /// the form has, private use, an unassigned code point, or an invisible character.
    #[error(
        "{field:?} holds a character the application form cannot print, at position {position}"
    )]
    Unprintable {
        /// Which value.
        field: PrintedField,
        /// 1-based position of the character in the value.
        position: usize,
        /// The first such character.
        character: char,
    },
}

/// Why the birth date in a resident ID number was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BirthDateProblem {
    /// The eight digits are not a calendar date (month 13, 30 February, 29 February of a common
    /// year…).
    #[error("not a calendar date")]
    NotACalendarDate,
    /// The date is after today (China Standard Time).
    #[error("date is in the future")]
    InFuture,
    /// The date is before 1900.
    #[error("date is before 1900")]
    Before1900,
}

/// Why a phone number was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PhoneProblem {
    /// Nothing but whitespace was given.
    #[error("empty")]
    Empty,
    /// A character other than digits, spaces, dashes and a leading `+` was given.
    #[error("invalid character {character:?}")]
    Character {
        /// The offending character.
        character: char,
    },
    /// A `+` country code other than 86 was given.
    #[error("country code is not +86")]
    CountryCode,
    /// The national number does not have 11 digits.
    #[error("national number must have 11 digits, found {digits}")]
    Length {
        /// Number of digits found after removing the country code.
        digits: usize,
    },
    /// The 11 digits do not start with 13 to 19.
    #[error("national number must start with 13 to 19")]
    Prefix,
}

/// Why a person's or an employer's name was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameProblem {
    /// Fewer characters than allowed (0 when only whitespace was given).
    #[error("{length} characters, at least {min} required")]
    TooShort {
        /// Number of characters found.
        length: usize,
        /// Minimum number of characters.
        min: usize,
    },
    /// More characters than allowed.
    #[error("{length} characters, at most {max} allowed")]
    TooLong {
        /// Number of characters found.
        length: usize,
        /// Maximum number of characters.
        max: usize,
    },
    /// A control or invisible formatting character.
    #[error("control or invisible character at position {position}")]
    ControlCharacter {
        /// 1-based position of the character in the trimmed input.
        position: usize,
    },
    /// A digit (names on identity documents have none).
    #[error("digit {character:?}")]
    Digit {
        /// The offending character.
        character: char,
    },
    /// A character that is not a Chinese character, a Latin letter, a middle dot or a space.
    #[error("character {character:?} not allowed")]
    DisallowedCharacter {
        /// The offending character.
        character: char,
    },
    /// A middle dot or space at the start or end, next to another separator, or (for a space)
    /// not between two Latin letters.
    #[error("misplaced separator {separator:?}")]
    MisplacedSeparator {
        /// The separator: `'·'` or `' '`.
        separator: char,
    },
}

/// Why a certificate serial number was rejected as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SerialProblem {
    /// No hex digits were given.
    #[error("empty")]
    Empty,
    /// A character that is neither a hex digit nor a `:` separator.
    #[error("invalid character {character:?} at position {position}")]
    Character {
        /// 1-based position of the character in the trimmed input.
        position: usize,
        /// The offending character.
        character: char,
    },
    /// `:` separators are used but a group between them is not exactly two hex digits.
    #[error("with ':' separators every group must have two hex digits")]
    Grouping,
}

impl DomainError {
    /// A stable snake_case identifier for the JSON error body; clients may match on it, so a
    /// code is never renamed or reused.
    pub fn code(&self) -> Code {
        match self {
            Self::UsccLength { .. } => code::USCC_LENGTH,
            Self::UsccCharacter { .. } => code::USCC_CHARACTER,
            Self::UsccRegion { .. } => code::USCC_REGION,
            Self::UsccChecksum { .. } => code::USCC_CHECKSUM,
            Self::IdLength { .. } => code::ID_NUMBER_LENGTH,
            Self::IdCharacter { .. } => code::ID_NUMBER_CHARACTER,
            Self::IdBirthDate { .. } => code::ID_NUMBER_BIRTH_DATE,
            Self::IdChecksum { .. } => code::ID_NUMBER_CHECKSUM,
            Self::PhoneFormat { .. } => code::PHONE_INVALID,
            Self::PersonName { .. } => code::PERSON_NAME_INVALID,
            Self::UnitName { .. } => code::UNIT_NAME_INVALID,
            Self::SerialFormat { .. } => code::SERIAL_INVALID,
            Self::SerialNotPositive => code::SERIAL_NOT_POSITIVE,
            Self::SerialLength { .. } => code::SERIAL_LENGTH,
            Self::Unprintable { .. } => code::TEXT_UNPRINTABLE,
        }
    }

    /// A Chinese message telling the person what is wrong and what to do about it.
    pub fn message_zh(&self) -> String {
        const CHECK_LICENCE: &str = "请核对营业执照上的代码";
        const CHECK_ID: &str = "请核对后重新输入";
        match self {
            Self::UsccLength { length } => {
                format!("统一社会信用代码应为18位，当前为{length}位，{CHECK_LICENCE}")
            }
            Self::UsccCharacter {
                position,
                character,
            } => format!(
                "统一社会信用代码第{position}位“{character}”不是有效字符（代码只含数字和除 I、O、Z、S、V \
                 以外的英文字母），{CHECK_LICENCE}"
            ),
            Self::UsccRegion { position, .. } => format!(
                "统一社会信用代码第{position}位应为数字（第3至8位是登记管理机关行政区划码），{CHECK_LICENCE}"
            ),
            Self::UsccChecksum { expected, found } => format!(
                "统一社会信用代码校验位错误：按前17位计算，第18位应为 {expected}，输入的是 {found}；\
                 也可能是前17位有误，请逐位核对营业执照上的代码"
            ),
            Self::IdLength { length } => {
                format!("身份证号码应为18位，当前为{length}位，{CHECK_ID}")
            }
            Self::IdCharacter { position: 18, .. } => {
                format!("身份证号码最后一位应为数字或字母 X，{CHECK_ID}")
            }
            Self::IdCharacter { position, .. } => {
                format!("身份证号码第{position}位应为数字，{CHECK_ID}")
            }
            Self::IdBirthDate { reason } => {
                let problem = match reason {
                    BirthDateProblem::NotACalendarDate => "不是有效日期",
                    BirthDateProblem::InFuture => "晚于今天",
                    BirthDateProblem::Before1900 => "早于1900年",
                };
                format!("身份证号码中的出生日期（第7至14位）{problem}，{CHECK_ID}")
            }
            Self::IdChecksum { .. } => format!("身份证号码校验位不正确，{CHECK_ID}"),
            Self::PhoneFormat { reason } => match reason {
                PhoneProblem::Empty => "请输入手机号码".to_owned(),
                PhoneProblem::Character { character } => format!(
                    "手机号码中不能包含“{character}”，请只输入数字（可带 +86 前缀、空格或短横线）"
                ),
                PhoneProblem::CountryCode => {
                    "仅支持中国大陆手机号码（+86），请核对后重新输入".to_owned()
                }
                PhoneProblem::Length { digits } => {
                    format!("手机号码应为11位数字，当前为{digits}位，{CHECK_ID}")
                }
                PhoneProblem::Prefix => {
                    "手机号码应为以 13 至 19 开头的11位中国大陆手机号码，请核对后重新输入"
                        .to_owned()
                }
            },
            Self::PersonName { reason } => name_message_zh("姓名", reason),
            Self::UnitName { reason } => name_message_zh("单位名称", reason),
            Self::SerialFormat { reason } => match reason {
                SerialProblem::Empty => "请输入证书序列号".to_owned(),
                SerialProblem::Character {
                    position,
                    character,
                } => format!(
                    "证书序列号第{position}位“{character}”不是十六进制字符（0-9、A-F），请核对后重新输入"
                ),
                SerialProblem::Grouping => {
                    "证书序列号使用冒号分隔时，每组应为两位十六进制字符，请核对后重新输入"
                        .to_owned()
                }
            },
            Self::SerialNotPositive => "证书序列号不能为 0，请核对后重新输入".to_owned(),
            Self::SerialLength { length } => {
                format!("证书序列号长度应为8至20字节，当前为{length}字节，请核对后重新输入")
            }
            Self::Unprintable {
                field,
                position,
                character,
            } => {
                let field = field.label_zh();
                if is_invisible(*character) {
                    format!(
                        "{field}第{position}个字符是不可见的控制字符或特殊空格，无法打印在申请表上，\
                         请删除后重新输入"
                    )
                } else {
                    format!(
                        "{field}中的“{character}”（第{position}个字）无法打印在申请表上，\
                         请删除或改用规范汉字"
                    )
                }
            }
        }
    }
}

impl Describe for DomainError {
    fn describe(&self) -> Description {
        Description::new(self.code(), self.message_zh())
    }
}

fn name_message_zh(subject: &str, reason: &NameProblem) -> String {
    match reason {
        NameProblem::TooShort { length: 0, .. } => format!("请输入{subject}"),
        NameProblem::TooShort { min, .. } => format!("{subject}至少应有{min}个字"),
        NameProblem::TooLong { length, max } => {
            format!("{subject}不能超过{max}个字，当前为{length}个字")
        }
        NameProblem::ControlCharacter { position } => {
            format!("{subject}第{position}个字符是不可见的控制字符，请删除后重新输入")
        }
        NameProblem::Digit { .. } => format!("{subject}中不能包含数字，请按证件上的{subject}填写"),
        NameProblem::DisallowedCharacter { character } => format!(
            "{subject}中不能包含“{character}”，只能使用汉字、英文字母、间隔号“·”及英文单词之间的空格"
        ),
        NameProblem::MisplacedSeparator { separator: ' ' } => {
            format!("{subject}中的空格只能出现在两个英文单词之间，请删除多余的空格")
        }
        NameProblem::MisplacedSeparator { .. } => {
            format!("{subject}中的间隔号“·”只能出现在两个字之间，请按证件上的{subject}填写")
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    /// One value of every variant and every reason; a new variant must be added here.
    fn every_error() -> Vec<DomainError> {
        let mut errors = vec![
            DomainError::UsccLength { length: 17 },
            DomainError::UsccCharacter {
                position: 9,
                character: 'I',
            },
            DomainError::UsccRegion {
                position: 3,
                character: 'A',
            },
            DomainError::UsccChecksum {
                expected: 'T',
                found: 'X',
            },
            DomainError::IdLength { length: 15 },
            DomainError::IdCharacter {
                position: 18,
                character: 'Y',
            },
            DomainError::IdCharacter {
                position: 3,
                character: 'A',
            },
            DomainError::IdChecksum {
                expected: 'X',
                found: '1',
            },
            DomainError::SerialNotPositive,
            DomainError::SerialLength { length: 21 },
            DomainError::Unprintable {
                field: PrintedField::UnitName,
                position: 3,
                character: '😀',
            },
            DomainError::Unprintable {
                field: PrintedField::Address,
                position: 4,
                character: '\u{202E}',
            },
        ];
        errors.extend(
            [
                BirthDateProblem::NotACalendarDate,
                BirthDateProblem::InFuture,
                BirthDateProblem::Before1900,
            ]
            .map(|reason| DomainError::IdBirthDate { reason }),
        );
        errors.extend(
            [
                PhoneProblem::Empty,
                PhoneProblem::Character { character: '.' },
                PhoneProblem::CountryCode,
                PhoneProblem::Length { digits: 10 },
                PhoneProblem::Prefix,
            ]
            .map(|reason| DomainError::PhoneFormat { reason }),
        );
        let name_problems = [
            NameProblem::TooShort { length: 0, min: 2 },
            NameProblem::TooShort { length: 1, min: 2 },
            NameProblem::TooLong {
                length: 31,
                max: 30,
            },
            NameProblem::ControlCharacter { position: 2 },
            NameProblem::Digit { character: '1' },
            NameProblem::DisallowedCharacter { character: '!' },
            NameProblem::MisplacedSeparator { separator: ' ' },
            NameProblem::MisplacedSeparator { separator: '·' },
        ];
        errors.extend(name_problems.map(|reason| DomainError::PersonName { reason }));
        errors.extend(name_problems.map(|reason| DomainError::UnitName { reason }));
        errors.extend(
            [
                SerialProblem::Empty,
                SerialProblem::Character {
                    position: 3,
                    character: 'G',
                },
                SerialProblem::Grouping,
            ]
            .map(|reason| DomainError::SerialFormat { reason }),
        );
        errors
    }

    #[test]
    fn codes_are_snake_case_and_one_per_variant() {
        let codes: HashSet<&str> = every_error().iter().map(|e| e.code().name()).collect();
        assert_eq!(codes.len(), 15, "{codes:?}");
        for code in codes {
            assert!(
                code.chars()
                    .all(|character| character.is_ascii_lowercase() || character == '_'),
                "{code}"
            );
        }
    }

    #[test]
    fn every_error_has_an_english_log_line_and_a_chinese_message() {
        for error in every_error() {
            let is_chinese = |character: char| ('\u{4E00}'..='\u{9FFF}').contains(&character);
            // English for logs (the samples carry no Chinese characters of their own).
            let log_line = error.to_string();
            assert!(
                !log_line.is_empty() && !log_line.chars().any(is_chinese),
                "{log_line}"
            );
            let message = error.message_zh();
            assert!(message.chars().any(is_chinese), "{error:?}: {message}");
        }
    }

    #[test]
    fn messages_follow_the_wording_people_see() {
        assert_eq!(
            DomainError::IdChecksum {
                expected: 'X',
                found: '1'
            }
            .message_zh(),
            "身份证号码校验位不正确，请核对后重新输入"
        );
        assert!(
            DomainError::UsccChecksum {
                expected: 'X',
                found: '1'
            }
            .message_zh()
            .starts_with("统一社会信用代码校验位错误：按前17位计算，第18位应为 X")
        );
        assert_eq!(
            DomainError::UnitName {
                reason: NameProblem::TooShort { length: 0, min: 2 }
            }
            .message_zh(),
            "请输入单位名称"
        );
    }
}
