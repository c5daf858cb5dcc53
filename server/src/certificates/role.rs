//! Primary (主证书) or sub (子证书).

use crate::ca::Role;

/// What the registry holds for an employer when a new certificate of it is recorded, read under
/// the employer's lock.
#[derive(Debug, Clone, Copy, Default)]
pub struct EmployerHoldings {
    /// The employer has a primary certificate that is pending or active.
    pub live_primary: bool,
    /// The new certificate is a download on a new phone for the application whose active
    /// primary it replaces.
    pub replaces_primary: bool,
}

/// The role of a new certificate: the employer's first is the primary, and a download that
/// replaces the primary on a new phone is the primary too (the employer's primary is the
/// application's certificate, whichever phone holds it); every other one is a sub-certificate.
pub fn role_of_new(holdings: EmployerHoldings) -> Role {
    if holdings.replaces_primary || !holdings.live_primary {
        Role::Primary
    } else {
        Role::Sub
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_and_a_replacement_are_primary_the_rest_sub() {
        let role = |live_primary, replaces_primary| {
            role_of_new(EmployerHoldings {
                live_primary,
                replaces_primary,
            })
        };
        assert_eq!(role(false, false), Role::Primary);
        assert_eq!(role(true, false), Role::Sub);
        assert_eq!(role(true, true), Role::Primary);
    }
}
