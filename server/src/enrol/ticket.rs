//! Enrolment tickets: 120 random bits a person can read out and type, shown once and stored
//! only as a hash.

use crate::failure::{Describe, Description, code};
use rand::RngCore as _;

/// RFC 4648 base32 alphabet: no 0/1/8/9, so no O/0 or I/1 confusion in the output.
const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
/// Random bytes in a ticket (a multiple of 5: whole base32 groups, no padding).
const TICKET_BYTES: usize = 15;
/// Characters in a ticket without separators.
const TICKET_CHARS: usize = TICKET_BYTES / 5 * 8;

/// A ticket in canonical form: 24 base32 characters, grouped by four with dashes for display.
#[derive(Clone, PartialEq, Eq)]
pub struct Ticket(String);

impl std::fmt::Debug for Ticket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Ticket([redacted])")
    }
}

impl std::fmt::Display for Ticket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, chunk) in self.0.as_bytes().chunks(4).enumerate() {
            if i > 0 {
                f.write_str("-")?;
            }
            f.write_str(std::str::from_utf8(chunk).map_err(|_| std::fmt::Error)?)?;
        }
        Ok(())
    }
}

/// Why a typed ticket was refused before any lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an enrolment ticket is 24 letters and digits 2-7")]
pub struct TicketError;

impl Ticket {
    /// A new random ticket.
    pub fn random() -> Self {
        let mut bytes = [0u8; TICKET_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let mut text = String::with_capacity(TICKET_CHARS);
        for group in bytes.chunks(5) {
            let value = group
                .iter()
                .fold(0u64, |acc, &byte| (acc << 8) | u64::from(byte));
            for i in (0..8).rev() {
                let index = ((value >> (i * 5)) & 31) as usize;
                text.push(char::from(ALPHABET[index]));
            }
        }
        Self(text)
    }

    /// Parses what a person typed: case, spaces and dashes do not matter.
    pub fn parse(input: &str) -> Result<Self, TicketError> {
        let text: String = input
            .chars()
            .filter(|c| !matches!(c, '-' | ' '))
            .map(|c| c.to_ascii_uppercase())
            .collect();
        if text.len() != TICKET_CHARS || !text.bytes().all(|b| ALPHABET.contains(&b)) {
            return Err(TicketError);
        }
        Ok(Self(text))
    }

    /// SM3 of the canonical form, hex: what the database keeps.
    pub fn hash(&self) -> String {
        hex::encode(mcert_signer::sm3_digest(self.0.as_bytes()))
    }
}

impl Describe for TicketError {
    fn describe(&self) -> Description {
        Description::new(
            code::ENROLMENT_TICKET_MALFORMED,
            "下载码格式不正确：应为 24 位字母和数字（2-7），可带短横线",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_tickets_parse_back_in_any_typing() {
        let ticket = Ticket::random();
        let shown = ticket.to_string();
        assert_eq!(shown.len(), 29);
        assert_eq!(Ticket::parse(&shown), Ok(ticket.clone()));
        assert_eq!(
            Ticket::parse(&shown.to_lowercase().replace('-', " ")),
            Ok(ticket.clone())
        );
        assert_ne!(Ticket::random(), ticket);
    }

    #[test]
    fn wrong_tickets_are_refused() {
        for input in [
            "",
            "ABCD",
            "ABCD-EFGH-IJKL-MNOP-QRST-UVW1",
            "ABCD-EFGH-IJKL-MNOP-QRST-UVWXY",
        ] {
            assert_eq!(Ticket::parse(input), Err(TicketError), "{input}");
        }
    }

    #[test]
    fn debug_hides_the_ticket_and_hash_is_stable() {
        let ticket = Ticket::parse("AAAA-AAAA-AAAA-AAAA-AAAA-AAAA").unwrap();
        assert_eq!(format!("{ticket:?}"), "Ticket([redacted])");
        assert_eq!(ticket.hash().len(), 64);
        assert_eq!(
            ticket.hash(),
            Ticket::parse("aaaaaaaaaaaaaaaaaaaaaaaa").unwrap().hash()
        );
    }
}
