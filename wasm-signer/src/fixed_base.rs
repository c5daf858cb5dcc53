//! [k]G for the SM2 generator G in constant time, from a table of multiples of G built once per
//! process. Every [k]G of the crate goes through [`mul_generator`].
//!
//! k is written in 64 signed base-16 digits d_i in [−8, 7] plus a carry c in {0, 1}, so that
//! k = Σ d_i·16^i + c·16^64. With table[i][j − 1] = [j·16^i]G for j in 1..=8, [k]G is the sum of
//! 64 table entries (negated where d_i < 0) and, if c = 1, [16^64]G: 65 additions and no
//! doublings, where the sm2 crate's generic 4-bit window takes 256 doublings and 64 additions.
//!
//! Each digit reads all eight entries of its window with `conditional_assign` and negates with
//! `conditional_select`, and sm2's addition formulas are complete (no branch on the identity or
//! on equal points), so neither the time nor the memory accessed depends on k.
//!
//! The table is built on first use (64 · 8 additions and 64 doublings, about two generic
//! multiplications) rather than stored in the binary, which would grow the wasm module by its
//! size. Its 513 points stay projective (about 48 KB): an affine table would allow mixed
//! additions, about 9% faster per multiplication, but normalising it needs sm2's batch inversion
//! and the mixed-addition formulas, 3.4 KB more wasm (measured with sm2 at opt-level 3) that the
//! 150 KB budget does not have to spare.

use sm2::elliptic_curve::PrimeField;
use sm2::elliptic_curve::group::Group;
use sm2::elliptic_curve::subtle::{Choice, ConditionallySelectable, ConstantTimeEq};
use sm2::{ProjectivePoint, Scalar};
use std::sync::OnceLock;
use zeroize::Zeroizing;

/// Signed base-16 digits of a 256-bit scalar.
const WINDOWS: usize = 64;
/// Table entries per window: the multiples 1..=8 (a digit's magnitude is at most 8).
const ENTRIES: usize = 8;

struct Table {
    /// `windows[i][j - 1]` = [j·16^i]G.
    windows: Vec<[ProjectivePoint; ENTRIES]>,
    /// [16^64]G, added when the top digit carries.
    carry: ProjectivePoint,
}

static TABLE: OnceLock<Table> = OnceLock::new();

/// [k]G in constant time; the table is built on the first call.
pub(crate) fn mul_generator(k: &Scalar) -> ProjectivePoint {
    let table = TABLE.get_or_init(build_table);
    let (digits, carry) = signed_digits(k);
    let mut sum = ProjectivePoint::IDENTITY;
    for (window, &digit) in table.windows.iter().zip(digits.iter()) {
        sum += select(window, digit);
    }
    sum + ProjectivePoint::conditional_select(&ProjectivePoint::IDENTITY, &table.carry, carry)
}

/// k = Σ d_i·16^i + c·16^64 with every d_i in [−8, 7], computed without branches on k.
fn signed_digits(k: &Scalar) -> (Zeroizing<[i8; WINDOWS]>, Choice) {
    let bytes = Zeroizing::new(<[u8; 32]>::from(k.to_repr()));
    let mut digits = Zeroizing::new([0i8; WINDOWS]);
    let mut carry = 0u8;
    // Big-endian bytes, least significant first; each byte holds two digits, low nibble first.
    for (pair, byte) in digits.chunks_exact_mut(2).zip(bytes.iter().rev()) {
        for (digit, nibble) in pair.iter_mut().zip([byte & 0x0f, byte >> 4]) {
            // value in [0, 16]; 8..=16 becomes value − 16 with a carry into the next digit.
            let value = nibble + carry;
            carry = (value + 8) >> 4;
            *digit = value.wrapping_sub(carry << 4) as i8;
        }
    }
    (digits, Choice::from(carry))
}

/// [digit]·B from a window of [1]B..[8]B, reading every entry.
fn select(window: &[ProjectivePoint; ENTRIES], digit: i8) -> ProjectivePoint {
    // All ones for a negative digit, zero otherwise; the magnitude is then in [0, 8].
    let sign = digit >> 7;
    let magnitude = (digit ^ sign).wrapping_sub(sign) as u8;
    let mut point = ProjectivePoint::IDENTITY;
    for (multiple, entry) in (1u8..).zip(window) {
        point.conditional_assign(entry, magnitude.ct_eq(&multiple));
    }
    ProjectivePoint::conditional_select(&point, &-point, Choice::from(sign as u8 & 1))
}

