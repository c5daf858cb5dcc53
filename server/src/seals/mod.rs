//! Electronic seals (电子印章, seed 000 §一 and §三, DESIGN.md §8): the seal's picture, made by
//! the CA from the employer's name ([`drawing`]) or cut out of the stamped application form
//! ([`stamp`]); the seal structures and their signatures are the `mcert-ses` crate's.

pub mod drawing;
pub mod stamp;

/// Where Debian's `fonts-noto-cjk` puts the bold Noto Serif CJK collection, whose Simplified
/// Chinese face (a Song style, SIL OFL) the CA-generated seals are drawn in.
pub const DEFAULT_SEAL_FONT: &str = "/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc";
