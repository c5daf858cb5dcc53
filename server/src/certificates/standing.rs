//! Where a certificate stands at a given time.

use chrono::{DateTime, Utc};

use crate::{
    ca::{CertificateRecord, CertificateStatus},
    domain::CertificateSerial,
};

/// A certificate's standing at one moment: its registry status together with its validity
/// period and any revocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Recorded, not yet activated by its download (or no certificate downloaded yet).
    Pending,
    /// An enrolment that was started again or given up; never signed.
    Abandoned,
    /// Active, but its validity has not begun.
    NotYetValid,
    /// Active and within its validity: it may sign.
    Active,
    /// Active, but its validity has ended.
    Expired,
    /// Revoked.
    Revoked,
}

impl Standing {
    /// The standing of `record` at `now`.
    pub fn of(record: &CertificateRecord, now: DateTime<Utc>) -> Self {
        if record.revocation.is_some() {
            return Self::Revoked;
        }
        Self::at(record.status, record.not_before, record.not_after, now)
    }

    /// The standing at `now` of a certificate with registry `status` valid from `not_before`
    /// until `not_after`.
    pub fn at(
        status: CertificateStatus,
        not_before: DateTime<Utc>,
        not_after: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Self {
        match status {
            CertificateStatus::Pending => Self::Pending,
            CertificateStatus::Abandoned => Self::Abandoned,
            CertificateStatus::Revoked => Self::Revoked,
            CertificateStatus::Active if now < not_before => Self::NotYetValid,
            CertificateStatus::Active if now >= not_after => Self::Expired,
            CertificateStatus::Active => Self::Active,
        }
    }

    /// The status code the API shows (`inactive`, `active`, `expired`, `revoked`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "inactive",
            Self::Abandoned => "abandoned",
            Self::NotYetValid => "not_yet_valid",
            Self::Active => "active",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
        }
    }

    /// The Chinese status label, in the seed's words (证书状态: 未激活, 已激活, 已废除, 已过期).
    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Pending => "未激活",
            Self::Abandoned => "已作废",
            Self::NotYetValid => "未生效",
            Self::Active => "已激活",
            Self::Expired => "已过期",
            Self::Revoked => "已废除",
        }
    }

    /// Whether the certificate may sign now: log in, co-sign, be the person's default.
    pub fn in_force(self) -> bool {
        self == Self::Active
    }

    /// Whether the certificate was signed and is not revoked: what a revocation (by the holder,
    /// by staff, or by a download that supersedes it) applies to.
    pub fn revocable(self) -> bool {
        matches!(self, Self::NotYetValid | Self::Active | Self::Expired)
    }
}

impl std::fmt::Display for Standing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The certificates a download on a new phone supersedes: the application's other downloads
/// that were signed and are not revoked. The new phone's certificate takes their place (and
/// their role, see [`super::role_of_new`]); they are revoked with it.
pub fn superseded_by_download(
    others: &[CertificateRecord],
    now: DateTime<Utc>,
) -> Vec<CertificateSerial> {
    others
        .iter()
        .filter(|c| Standing::of(c, now).revocable())
        .map(|c| c.serial.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    fn at(status: CertificateStatus, offset_days: i64) -> Standing {
        let start = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let end = start + Duration::days(365);
        Standing::at(status, start, end, start + Duration::days(offset_days))
    }

    #[test]
    fn an_active_certificate_is_in_force_only_within_its_validity() {
        assert_eq!(at(CertificateStatus::Active, -1), Standing::NotYetValid);
        assert_eq!(at(CertificateStatus::Active, 0), Standing::Active);
        assert_eq!(at(CertificateStatus::Active, 364), Standing::Active);
        assert_eq!(at(CertificateStatus::Active, 365), Standing::Expired);
        assert!(at(CertificateStatus::Active, 10).in_force());
        assert!(!at(CertificateStatus::Active, 400).in_force());
    }

    #[test]
    fn the_registry_status_decides_before_the_dates() {
        assert_eq!(at(CertificateStatus::Revoked, 10), Standing::Revoked);
        assert_eq!(at(CertificateStatus::Revoked, 400), Standing::Revoked);
        assert_eq!(at(CertificateStatus::Pending, 400), Standing::Pending);
        assert_eq!(at(CertificateStatus::Abandoned, 10), Standing::Abandoned);
        for standing in [Standing::Pending, Standing::Abandoned, Standing::Revoked] {
            assert!(!standing.in_force() && !standing.revocable(), "{standing}");
        }
        for standing in [Standing::NotYetValid, Standing::Active, Standing::Expired] {
            assert!(standing.revocable(), "{standing}");
        }
    }

    #[test]
    fn labels_are_the_seeds_words() {
        assert_eq!(Standing::Pending.label_zh(), "未激活");
        assert_eq!(Standing::Active.label_zh(), "已激活");
        assert_eq!(Standing::Revoked.label_zh(), "已废除");
        assert_eq!(Standing::Expired.label_zh(), "已过期");
        assert_eq!(Standing::Pending.as_str(), "inactive");
    }
}
