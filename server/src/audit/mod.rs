//! The append-only audit log. Each entry's hash covers its fields and the previous entry's
//! hash, so deleting or editing any entry breaks the chain from there on.

use chrono::{DateTime, SubsecRound, Utc};

/// The previous hash of the first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Who did something, as the audit log names them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Actor {
    /// A signed-in staff member, by username (`staff:NAME`).
    Staff(String),
    /// A mini-program user, by id (`wx:ID`).
    WeChatUser(i64),
    /// An applicant signed in to the application site with the applying phone, by id
    /// (`applicant:ID`).
    Applicant(i64),
    /// A verified person (real name checked), by id (`person:ID`).
    Person(i64),
    /// The phone holding the certificate, acting with its PIN (`phone`).
    Phone,
    /// A certificate's holder acting through a portal they logged in to with it
    /// (`certificate:SERIAL`).
    Certificate(String),
    /// The server on its own (`system`).
    System,
    /// An operator at the command line, as named by `--actor` (default `cli`).
    Operator(String),
    /// A development-mode stand-in (`dev-endpoint`, `dev-demo`).
    Development(&'static str),
}

impl std::fmt::Display for Actor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Staff(username) => write!(f, "staff:{username}"),
            Self::WeChatUser(id) => write!(f, "wx:{id}"),
            Self::Applicant(id) => write!(f, "applicant:{id}"),
            Self::Person(id) => write!(f, "person:{id}"),
            Self::Phone => f.write_str("phone"),
            Self::Certificate(serial) => write!(f, "certificate:{serial}"),
            Self::System => f.write_str("system"),
            Self::Operator(name) => f.write_str(name),
            Self::Development(name) => f.write_str(name),
        }
    }
}

/// What happened, before it gets its place in the chain.
#[derive(Debug, Clone)]
pub struct AuditDraft {
    /// Who did it.
    pub actor: Actor,
    /// Stable action name, e.g. `certificate.issue`.
    pub action: &'static str,
    /// What it was done to, e.g. a serial.
    pub subject: String,
    /// Details as JSON.
    pub detail: serde_json::Value,
}

/// A stored entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Position in the chain, from 1.
    pub seq: i64,
    /// When (microsecond precision, as every database stores it).
    pub occurred_at: DateTime<Utc>,
    /// Who.
    pub actor: String,
    /// What.
    pub action: String,
    /// To what.
    pub subject: String,
    /// Details, JSON text.
    pub detail: String,
    /// Hash of the previous entry.
    pub prev_hash: String,
    /// This entry's hash.
    pub hash: String,
}

impl AuditEntry {
    /// Places a draft after `previous` (or first), computing its hash.
    pub fn chain(draft: &AuditDraft, previous: Option<(&i64, &str)>, now: DateTime<Utc>) -> Self {
        let (seq, prev_hash) = match previous {
            Some((seq, hash)) => (seq + 1, hash.to_string()),
            None => (1, GENESIS_HASH.to_string()),
        };
        let mut entry = Self {
            seq,
            occurred_at: now.trunc_subsecs(6),
            actor: draft.actor.to_string(),
            action: draft.action.to_string(),
            subject: draft.subject.clone(),
            detail: draft.detail.to_string(),
            prev_hash,
            hash: String::new(),
        };
        entry.hash = entry.computed_hash();
        entry
    }

    /// SM3 over the length-prefixed fields and the previous hash.
    pub fn computed_hash(&self) -> String {
        let mut bytes = Vec::new();
        let timestamp = self
            .occurred_at
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        for field in [
            self.seq.to_string().as_str(),
            &timestamp,
            &self.actor,
            &self.action,
            &self.subject,
            &self.detail,
            &self.prev_hash,
        ] {
            bytes.extend_from_slice(&(field.len() as u64).to_be_bytes());
            bytes.extend_from_slice(field.as_bytes());
        }
        hex::encode(mcert_signer::sm3_digest(&bytes))
    }
}

/// Where the chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChainBreak {
    /// An entry's stored hash is not the hash of its contents: it was edited.
    #[error("entry {seq} was altered (its hash does not match its contents)")]
    Altered {
        /// The entry.
        seq: i64,
    },
    /// An entry does not point at the one before it: something was removed or inserted.
    #[error("entry {seq} does not follow entry {previous_seq} (entries removed or reordered)")]
    Gap {
        /// The entry.
        seq: i64,
        /// The entry before it in storage order.
        previous_seq: i64,
    },
}

/// Checks a chain read in `seq` order from its start; returns how many entries were checked.
pub fn verify_chain<'a>(
    entries: impl IntoIterator<Item = &'a AuditEntry>,
) -> Result<u64, ChainBreak> {
    verify_after(None, entries)
}

/// Checks entries that follow `previous` (an entry already checked; `None` = the start).
pub fn verify_after<'a>(
    previous: Option<&'a AuditEntry>,
    entries: impl IntoIterator<Item = &'a AuditEntry>,
) -> Result<u64, ChainBreak> {
    let mut previous = previous;
    let mut count = 0;
    for entry in entries {
        let (expected_seq, expected_prev) = match previous {
            Some(p) => (p.seq + 1, p.hash.as_str()),
            None => (1, GENESIS_HASH),
        };
        if entry.seq != expected_seq || entry.prev_hash != expected_prev {
            return Err(ChainBreak::Gap {
                seq: entry.seq,
                previous_seq: expected_seq - 1,
            });
        }
        if entry.computed_hash() != entry.hash {
            return Err(ChainBreak::Altered { seq: entry.seq });
        }
        previous = Some(entry);
        count += 1;
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(n: u32) -> AuditDraft {
        AuditDraft {
            actor: Actor::Operator("cli".into()),
            action: "certificate.issue",
            subject: format!("serial-{n}"),
            detail: serde_json::json!({ "n": n }),
        }
    }

    fn chain(len: u32) -> Vec<AuditEntry> {
        let mut entries: Vec<AuditEntry> = Vec::new();
        for n in 0..len {
            let previous = entries.last().map(|e| (&e.seq, e.hash.as_str()));
            let at = DateTime::from_timestamp(1_767_225_600 + i64::from(n), 0).unwrap();
            let entry = AuditEntry::chain(&draft(n), previous, at);
            entries.push(entry);
        }
        entries
    }

    #[test]
    fn intact_chain_verifies() {
        assert_eq!(verify_chain(&chain(5)), Ok(5));
        assert_eq!(verify_chain(&[]), Ok(0));
    }

    #[test]
    fn edited_entry_shows() {
        let mut entries = chain(5);
        entries[2].subject = "someone else".into();
        assert_eq!(verify_chain(&entries), Err(ChainBreak::Altered { seq: 3 }));
    }

    #[test]
    fn deleted_entry_shows() {
        let mut entries = chain(5);
        entries.remove(2);
        assert_eq!(
            verify_chain(&entries),
            Err(ChainBreak::Gap {
                seq: 4,
                previous_seq: 2
            })
        );
        let mut first_gone = chain(3);
        first_gone.remove(0);
        assert!(matches!(
            verify_chain(&first_gone),
            Err(ChainBreak::Gap { seq: 2, .. })
        ));
    }

    #[test]
    fn rehashed_edit_still_breaks_the_next_link() {
        let mut entries = chain(4);
        entries[1].detail = "{}".into();
        entries[1].hash = entries[1].computed_hash();
        assert_eq!(
            verify_chain(&entries),
            Err(ChainBreak::Gap {
                seq: 3,
                previous_seq: 2
            })
        );
    }
}
