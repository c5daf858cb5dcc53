//! Certificate serial number.

use rand::{CryptoRng, RngCore};
use serde::Deserialize;

use super::{DomainError, SerialProblem, string_value_type};

const MIN_OCTETS: usize = 8;
/// RFC 5280 §4.1.2.2: conforming CAs must not use serial numbers longer than 20 octets.
const MAX_OCTETS: usize = 20;
/// Length of the serials this CA issues.
const RANDOM_OCTETS: usize = 16;

/// A positive certificate serial number of 8 to 20 octets.
///
/// Held as the content octets of its DER INTEGER: big-endian, no leading zero bytes except the
/// single `00` that keeps a value whose top bit is set positive. These are the bytes
/// `x509_cert::serial_number::SerialNumber::new` accepts and its `as_bytes` returns, so a serial
/// read back from a certificate compares equal to the one it was issued with. The text form is
/// the same bytes in upper-case hex without separators, e.g. `0A1B2C3D4E5F6071`.
#[derive(Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct CertificateSerial {
    octets: Vec<u8>,
    hex: String,
}

impl CertificateSerial {
    /// Parses a serial written in hex: case-insensitive, with an optional `0x` prefix and
    /// optional `:` byte separators (`0a:1b:…`, as `openssl x509 -text` prints it).
    ///
    /// # Errors
    ///
    /// [`DomainError::SerialFormat`] for malformed text, then as
    /// [`CertificateSerial::from_bytes`].
    pub fn parse(input: &str) -> Result<Self, DomainError> {
        let invalid = |reason| DomainError::SerialFormat { reason };
        let trimmed = input.trim();
        let (prefix_length, digits) = match trimmed.get(..2) {
            Some("0x" | "0X") => (2, trimmed.get(2..).unwrap_or_default()),
            _ => (0, trimmed),
        };

        if let Some((index, character)) = digits
            .chars()
            .enumerate()
            .find(|&(_, character)| !(character.is_ascii_hexdigit() || character == ':'))
        {
            return Err(invalid(SerialProblem::Character {
                position: prefix_length + index + 1,
                character,
            }));
        }
        if digits.is_empty() {
            return Err(invalid(SerialProblem::Empty));
        }
        if digits.contains(':') && digits.split(':').any(|group| group.len() != 2) {
            return Err(invalid(SerialProblem::Grouping));
        }

        let mut hex: String = digits
            .chars()
            .filter(|&character| character != ':')
            .collect();
        if !hex.len().is_multiple_of(2) {
            hex.insert(0, '0');
        }
        // Every character was checked to be a hex digit and the count made even above.
        let bytes = hex::decode(&hex).map_err(|_| invalid(SerialProblem::Grouping))?;
        Self::from_bytes(&bytes)
    }

    /// Builds a serial from a big-endian unsigned integer. Leading zero bytes, including the
    /// sign byte of DER content octets, are accepted and normalised away.
    ///
    /// # Errors
    ///
    /// [`DomainError::SerialNotPositive`] for zero; [`DomainError::SerialLength`] when the DER
    /// content octets would be fewer than 8 or more than 20.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DomainError> {
        let first_non_zero = bytes
            .iter()
            .position(|&byte| byte != 0)
            .ok_or(DomainError::SerialNotPositive)?;
        let magnitude = bytes.get(first_non_zero..).unwrap_or_default();
        let needs_sign_byte = magnitude.first().is_some_and(|&byte| byte & 0x80 != 0);

        let mut octets = Vec::with_capacity(magnitude.len() + 1);
        if needs_sign_byte {
            octets.push(0);
        }
        octets.extend_from_slice(magnitude);

        let length = octets.len();
        if !(MIN_OCTETS..=MAX_OCTETS).contains(&length) {
            return Err(DomainError::SerialLength { length });
        }
        let hex = hex::encode_upper(&octets);
        Ok(Self { octets, hex })
    }

    /// A fresh serial for a certificate this CA issues: 16 octets from `rng` with the top bit
    /// cleared (so the value is positive and needs no sign byte) and the next bit set (so the
    /// first octet is non-zero and the length is always 16), leaving 126 random bits — well over
    /// the 64 the CA/Browser Forum asks for.
    pub fn random<R: RngCore + CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut octets = vec![0u8; RANDOM_OCTETS];
        rng.fill_bytes(&mut octets);
        if let Some(first) = octets.first_mut() {
            *first = (*first & 0x7F) | 0x40;
        }
        let hex = hex::encode_upper(&octets);
        Self { octets, hex }
    }

    /// The DER INTEGER content octets (see the type's documentation).
    pub fn as_bytes(&self) -> &[u8] {
        &self.octets
    }

    /// The octets in upper-case hex, no separators.
    pub fn as_str(&self) -> &str {
        &self.hex
    }
}

string_value_type!(CertificateSerial);

