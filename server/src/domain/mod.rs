//! Parsed value types.
//!
//! Every type here is a newtype with a private field whose only way in is a `parse` that returns
//! `Result<_, DomainError>` (also reachable through `FromStr`, `TryFrom<String>` and serde
//! deserialisation). Handlers convert request input once; from then on a `Uscc` *is* a valid
//! unified social credit code and nobody checks it again.

mod error;
mod person_name;
mod phone;
pub mod printable;
mod resident_id;
mod serial;
mod unit_name;
mod uscc;

pub use error::{BirthDateProblem, DomainError, NameProblem, PhoneProblem, SerialProblem};
pub use person_name::PersonName;
pub use phone::PhoneNumber;
pub use printable::{FallbackGlyphs, PrintedField, check_printable};
pub use resident_id::ResidentId;
pub use serial::CertificateSerial;
pub use unit_name::UnitName;
pub use uscc::Uscc;

/// The conversions every string-backed value type shares, all routed through its `parse` and
/// `as_str`, so there is exactly one way in and one textual form out.
macro_rules! string_value_type {
    ($type:ident) => {
        impl ::core::fmt::Display for $type {
            fn fmt(&self, formatter: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                formatter.write_str(self.as_str())
            }
        }

        impl AsRef<str> for $type {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }

        impl ::core::str::FromStr for $type {
            type Err = super::DomainError;

            fn from_str(input: &str) -> Result<Self, Self::Err> {
                Self::parse(input)
            }
        }

        impl TryFrom<String> for $type {
            type Error = super::DomainError;

            fn try_from(input: String) -> Result<Self, Self::Error> {
                Self::parse(&input)
            }
        }

        impl ::serde::Serialize for $type {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }
    };
}
use string_value_type;

/// Characters that are not `char::is_control` (category Cc) but are just as invisible and can
/// make two names look identical while comparing different: zero-width characters, bidi
/// overrides and isolates, word joiners and the byte-order mark.
fn is_invisible_format(character: char) -> bool {
    matches!(
        character,
        '\u{00AD}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}'
    )
}
