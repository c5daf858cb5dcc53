//! Unified social credit code (统一社会信用代码), GB 32100-2015.

use serde::Deserialize;

use super::{DomainError, string_value_type};

/// Code characters in order of their value 0–30: digits and upper-case letters except I, O, Z, S
/// and V (GB 32100-2015, table 1).
const CHARSET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// Weight of position i (0-based) is 3^i mod 31.
const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

const LENGTH: usize = 18;

/// A unified social credit code (统一社会信用代码) whose GB 32100-2015 check character is correct.
///
/// Stored upper-case: `parse` trims surrounding whitespace and accepts lower-case letters.
/// Layout: position 1 registration-authority code, 2 entity type, 3–8 administrative division
/// code, 9–17 organisation code, 18 check character.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct Uscc(String);

impl Uscc {
    /// Parses a unified social credit code.
    ///
    /// # Errors
    ///
    /// [`DomainError::UsccLength`], [`DomainError::UsccCharacter`], [`DomainError::UsccRegion`]
    /// or [`DomainError::UsccChecksum`], checked in that order.
    pub fn parse(input: &str) -> Result<Self, DomainError> {
        let trimmed = input.trim();
        let length = trimmed.chars().count();
        if length != LENGTH {
            return Err(DomainError::UsccLength { length });
        }

        let mut values = [0u8; LENGTH];
        let mut code = String::with_capacity(LENGTH);
        for ((index, given), value) in trimmed.chars().enumerate().zip(values.iter_mut()) {
            let position = index + 1;
            let character = given.to_ascii_uppercase();
            *value = code_value(character).ok_or(DomainError::UsccCharacter {
                position,
                character: given,
            })?;
            if (3..=8).contains(&position) && !character.is_ascii_digit() {
                return Err(DomainError::UsccRegion {
                    position,
                    character: given,
                });
            }
            code.push(character);
        }

        let [body @ .., found] = values;
        let expected = check_value(&body);
        if expected != found {
            return Err(DomainError::UsccChecksum {
                expected: code_character(expected),
                found: code_character(found),
            });
        }
        Ok(Self(code))
    }

    /// The code, 18 upper-case characters.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Position 1: the registration-authority code (e.g. `9` for market regulation).
    pub fn registration_authority_code(&self) -> char {
        self.0.chars().next().unwrap_or_default()
    }

    /// Position 2: the entity-type code within the registration authority (e.g. `1` for an
    /// enterprise registered with market regulation).
    pub fn entity_type_code(&self) -> char {
        self.0.chars().nth(1).unwrap_or_default()
    }

    /// Positions 3–8: the administrative division code of the registration authority, six digits.
    pub fn region_code(&self) -> &str {
        self.0.get(2..8).unwrap_or_default()
    }

    /// Positions 9–17: the organisation code.
    pub fn organisation_code(&self) -> &str {
        self.0.get(8..17).unwrap_or_default()
    }
}

string_value_type!(Uscc);

/// Value 0–30 of an upper-case code character.
fn code_value(character: char) -> Option<u8> {
    let byte = u8::try_from(character).ok()?;
    let index = CHARSET.iter().position(|&candidate| candidate == byte)?;
    u8::try_from(index).ok()
}

/// Character of a code value; only called with values below 31.
fn code_character(value: u8) -> char {
    CHARSET
        .get(usize::from(value))
        .map_or('?', |&byte| char::from(byte))
}