/// The table, one window after another.
fn build_table() -> Table {
    let mut windows = Vec::with_capacity(WINDOWS);
    // [16^i]G for the window being filled.
    let mut base = ProjectivePoint::GENERATOR;
    for _ in 0..WINDOWS {
        let mut window = [ProjectivePoint::IDENTITY; ENTRIES];
        let mut multiple = ProjectivePoint::IDENTITY;
        for entry in &mut window {
            multiple += base;
            *entry = multiple;
        }
        windows.push(window);
        // [16^(i+1)]G = 2·[8·16^i]G.
        base = multiple.double();
    }
    Table {
        windows,
        carry: base,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use sm2::elliptic_curve::ops::Reduce;
    use sm2::{FieldBytes, U256};

    /// The sm2 crate's own [k]G, the reference.
    fn generic(k: &Scalar) -> sm2::AffinePoint {
        (ProjectivePoint::GENERATOR * k).to_affine()
    }

    fn from_be_bytes(bytes: [u8; 32]) -> Scalar {
        <Scalar as Reduce<U256>>::reduce_bytes(&FieldBytes::from(bytes))
    }

    #[test]
    fn edge_scalars_match_the_generic_multiplication() {
        // 2^256 − 1 (every nibble 15) is above n and reduces; 2^252 − 1 (63 nibbles 15) is not.
        let mut nibble_15_below_n = [0xffu8; 32];
        nibble_15_below_n[0] = 0x0f;
        let scalars = [
            Scalar::ZERO,
            Scalar::ONE,
            Scalar::from(2u64),
            Scalar::from(7u64),
            Scalar::from(8u64),
            Scalar::from(9u64),
            Scalar::from(15u64),
            Scalar::from(16u64),
            -Scalar::ONE,
            -Scalar::from(2u64),
            -Scalar::from(8u64),
            from_be_bytes([0xff; 32]),
            from_be_bytes(nibble_15_below_n),
            from_be_bytes([0x88; 32]),
            from_be_bytes([0x77; 32]),
            from_be_bytes([0x80; 32]),
            from_be_bytes(core::array::from_fn(|i| if i == 0 { 0x80 } else { 0 })),
        ];
        for k in scalars {
            assert_eq!(mul_generator(&k).to_affine(), generic(&k), "k = {k:?}");
        }
        assert_eq!(mul_generator(&Scalar::ZERO), ProjectivePoint::IDENTITY);
    }

    #[test]
    fn digits_recompose_the_scalar() {
        for bytes in [[0u8; 32], [0xff; 32], [0x88; 32], [0x78; 32]] {
            let k = from_be_bytes(bytes);
            let (digits, carry) = signed_digits(&k);
            let mut sum = Scalar::from(u64::from(carry.unwrap_u8()));
            for &digit in digits.iter().rev() {
                assert!((-8..=7).contains(&digit), "digit {digit}");
                let magnitude = Scalar::from(u64::from(digit.unsigned_abs()));
                let digit = if digit < 0 { -magnitude } else { magnitude };
                sum = sum * Scalar::from(16u64) + digit;
            }
            assert_eq!(sum, k);
        }
    }

    #[test]
    fn table_holds_the_documented_multiples() {
        let table = TABLE.get_or_init(build_table);
        assert_eq!(table.windows.len(), WINDOWS);
        let sixteen = Scalar::from(16u64);
        let mut power = Scalar::ONE;
        for window in &table.windows {
            for (j, entry) in (1u64..).zip(window) {
                assert_eq!(entry.to_affine(), generic(&(power * Scalar::from(j))));
            }
            power *= sixteen;
        }
        assert_eq!(table.carry.to_affine(), generic(&power));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn random_scalars_match_the_generic_multiplication(bytes in any::<[u8; 32]>()) {
            let k = from_be_bytes(bytes);
            prop_assert_eq!(mul_generator(&k).to_affine(), generic(&k));
        }

        #[test]
        fn digit_boundaries_match_the_generic_multiplication(
            nibbles in proptest::collection::vec(
                proptest::sample::select(vec![0u8, 1, 7, 8, 9, 15]),
                64,
            ),
        ) {
            // Nibbles at the edges of the signed recoding, where carries start and propagate.
            let bytes = core::array::from_fn(|i| nibbles[2 * i] << 4 | nibbles[2 * i + 1]);
            let k = from_be_bytes(bytes);
            prop_assert_eq!(mul_generator(&k).to_affine(), generic(&k));
        }

        #[test]
        fn scalars_near_n_match_the_generic_multiplication(below in 1u64..1 << 20) {
            let k = -Scalar::from(below);
            prop_assert_eq!(mul_generator(&k).to_affine(), generic(&k));
        }
    }
}
