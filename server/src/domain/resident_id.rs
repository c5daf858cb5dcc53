//! Resident identity number (公民身份号码), GB 11643-1999.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::Deserialize;

use super::{BirthDateProblem, DomainError, string_value_type};

/// Weights of positions 1–17: 2^(18−i) mod 11.
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];

const LENGTH: usize = 18;

/// China Standard Time is UTC+8 all year; birth dates on ID cards are local dates.
const CHINA_UTC_OFFSET_SECONDS: u64 = 8 * 60 * 60;

/// A calendar date as (year, month, day).
type Date = (u16, u8, u8);

/// An 18-character resident identity number (公民身份号码) with a valid birth date and a correct
/// GB 11643-1999 check character.
///
/// Personal data: `Debug` masks the middle ten characters (`ResidentId(5301**********123X)`);
/// `Display`, `as_str` and serialisation give the full number, for storage and for the person
/// it belongs to, never for logs.
#[derive(Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct ResidentId {
    number: String,
    birth_date: Date,
}

impl ResidentId {
    /// Parses a resident ID number, judging "in the future" against today's date in China.
    ///
    /// Surrounding whitespace is trimmed and a lower-case `x` check character becomes `X`.
    ///
    /// # Errors
    ///
    /// [`DomainError::IdLength`], [`DomainError::IdCharacter`], [`DomainError::IdBirthDate`] or
    /// [`DomainError::IdChecksum`], checked in that order.
    pub fn parse(input: &str) -> Result<Self, DomainError> {
        Self::parse_as_of(input, today_in_china())
    }

    /// Parses as [`ResidentId::parse`] does, with `today` as (year, month, day) in place of the
    /// system clock.
    ///
    /// # Errors
    ///
    /// As [`ResidentId::parse`].
    pub fn parse_as_of(input: &str, today: (u16, u8, u8)) -> Result<Self, DomainError> {
        let trimmed = input.trim();
        let length = trimmed.chars().count();
        if length != LENGTH {
            return Err(DomainError::IdLength { length });
        }

        let mut digits = [0u8; LENGTH];
        let mut number = String::with_capacity(LENGTH);
        for ((index, given), digit) in trimmed.chars().enumerate().zip(digits.iter_mut()) {
            let position = index + 1;
            let character = given.to_ascii_uppercase();
            *digit = match (character, character.to_digit(10)) {
                (_, Some(value)) => u8::try_from(value).unwrap_or_default(),
                // `X` stands for 10 and only as the check character.
                ('X', None) if position == LENGTH => 10,
                _ => {
                    return Err(DomainError::IdCharacter {
                        position,
                        character: given,
                    });
                }
            };
            number.push(character);
        }

        let [body @ .., found] = digits;
        let birth_date = birth_date_of(&body, today)?;
        let expected = check_value(&body);
        if expected != found {
            return Err(DomainError::IdChecksum {
                expected: check_character(expected),
                found: check_character(found),
            });
        }
        Ok(Self { number, birth_date })
    }

    /// The full number, 17 digits and a digit or `X`. Personal data: do not log.
    pub fn as_str(&self) -> &str {
        &self.number
    }

    /// Positions 1–6: the administrative division code of the place of first registration.
    pub fn region_code(&self) -> &str {
        self.number.get(..6).unwrap_or_default()
    }

    /// Positions 7–14: the birth date as (year, month, day).
    pub fn birth_date(&self) -> (u16, u8, u8) {
        self.birth_date
    }

    /// The number with positions 5–14 replaced by `*`, for display and logs.
    pub fn masked(&self) -> String {
        let head = self.number.get(..4).unwrap_or_default();
        let tail = self.number.get(14..).unwrap_or_default();
        format!("{head}**********{tail}")
    }
}

string_value_type!(ResidentId);

impl std::fmt::Debug for ResidentId {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "ResidentId({})", self.masked())
    }
}

/// Reads and checks the birth date in positions 7–14.
fn birth_date_of(body: &[u8; 17], today: Date) -> Result<Date, DomainError> {
    let number = |range: std::ops::Range<usize>| {
        body.get(range)
            .unwrap_or_default()
            .iter()
            .fold(0u16, |value, &digit| value * 10 + u16::from(digit))
    };
    let year = number(6..10);
    // Two digits each, so both fit in a u8.
    let month = u8::try_from(number(10..12)).unwrap_or_default();
    let day = u8::try_from(number(12..14)).unwrap_or_default();
    let date = (year, month, day);
    let reason = if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        BirthDateProblem::NotACalendarDate
    } else if year < 1900 {
        BirthDateProblem::Before1900
    } else if date > today {
        BirthDateProblem::InFuture
    } else {
        return Ok(date);
    };
    Err(DomainError::IdBirthDate { reason })
}