/// Value of the check character for the first 17 code values: 31 − (Σ value·weight mod 31),
/// where 31 becomes 0.
fn check_value(body: &[u8; 17]) -> u8 {
    let sum: u32 = body
        .iter()
        .zip(WEIGHTS)
        .map(|(&value, weight)| u32::from(value) * weight)
        .sum();
    // `(31 - sum % 31) % 31` is below 31, so the conversion cannot fail.
    u8::try_from((31 - sum % 31) % 31).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Appends the computed check character to 17 code characters.
    fn with_check(body: &str) -> String {
        let mut values = [0u8; 17];
        for (value, character) in values.iter_mut().zip(body.chars()) {
            *value = code_value(character).unwrap();
        }
        format!("{body}{}", code_character(check_value(&values)))
    }

    #[test]
    fn weights_are_powers_of_three_mod_31() {
        let mut power = 1;
        for weight in WEIGHTS {
            assert_eq!(weight, power);
            power = power * 3 % 31;
        }
    }

    #[test]
    fn accepts_a_published_real_code() {
        // Shenzhen Tencent Computer Systems Co., Ltd. (深圳市腾讯计算机系统有限公司), as printed in
        // its business-licence record (e.g. https://check-china.com/example_report/en/8).
        let code = Uscc::parse("91440300708461136T").unwrap();
        assert_eq!(code.as_str(), "91440300708461136T");
        assert_eq!(code.registration_authority_code(), '9');
        assert_eq!(code.entity_type_code(), '1');
        assert_eq!(code.region_code(), "440300");
        assert_eq!(code.organisation_code(), "708461136");
    }

    #[test]
    fn accepts_computed_codes_including_check_zero_and_letters() {
        // Check characters computed with the algorithm above (not real organisations).
        for code in [
            "91530100MA6K000000",
            "12100000400000000W",
            "91530102MA6K3R7Y0F",
            "Y1110000000000000Q",
        ] {
            assert_eq!(with_check(&code[..17]), code, "test vector {code} is wrong");
            assert_eq!(Uscc::parse(code).unwrap().as_str(), code);
        }
    }

    #[test]
    fn check_value_31_becomes_zero() {
        // An all-zero body sums to 0, so 31 − 0 = 31, which wraps to 0.
        assert_eq!(check_value(&[0; 17]), 0);
        assert!(Uscc::parse("000000000000000000").is_ok());
    }

    #[test]
    fn normalises_case_and_surrounding_whitespace() {
        let code = Uscc::parse("  91440300708461136t\n").unwrap();
        assert_eq!(code.as_str(), "91440300708461136T");
        assert_eq!(code.to_string(), "91440300708461136T");
    }

    #[test]
    fn rejects_wrong_length() {
        assert_eq!(
            Uscc::parse("9144030070846113"),
            Err(DomainError::UsccLength { length: 16 })
        );
        assert_eq!(Uscc::parse(""), Err(DomainError::UsccLength { length: 0 }));
        // Characters, not bytes: 18 Chinese characters are 18 long, not 54.
        assert_eq!(
            Uscc::parse(&"统".repeat(18)),
            Err(DomainError::UsccCharacter {
                position: 1,
                character: '统'
            })
        );
    }

    #[test]
    fn rejects_letters_outside_the_charset() {
        for (excluded, position) in [('I', 9), ('o', 10), ('Z', 17), ('S', 1), ('v', 2)] {
            let mut code: Vec<char> = "91440300708461136T".chars().collect();
            code[position - 1] = excluded;
            let code: String = code.into_iter().collect();
            let error = Uscc::parse(&code).unwrap_err();
            assert_eq!(
                error,
                DomainError::UsccCharacter {
                    position,
                    character: excluded
                }
            );
            assert_eq!(error.code(), "uscc_character");
        }
    }

    #[test]
    fn rejects_letters_in_the_region_code() {
        let error = Uscc::parse("9144A300708461136T").unwrap_err();
        assert_eq!(
            error,
            DomainError::UsccRegion {
                position: 5,
                character: 'A'
            }
        );
        assert_eq!(error.code(), "uscc_region");
        assert!(error.message_zh().contains("第5位应为数字"));
    }

    #[test]
    fn rejects_a_wrong_check_character_naming_the_expected_one() {
        let error = Uscc::parse("91440300708461136X").unwrap_err();
        assert_eq!(
            error,
            DomainError::UsccChecksum {
                expected: 'T',
                found: 'X'
            }
        );
        assert_eq!(error.code(), "uscc_checksum");
        assert!(error.message_zh().contains("第18位应为 T"));
        assert!(error.message_zh().contains("营业执照"));
    }

    #[test]
    fn serde_round_trip_as_a_plain_string() {
        let code = Uscc::parse("91440300708461136T").unwrap();
        let json = serde_json::to_string(&code).unwrap();
        assert_eq!(json, "\"91440300708461136T\"");
        assert_eq!(serde_json::from_str::<Uscc>(&json).unwrap(), code);
        assert_eq!(
            serde_json::from_str::<Uscc>("\"91440300708461136t\"").unwrap(),
            code
        );
        assert!(serde_json::from_str::<Uscc>("\"91440300708461136X\"").is_err());
    }

    #[test]
    fn from_str_and_try_from_agree_with_parse() {
        let parsed: Uscc = "91440300708461136T".parse().unwrap();
        let converted = Uscc::try_from("91440300708461136T".to_owned()).unwrap();
        assert_eq!(parsed, converted);
    }

    fn any_body() -> impl Strategy<Value = String> {
        let code_char = proptest::sample::select(CHARSET.to_vec()).prop_map(char::from);
        let digit = proptest::char::range('0', '9');
        (
            proptest::collection::vec(code_char.clone(), 2),
            proptest::collection::vec(digit, 6),
            proptest::collection::vec(code_char, 9),
        )
            .prop_map(|(head, region, organisation)| {
                head.into_iter().chain(region).chain(organisation).collect()
            })
    }

    proptest! {
        #[test]
        fn any_body_with_its_check_character_parses(body in any_body()) {
            let code = with_check(&body);
            let parsed = Uscc::parse(&code).unwrap();
            prop_assert_eq!(parsed.as_str(), code.as_str());
            prop_assert_eq!(Uscc::parse(&code.to_ascii_lowercase()).unwrap(), parsed);
        }

        #[test]
        fn any_single_substitution_is_rejected(
            body in any_body(),
            position in 0usize..18,
            offset in 1u8..31,
        ) {
            // Another character of the charset: the original's value plus a non-zero offset.
            let mut code: Vec<char> = with_check(&body).chars().collect();
            let original = code_value(code[position]).unwrap();
            code[position] = code_character((original + offset) % 31);
            let code: String = code.into_iter().collect();
            let error = Uscc::parse(&code).unwrap_err();
            let rejected_by_check = matches!(
                error,
                DomainError::UsccChecksum { .. } | DomainError::UsccRegion { .. }
            );
            prop_assert!(rejected_by_check, "unexpected error {:?}", error);
        }
    }
}
