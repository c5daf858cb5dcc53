//! Mainland China mobile phone number.

use serde::Deserialize;

use super::{DomainError, PhoneProblem, string_value_type};

const LENGTH: usize = 11;

/// A mainland China mobile number, stored as its 11 national digits (`1[3-9]` then 9 digits).
///
/// Personal data: `Debug` shows it masked like [`PhoneNumber::masked`].
#[derive(Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Parses a mobile number, accepting an optional `+86`, `86` or `0086` country prefix and
    /// spaces or dashes anywhere (`+86 138-1234-5678` → `13812345678`).
    ///
    /// # Errors
    ///
    /// [`DomainError::PhoneFormat`] with the [`PhoneProblem`].
    pub fn parse(input: &str) -> Result<Self, DomainError> {
        let invalid = |reason| DomainError::PhoneFormat { reason };
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(invalid(PhoneProblem::Empty));
        }

        let mut digits = String::with_capacity(trimmed.len());
        let mut international = false;
        for (index, character) in trimmed.chars().enumerate() {
            match character {
                '0'..='9' => digits.push(character),
                ' ' | '-' => {}
                '+' if index == 0 => international = true,
                _ => return Err(invalid(PhoneProblem::Character { character })),
            }
        }

        let national = if international {
            digits
                .strip_prefix("86")
                .ok_or(invalid(PhoneProblem::CountryCode))?
        } else if digits.len() == LENGTH + 2 {
            digits.strip_prefix("86").unwrap_or(&digits)
        } else if digits.len() == LENGTH + 4 {
            digits.strip_prefix("0086").unwrap_or(&digits)
        } else {
            &digits
        };

        if national.len() != LENGTH {
            return Err(invalid(PhoneProblem::Length {
                digits: national.len(),
            }));
        }
        if !matches!(national.as_bytes(), [b'1', b'3'..=b'9', ..]) {
            return Err(invalid(PhoneProblem::Prefix));
        }
        Ok(Self(national.to_owned()))
    }

    /// The 11 national digits. Personal data: do not log.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number with digits 4–7 hidden, for display and logs: `138****5678`.
    pub fn masked(&self) -> String {
        let head = self.0.get(..3).unwrap_or_default();
        let tail = self.0.get(7..).unwrap_or_default();
        format!("{head}****{tail}")
    }
}

string_value_type!(PhoneNumber);

impl std::fmt::Debug for PhoneNumber {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "PhoneNumber({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn problem(input: &str) -> PhoneProblem {
        match PhoneNumber::parse(input) {
            Err(DomainError::PhoneFormat { reason }) => reason,
            other => panic!("{input:?} gave {other:?}"),
        }
    }

    #[test]
    fn accepts_and_normalises_common_ways_of_writing_a_number() {
        for input in [
            "13812345678",
            " 13812345678 ",
            "138 1234 5678",
            "138-1234-5678",
            "+8613812345678",
            "+86 138 1234 5678",
            "+86-138-1234-5678",
            "8613812345678",
            "008613812345678",
        ] {
            assert_eq!(
                PhoneNumber::parse(input).unwrap().as_str(),
                "13812345678",
                "{input}"
            );
        }
    }

    #[test]
    fn accepts_every_second_digit_from_3_to_9() {
        for second in '3'..='9' {
            assert!(PhoneNumber::parse(&format!("1{second}012345678")).is_ok());
        }
    }

    #[test]
    fn rejects_each_problem() {
        assert_eq!(problem("   "), PhoneProblem::Empty);
        assert_eq!(
            problem("138.1234.5678"),
            PhoneProblem::Character { character: '.' }
        );
        assert_eq!(
            problem("138+12345678"),
            PhoneProblem::Character { character: '+' }
        );
        assert_eq!(problem("+85291234567"), PhoneProblem::CountryCode);
        assert_eq!(problem("1381234567"), PhoneProblem::Length { digits: 10 });
        assert_eq!(
            problem("+86138123456789"),
            PhoneProblem::Length { digits: 12 }
        );
        assert_eq!(problem("12812345678"), PhoneProblem::Prefix);
        assert_eq!(problem("23812345678"), PhoneProblem::Prefix);
        // A landline with area code is 11 or 12 digits but not a mobile number.
        assert_eq!(problem("08711234567"), PhoneProblem::Prefix);

        let error = PhoneNumber::parse("1381234567").unwrap_err();
        assert_eq!(error.code(), "phone_invalid");
        assert!(error.message_zh().contains("11位"));
        assert!(!error.to_string().contains("1381234567"));
    }

    #[test]
    fn masks_for_display_and_debug() {
        let phone = PhoneNumber::parse("13812345678").unwrap();
        assert_eq!(phone.masked(), "138****5678");
        assert_eq!(format!("{phone:?}"), "PhoneNumber(138****5678)");
        assert_eq!(phone.to_string(), "13812345678");
    }

    #[test]
    fn serde_round_trip_as_a_plain_string() {
        let phone = PhoneNumber::parse("+86 138 1234 5678").unwrap();
        let json = serde_json::to_string(&phone).unwrap();
        assert_eq!(json, "\"13812345678\"");
        assert_eq!(serde_json::from_str::<PhoneNumber>(&json).unwrap(), phone);
        assert!(serde_json::from_str::<PhoneNumber>("\"12812345678\"").is_err());
    }

    proptest! {
        #[test]
        fn any_valid_number_parses_in_every_notation(
            second in 3u8..=9,
            rest in 0u32..1_000_000_000,
        ) {
            let number = format!("1{second}{rest:09}");
            let spaced = format!("{} {} {}", &number[..3], &number[3..7], &number[7..]);
            for input in [
                number.clone(),
                format!("+86{number}"),
                format!("86-{spaced}"),
                spaced.replace(' ', "-"),
            ] {
                let phone = PhoneNumber::parse(&input).unwrap();
                prop_assert_eq!(phone.as_str(), number.as_str());
            }
        }
    }
}
