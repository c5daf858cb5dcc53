//! What an employer's certificates cost (seed 000 §一, seeds 001 §五 and 003 第六条; DESIGN.md §4):
//! every employer may hold [`FREE_CERTIFICATES`] free certificate, one with more than
//! [`LARGE_EMPLOYER`] registered employees up to [`FREE_CERTIFICATES_LARGE`]; each certificate
//! beyond that costs [`FEE_PER_YEAR_YUAN`] a year, and a free certificate's yearly renewal is free.
//!
//! The quota counts certificates, not applications: a free certificate uses a free place while it
//! is on its way (its application submitted or approved, not yet downloaded) or in force, and
//! gives it back when it is revoked or has expired, so an employer whose agent changed (seed 000
//! §五(一): revoke, then apply anew) gets its free certificate again. The stores count the places
//! under the employer's lock, so two simultaneous first applications cannot both be free.

use crate::certificates::Standing;

/// Free certificates per employer (seed 000: 每个法人单位可以免费申请 1 个数字证书).
pub const FREE_CERTIFICATES: u64 = 1;
/// Free certificates for employers with more than [`LARGE_EMPLOYER`] registered employees.
pub const FREE_CERTIFICATES_LARGE: u64 = 3;
/// Employee count above which the larger quota applies (单位职工就业登记人数超 100 人).
pub const LARGE_EMPLOYER: u32 = 100;
/// Yearly fee of a certificate beyond the free quota, yuan (seeds 001/003: 电子认证服务费
/// 160 元/个/年; a mobile certificate has no hardware medium, so no 介质费).
pub const FEE_PER_YEAR_YUAN: u32 = 160;

/// How many free certificates an employer may hold at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota(u64);

impl Quota {
    /// The quota of an employer with `employee_count` registered employees (unknown: the
    /// ordinary quota).
    pub fn of(employee_count: Option<u32>) -> Self {
        if employee_count.is_some_and(|n| n > LARGE_EMPLOYER) {
            Self(FREE_CERTIFICATES_LARGE)
        } else {
            Self(FREE_CERTIFICATES)
        }
    }

    /// The number of free places.
    pub fn places(self) -> u64 {
        self.0
    }
}

/// What a certificate costs its employer each year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charge {
    /// Within the free quota: paid by the employment service (所需资金由人社部门全额承担).
    Free,
    /// Beyond it: the employer pays this much a year.
    Yearly {
        /// Yuan per year.
        yuan: u32,
    },
}

impl Charge {
    /// The charge as stored with an application (`billable`, `fee_yuan`).
    pub fn stored(billable: bool, fee_yuan: Option<u32>) -> Self {
        if billable {
            Self::Yearly {
                yuan: fee_yuan.unwrap_or(FEE_PER_YEAR_YUAN),
            }
        } else {
            Self::Free
        }
    }

    /// Whether the employer pays.
    pub fn billable(self) -> bool {
        matches!(self, Self::Yearly { .. })
    }

    /// The yearly fee, when the employer pays.
    pub fn fee_yuan(self) -> Option<u32> {
        match self {
            Self::Free => None,
            Self::Yearly { yuan } => Some(yuan),
        }
    }
}

/// Another certificate of the employer as the quota sees it: what it costs, and how its newest
/// downloaded certificate stands now (`None` while none has been downloaded yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Held {
    /// Its charge.
    pub charge: Charge,
    /// Its certificate's standing, if it has one.
    pub standing: Option<Standing>,
}

impl Held {
    /// Whether it uses one of the free places: a free certificate on its way or in force (a
    /// download abandoned half-way can be taken up again, so it keeps its place too); a revoked
    /// or expired one has given its place back.
    pub fn uses_free_place(self) -> bool {
        self.charge == Charge::Free
            && !matches!(self.standing, Some(Standing::Revoked | Standing::Expired))
    }
}

/// The charge of an employer's next certificate: free while the employer's free certificates
/// (`held`, the others) use fewer places than its `quota` has.
pub fn new_certificate(quota: Quota, held: &[Held]) -> Charge {
    let used = held.iter().filter(|h| h.uses_free_place()).count() as u64;
    if used < quota.places() {
        Charge::Free
    } else {
        Charge::Yearly {
            yuan: FEE_PER_YEAR_YUAN,
        }
    }
}

/// The charge of renewing (年审延期) a certificate charged `current`: a free certificate renews
/// free (seed 000: 免费数字证书的年审延期为免费服务; seed 001 §五 1(2)), a billable one pays
/// another year (seed 001 §六(四): 非首个证书年审续期费用为每年 160 元).
pub fn renewal(current: Charge) -> Charge {
    match current {
        Charge::Free => Charge::Free,
        Charge::Yearly { .. } => Charge::Yearly {
            yuan: FEE_PER_YEAR_YUAN,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAID: Charge = Charge::Yearly { yuan: 160 };

    fn free(standing: Option<Standing>) -> Held {
        Held {
            charge: Charge::Free,
            standing,
        }
    }

    #[test]
    fn quotas_follow_the_seed() {
        assert_eq!(Quota::of(None).places(), 1);
        assert_eq!(Quota::of(Some(100)).places(), 1, "100 is not more than 100");
        assert_eq!(Quota::of(Some(101)).places(), 3);
        assert_eq!(new_certificate(Quota::of(None), &[]), Charge::Free);
        assert_eq!(new_certificate(Quota::of(None), &[free(None)]), PAID);
        let two = [free(None), free(Some(Standing::Active))];
        assert_eq!(new_certificate(Quota::of(Some(101)), &two), Charge::Free);
        let three = [free(None), free(None), free(Some(Standing::NotYetValid))];
        assert_eq!(new_certificate(Quota::of(Some(500)), &three), PAID);
    }

    #[test]
    fn paid_certificates_use_no_free_place() {
        let paid = Held {
            charge: PAID,
            standing: Some(Standing::Active),
        };
        assert_eq!(
            new_certificate(Quota::of(None), &[paid, paid]),
            Charge::Free
        );
    }

    #[test]
    fn revoked_and_expired_certificates_give_their_place_back() {
        for gone in [Standing::Revoked, Standing::Expired] {
            assert_eq!(
                new_certificate(Quota::of(None), &[free(Some(gone))]),
                Charge::Free,
                "{gone:?}"
            );
        }
        for kept in [Standing::Pending, Standing::Abandoned, Standing::Active] {
            assert_eq!(
                new_certificate(Quota::of(None), &[free(Some(kept))]),
                PAID,
                "{kept:?}"
            );
        }
    }

    #[test]
    fn free_certificates_renew_free_and_paid_ones_pay_a_year() {
        assert_eq!(renewal(Charge::Free), Charge::Free);
        assert_eq!(renewal(PAID), PAID);
        assert_eq!(Charge::stored(false, None), Charge::Free);
        assert_eq!(Charge::stored(true, Some(160)), PAID);
        assert_eq!(PAID.fee_yuan(), Some(160));
        assert!(!Charge::Free.billable());
    }
}