impl std::fmt::Debug for CertificateSerial {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "CertificateSerial({})", self.hex)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    #[test]
    fn parses_every_accepted_notation_to_the_same_serial() {
        let expected =
            CertificateSerial::from_bytes(&[0x0A, 0x1B, 0x2C, 0x3D, 0x4E, 0x5F, 0x60, 0x71])
                .unwrap();
        for input in [
            "0A1B2C3D4E5F6071",
            "0a1b2c3d4e5f6071",
            "0x0a1b2c3d4e5f6071",
            "0XA1B2C3D4E5F6071",
            "0a:1b:2c:3d:4e:5f:60:71",
            " 000A1B2C3D4E5F6071 ",
            "A1B2C3D4E5F6071",
        ] {
            let serial = CertificateSerial::parse(input).unwrap();
            assert_eq!(serial, expected, "{input}");
            assert_eq!(serial.as_str(), "0A1B2C3D4E5F6071");
        }
        assert_eq!(
            expected.as_bytes(),
            &[0x0A, 0x1B, 0x2C, 0x3D, 0x4E, 0x5F, 0x60, 0x71]
        );
    }

    #[test]
    fn keeps_the_der_sign_byte_when_the_top_bit_is_set() {
        let serial = CertificateSerial::parse("8000000000000001").unwrap();
        assert_eq!(serial.as_str(), "008000000000000001");
        assert_eq!(serial.as_bytes().len(), 9);
        assert_eq!(
            CertificateSerial::parse("00:80:00:00:00:00:00:00:01").unwrap(),
            serial
        );
        // A 7-octet magnitude with the top bit set is 8 DER octets.
        assert_eq!(
            CertificateSerial::parse("80000000000001")
                .unwrap()
                .as_bytes()
                .len(),
            8
        );
    }

    #[test]
    fn enforces_8_to_20_der_octets() {
        assert_eq!(
            CertificateSerial::parse("01020304050607"),
            Err(DomainError::SerialLength { length: 7 })
        );
        assert!(CertificateSerial::from_bytes(&[0x7F; 20]).is_ok());
        assert_eq!(
            CertificateSerial::from_bytes(&[0x01; 21]),
            Err(DomainError::SerialLength { length: 21 })
        );
        // 20 magnitude octets with the top bit set need a 21st, sign octet.
        let error = CertificateSerial::from_bytes(&[0xFF; 20]).unwrap_err();
        assert_eq!(error, DomainError::SerialLength { length: 21 });
        assert_eq!(error.code(), "serial_length");
        assert!(error.message_zh().contains("8至20字节"));
    }

    #[test]
    fn rejects_zero() {
        let error = CertificateSerial::parse("00:00:00:00:00:00:00:00").unwrap_err();
        assert_eq!(error, DomainError::SerialNotPositive);
        assert_eq!(error.code(), "serial_not_positive");
        assert_eq!(
            CertificateSerial::from_bytes(&[]),
            Err(DomainError::SerialNotPositive)
        );
    }

    #[test]
    fn rejects_malformed_text() {
        let problem = |input: &str| match CertificateSerial::parse(input) {
            Err(DomainError::SerialFormat { reason }) => reason,
            other => panic!("{input:?} gave {other:?}"),
        };
        assert_eq!(problem(""), SerialProblem::Empty);
        assert_eq!(problem("0x"), SerialProblem::Empty);
        assert_eq!(
            problem("0x0A1B2C3G4E5F6071"),
            SerialProblem::Character {
                position: 10,
                character: 'G'
            }
        );
        assert_eq!(
            problem("0A 1B 2C 3D 4E 5F 60 71"),
            SerialProblem::Character {
                position: 3,
                character: ' '
            }
        );
        assert_eq!(problem("0A1B:2C:3D:4E:5F:60:71"), SerialProblem::Grouping);
        assert_eq!(problem("0A:1B:2C:3D:4E:5F:60:71:"), SerialProblem::Grouping);
        assert_eq!(problem("A:1B:2C:3D:4E:5F:60:71"), SerialProblem::Grouping);
        assert_eq!(
            CertificateSerial::parse("xyz").unwrap_err().code(),
            "serial_invalid"
        );
    }

    #[test]
    fn random_serials_are_positive_16_octets_and_differ() {
        let mut rng = StdRng::seed_from_u64(7);
        let first = CertificateSerial::random(&mut rng);
        let second = CertificateSerial::random(&mut rng);
        assert_ne!(first, second);
        for serial in [first, second] {
            assert_eq!(serial.as_bytes().len(), 16);
            assert_eq!(serial.as_bytes()[0] & 0xC0, 0x40);
            assert_eq!(
                CertificateSerial::from_bytes(serial.as_bytes()).unwrap(),
                serial
            );
        }
        // The operating-system generator is what the CA uses.
        let _ = CertificateSerial::random(&mut rand::rngs::OsRng);
    }

    #[test]
    fn debug_and_display_show_the_hex() {
        let serial = CertificateSerial::parse("0a1b2c3d4e5f6071").unwrap();
        assert_eq!(format!("{serial:?}"), "CertificateSerial(0A1B2C3D4E5F6071)");
        assert_eq!(serial.to_string(), "0A1B2C3D4E5F6071");
    }

    #[test]
    fn serde_round_trip_as_a_plain_string() {
        let serial = CertificateSerial::parse("0a:1b:2c:3d:4e:5f:60:71").unwrap();
        let json = serde_json::to_string(&serial).unwrap();
        assert_eq!(json, "\"0A1B2C3D4E5F6071\"");
        assert_eq!(
            serde_json::from_str::<CertificateSerial>(&json).unwrap(),
            serial
        );
        assert!(serde_json::from_str::<CertificateSerial>("\"00\"").is_err());
    }

    proptest! {
        #[test]
        fn bytes_hex_and_colon_hex_round_trip(
            first in 1u8..=255,
            rest in proptest::collection::vec(any::<u8>(), 7..=18),
        ) {
            let magnitude: Vec<u8> = std::iter::once(first).chain(rest).collect();
            let serial = CertificateSerial::from_bytes(&magnitude).unwrap();
            prop_assert_eq!(CertificateSerial::parse(serial.as_str()).unwrap(), serial.clone());
            let colon_hex = serial
                .as_bytes()
                .iter()
                .map(|byte| format!("{byte:02x}"))
                .collect::<Vec<_>>()
                .join(":");
            prop_assert_eq!(CertificateSerial::parse(&colon_hex).unwrap(), serial.clone());
            prop_assert_eq!(CertificateSerial::from_bytes(serial.as_bytes()).unwrap(), serial);
        }
    }
}