fn is_leap_year(year: u16) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Value of the check character (10 stands for `X`) for 17 digits.
fn check_value(body: &[u8; 17]) -> u8 {
    let sum: u32 = body
        .iter()
        .zip(WEIGHTS)
        .map(|(&digit, weight)| u32::from(digit) * weight)
        .sum();
    // The standard's table "10X98765432" indexed by sum mod 11 is (12 − sum mod 11) mod 11.
    u8::try_from((12 - sum % 11) % 11).unwrap_or_default()
}

fn check_character(value: u8) -> char {
    char::from_digit(u32::from(value), 10).unwrap_or('X')
}

/// Today's date in China, from the system clock. A clock set before 1970 yields a date far in
/// the future, so that a broken clock turns off the "born in the future" check instead of
/// rejecting everybody born after 1970.
fn today_in_china() -> Date {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or((u16::MAX, 12, 31), |elapsed| {
            civil_date((elapsed.as_secs() + CHINA_UTC_OFFSET_SECONDS) / 86_400)
        })
}

/// Gregorian date of a day count since 1970-01-01 (H. Hinnant, "chrono-Compatible Low-Level Date
/// Algorithms", `civil_from_days`, restricted to non-negative day counts).
fn civil_date(days_since_epoch: u64) -> Date {
    let shifted = days_since_epoch + 719_468; // days since 0000-03-01
    let era = shifted / 146_097;
    let day_of_era = shifted % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let march_based_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * march_based_month + 2) / 5 + 1;
    let month = if march_based_month < 10 {
        march_based_month + 3
    } else {
        march_based_month - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (
        u16::try_from(year).unwrap_or(u16::MAX),
        u8::try_from(month).unwrap_or_default(),
        u8::try_from(day).unwrap_or_default(),
    )
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const TODAY: Date = (2025, 6, 15);

    fn with_check(body: &str) -> String {
        let mut digits = [0u8; 17];
        for (digit, character) in digits.iter_mut().zip(body.chars()) {
            *digit = u8::try_from(character.to_digit(10).unwrap()).unwrap();
        }
        format!("{body}{}", check_character(check_value(&digits)))
    }

    #[test]
    fn accepts_the_gb_11643_example() {
        // GB 11643-1999, appendix: 11010519491231002X.
        let id = ResidentId::parse("11010519491231002X").unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
        assert_eq!(id.region_code(), "110105");
        assert_eq!(id.birth_date(), (1949, 12, 31));
    }

    #[test]
    fn normalises_lower_case_x_and_whitespace() {
        let id = ResidentId::parse(" 11010519491231002x\t").unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
    }

    #[test]
    fn accepts_computed_numbers_with_digit_check_characters() {
        // Computed with the algorithm above; not real people.
        for number in [
            "530102199001011231",
            "440301200002290015",
            "530102190001010035",
        ] {
            assert_eq!(
                with_check(&number[..17]),
                number,
                "test vector {number} is wrong"
            );
            assert!(ResidentId::parse(number).is_ok(), "{number}");
        }
    }

    #[test]
    fn debug_masks_the_middle_digits() {
        let id = ResidentId::parse("11010519491231002X").unwrap();
        assert_eq!(format!("{id:?}"), "ResidentId(1101**********002X)");
        assert_eq!(id.masked(), "1101**********002X");
        assert!(!format!("{:?}", Some(&id)).contains("19491231"));
    }

    #[test]
    fn rejects_wrong_length() {
        let error = ResidentId::parse("11010519491231002").unwrap_err();
        assert_eq!(error, DomainError::IdLength { length: 17 });
        assert_eq!(error.code(), "id_number_length");
        // Old 15-digit numbers are not accepted either.
        assert_eq!(
            ResidentId::parse("110105491231002"),
            Err(DomainError::IdLength { length: 15 })
        );
    }

    #[test]
    fn rejects_non_digits_and_an_x_outside_the_check_position() {
        let error = ResidentId::parse("1101051949123100X2").unwrap_err();
        assert_eq!(
            error,
            DomainError::IdCharacter {
                position: 17,
                character: 'X'
            }
        );
        assert_eq!(error.code(), "id_number_character");
        assert_eq!(
            ResidentId::parse("11010519491231002Y"),
            Err(DomainError::IdCharacter {
                position: 18,
                character: 'Y'
            })
        );
        assert!(
            ResidentId::parse("11010519491231002Y")
                .unwrap_err()
                .message_zh()
                .contains("最后一位应为数字或字母 X")
        );
        assert_eq!(
            ResidentId::parse("１1010519491231002X"),
            Err(DomainError::IdCharacter {
                position: 1,
                character: '１'
            })
        );
    }

    #[test]
    fn rejects_impossible_birth_dates() {
        for body in [
            "53010219901301123", // month 13
            "53010219900001123", // month 0
            "53010219900100123", // day 0
            "53010219900431123", // 31 April
            "53010219000229123", // 1900 is not a leap year
            "53010220230229123", // 2023 is not a leap year
        ] {
            assert_eq!(
                ResidentId::parse_as_of(&with_check(body), TODAY),
                Err(DomainError::IdBirthDate {
                    reason: BirthDateProblem::NotACalendarDate
                }),
                "{body}"
            );
        }
        // 2000 and 2024 are leap years.
        assert!(ResidentId::parse_as_of(&with_check("53010220000229123"), TODAY).is_ok());
        assert!(ResidentId::parse_as_of(&with_check("53010220240229123"), TODAY).is_ok());
    }

    #[test]
    fn rejects_birth_dates_before_1900_or_after_today() {
        let error = ResidentId::parse_as_of(&with_check("53010218991231123"), TODAY).unwrap_err();
        assert_eq!(
            error,
            DomainError::IdBirthDate {
                reason: BirthDateProblem::Before1900
            }
        );
        assert_eq!(error.code(), "id_number_birth_date");
        assert!(ResidentId::parse_as_of(&with_check("53010219000101123"), TODAY).is_ok());

        assert!(ResidentId::parse_as_of(&with_check("53010220250615123"), TODAY).is_ok());
        let error = ResidentId::parse_as_of(&with_check("53010220250616123"), TODAY).unwrap_err();
        assert_eq!(
            error,
            DomainError::IdBirthDate {
                reason: BirthDateProblem::InFuture
            }
        );
        assert!(error.message_zh().contains("晚于今天"));
        // Against the real clock: nobody is born in 2999.
        assert!(ResidentId::parse(&with_check("53010229990101123")).is_err());
    }

    #[test]
    fn rejects_a_wrong_check_character() {
        let error = ResidentId::parse("110105194912310021").unwrap_err();
        assert_eq!(
            error,
            DomainError::IdChecksum {
                expected: 'X',
                found: '1'
            }
        );
        assert_eq!(error.code(), "id_number_checksum");
        assert_eq!(
            error.message_zh(),
            "身份证号码校验位不正确，请核对后重新输入"
        );
    }

    #[test]
    fn errors_do_not_carry_the_number() {
        let error = ResidentId::parse("110105194912310021").unwrap_err();
        assert!(!error.to_string().contains("1101051949"));
        assert!(!format!("{error:?}").contains("1101051949"));
    }

    #[test]
    fn civil_date_known_answers() {
        assert_eq!(civil_date(0), (1970, 1, 1));
        assert_eq!(civil_date(11_017), (2000, 3, 1));
        assert_eq!(civil_date(19_723), (2024, 1, 1));
        assert_eq!(civil_date(47_540), (2100, 2, 28));
    }

    #[test]
    fn serde_round_trip_as_a_plain_string() {
        let id = ResidentId::parse("11010519491231002X").unwrap();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, "\"11010519491231002X\"");
        assert_eq!(serde_json::from_str::<ResidentId>(&json).unwrap(), id);
        assert!(serde_json::from_str::<ResidentId>("\"110105194912310021\"").is_err());
    }

    fn any_body() -> impl Strategy<Value = String> {
        (
            0u32..1_000_000,
            1900u16..=2024,
            1u8..=12,
            0u8..31,
            0u32..1_000,
        )
            .prop_map(|(region, year, month, day, sequence)| {
                let day = day % days_in_month(year, month) + 1;
                format!("{region:06}{year:04}{month:02}{day:02}{sequence:03}")
            })
    }

    proptest! {
        #[test]
        fn any_body_with_its_check_character_parses(body in any_body()) {
            let number = with_check(&body);
            let id = ResidentId::parse_as_of(&number, TODAY).unwrap();
            prop_assert_eq!(id.as_str(), number.as_str());
            prop_assert_eq!(
                ResidentId::parse_as_of(&number.to_ascii_lowercase(), TODAY).unwrap(),
                id
            );
        }

        #[test]
        fn any_single_substitution_is_rejected(
            body in any_body(),
            position in 0usize..18,
            offset in 0u8..100,
        ) {
            // Another valid character for the position: digits, plus X in the check position.
            let alphabet = if position == 17 { 11 } else { 10 };
            let mut number: Vec<char> = with_check(&body).chars().collect();
            let original = if number[position] == 'X' {
                10
            } else {
                u8::try_from(number[position].to_digit(10).unwrap()).unwrap()
            };
            let replacement = (original + 1 + offset % (alphabet - 1)) % alphabet;
            number[position] = check_character(replacement);
            let number: String = number.into_iter().collect();
            let error = ResidentId::parse_as_of(&number, TODAY).unwrap_err();
            let rejected_by_check = matches!(
                error,
                DomainError::IdChecksum { .. } | DomainError::IdBirthDate { .. }
            );
            prop_assert!(rejected_by_check, "unexpected error {:?}", error);
        }
    }
}
