//! The whole audit chain checked: read in pages in `seq` order, each page against the last
//! entry of the page before it (the CLI's `admin audit-verify` and the staff console).

use std::collections::VecDeque;

use super::CertStore;
use crate::{
    audit::{self, AuditEntry, ChainBreak},
    failure::StorageError,
};

/// What a check of the chain found.
#[derive(Debug)]
pub struct AuditCheck {
    /// Entries checked (up to the break, if any).
    pub checked: u64,
    /// Where the chain breaks, if it does.
    pub broken: Option<ChainBreak>,
    /// The last entries read, newest first (as many as asked for).
    pub newest: Vec<AuditEntry>,
}

/// Checks the whole chain, keeping the newest `keep` entries read.
pub async fn check_audit_chain(
    store: &dyn CertStore,
    keep: usize,
) -> Result<AuditCheck, StorageError> {
    const PAGE: u64 = 1000;
    let mut checked = 0;
    let mut newest: VecDeque<AuditEntry> = VecDeque::with_capacity(keep);
    let mut last: Option<AuditEntry> = None;
    let broken = loop {
        let after = last.as_ref().map_or(0, |e| e.seq);
        let page = store.audit_entries(after, PAGE).await?;
        if page.is_empty() {
            break None;
        }
        if let Err(broken) = audit::verify_after(last.as_ref(), &page) {
            break Some(broken);
        }
        checked += page.len() as u64;
        for entry in &page {
            if keep > 0 {
                if newest.len() == keep {
                    newest.pop_front();
                }
                newest.push_back(entry.clone());
            }
        }
        last = page.last().cloned();
    };
    Ok(AuditCheck {
        checked,
        broken,
        newest: newest.into_iter().rev().collect(),
    })
}
