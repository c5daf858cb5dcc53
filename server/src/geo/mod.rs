//! Coarse location of an address from an offline IP database, for the phone's "请求来自 云南昆明"
//! (issue: a relayed QR must not look genuine). No lookup leaves the server.
//!
//! The database is ip2region's `xdb` file, format version 2 (IPv4): a 256-byte header, a
//! 256 × 256 vector index of `(first, last)` segment-index pointers for each `a.b` prefix, then
//! segment-index entries of 14 bytes `start u32 ‖ end u32 ‖ data_len u16 ‖ data_ptr u32` (all
//! little-endian, inclusive ranges sorted by address) pointing at region strings
//! `国家|区域|省份|城市|ISP` where `0` means unknown. The format is small and fixed, so it is
//! read here rather than through a crate; the tests run against the published data file.

use std::{
    net::{IpAddr, Ipv4Addr},
    path::Path,
};

const HEADER_LEN: usize = 256;
const VECTOR_COLS: usize = 256;
const VECTOR_ENTRY: usize = 8;
const VECTOR_LEN: usize = VECTOR_COLS * VECTOR_COLS * VECTOR_ENTRY;
const SEGMENT_ENTRY: usize = 14;
const FORMAT_VERSION: u16 = 2;

/// IPv4-mapped IPv6 addresses (`::ffff:1.2.3.4`, how a dual-stack socket reports IPv4 peers)
/// as the IPv4 address they are.
pub fn canonical_ip(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// Why a database file was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GeoError {
    /// The file could not be read.
    #[error("cannot read the IP region database {path}")]
    Read {
        /// The configured path.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not an ip2region xdb file of version 2.
    #[error("{path} is not an ip2region xdb file (version 2): {detail}")]
    Format {
        /// The configured path.
        path: String,
        /// What is wrong.
        detail: &'static str,
    },
}

/// Where an address is, as far as the database knows.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Region {
    /// 国家, e.g. 中国.
    pub country: Option<String>,
    /// 省份, e.g. 云南省.
    pub province: Option<String>,
    /// 城市, e.g. 昆明市.
    pub city: Option<String>,
}

impl Region {
    /// How the phone shows it: `云南昆明`, `北京`, `美国`; `None` when nothing is known.
    pub fn label(&self) -> Option<String> {
        let short = |name: &str, suffixes: &[&str]| {
            suffixes
                .iter()
                .find_map(|suffix| name.strip_suffix(suffix))
                .filter(|rest| !rest.is_empty())
                .unwrap_or(name)
                .to_string()
        };
        let province = self.province.as_deref().map(|p| {
            short(
                p,
                &[
                    "维吾尔自治区",
                    "壮族自治区",
                    "回族自治区",
                    "自治区",
                    "特别行政区",
                    "省",
                    "市",
                ],
            )
        });
        let city = self.city.as_deref().map(|c| short(c, &["市"]));
        let local = match (province, city) {
            (Some(p), Some(c)) if p == c => Some(p),
            (Some(p), Some(c)) => Some(format!("{p}{c}")),
            (Some(p), None) => Some(p),
            (None, Some(c)) => Some(c),
            (None, None) => None,
        };
        match (self.country.as_deref(), local) {
            (Some("中国") | None, local) => local,
            (Some(country), Some(local)) => Some(format!("{country}{local}")),
            (Some(country), None) => Some(country.to_string()),
        }
    }

    /// Whether two regions are known to lie in different provinces (or countries). Mobile
    /// networks often place a phone only at province level, so cities are not compared: a
    /// warning must mean something.
    pub fn differs_from(&self, other: &Region) -> bool {
        let known = |a: &Option<String>, b: &Option<String>| match (a, b) {
            (Some(a), Some(b)) => Some(a != b),
            _ => None,
        };
        known(&self.country, &other.country) == Some(true)
            || known(&self.province, &other.province) == Some(true)
    }
}

/// An ip2region xdb database held in memory (about 11 MB for the published China data).
pub struct RegionDb {
    data: Vec<u8>,
}

impl std::fmt::Debug for RegionDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegionDb")
            .field("bytes", &self.data.len())
            .finish()
    }
}

fn u32_at(data: &[u8], at: usize) -> Option<u32> {
    let bytes = data.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes(bytes.try_into().ok()?))
}

fn u16_at(data: &[u8], at: usize) -> Option<u16> {
    let bytes = data.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes(bytes.try_into().ok()?))
}

impl RegionDb {
    /// Reads the database at `path`, checking its header and index.
    pub fn open(path: &Path) -> Result<Self, GeoError> {
        let shown = path.display().to_string();
        let data = std::fs::read(path).map_err(|source| GeoError::Read {
            path: shown.clone(),
            source,
        })?;
        Self::from_bytes(data).map_err(|detail| GeoError::Format {
            path: shown,
            detail,
        })
    }

    /// A database from its bytes.
    pub fn from_bytes(data: Vec<u8>) -> Result<Self, &'static str> {
        if data.len() < HEADER_LEN + VECTOR_LEN {
            return Err("shorter than its header and vector index");
        }
        if u16_at(&data, 0) != Some(FORMAT_VERSION) {
            return Err("unsupported version");
        }
        let start = u32_at(&data, 8).ok_or("truncated header")?;
        let end = u32_at(&data, 12).ok_or("truncated header")?;
        let (start, end) = (start as usize, end as usize);
        if start < HEADER_LEN + VECTOR_LEN
            || end < start
            || end.saturating_add(SEGMENT_ENTRY) > data.len()
        {
            return Err("segment index outside the file");
        }
        Ok(Self { data })
    }

    /// The region of an IPv4 address (an IPv6 address has none here); `None` when the database
    /// has no entry or only unknowns.
    pub fn lookup(&self, address: IpAddr) -> Option<Region> {
        let IpAddr::V4(v4) = canonical_ip(address) else {
            return None;
        };
        let raw = self.region_text(v4)?;
        let mut parts = raw.split('|').map(|part| {
            let part = part.trim();
            (!part.is_empty() && part != "0").then(|| part.to_string())
        });
        let country = parts.next().flatten();
        let _area = parts.next();
        let province = parts.next().flatten();
        let city = parts.next().flatten();
        // ip2region marks private and reserved ranges 内网IP in the city and ISP columns.
        if city.as_deref() == Some("内网IP") {
            return None;
        }
        let region = Region {
            country,
            province,
            city,
        };
        region.label().map(|_| region)
    }

    fn region_text(&self, address: Ipv4Addr) -> Option<&str> {
        let ip = u32::from(address);
        let [a, b, _, _] = address.octets();
        let vector = HEADER_LEN + (usize::from(a) * VECTOR_COLS + usize::from(b)) * VECTOR_ENTRY;
        let first = u32_at(&self.data, vector)? as usize;
        let last = u32_at(&self.data, vector + 4)? as usize;
        if first == 0 || last < first {
            return None;
        }
        let (mut low, mut high) = (0usize, (last - first) / SEGMENT_ENTRY);
        while low <= high {
            let middle = low + (high - low) / 2;
            let at = first + middle * SEGMENT_ENTRY;
            let start = u32_at(&self.data, at)?;
            let end = u32_at(&self.data, at + 4)?;
            if ip < start {
                high = middle.checked_sub(1)?;
            } else if ip > end {
                low = middle + 1;
            } else {
                let len = usize::from(u16_at(&self.data, at + 8)?);
                let pointer = u32_at(&self.data, at + 10)? as usize;
                let text = self.data.get(pointer..pointer.checked_add(len)?)?;
                return std::str::from_utf8(text).ok();
            }
        }
        None
    }
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// A database in the xdb layout holding `ranges` (inclusive, sorted, within one `a.b`
    /// prefix each), as the ip2region maker writes it.
    pub(crate) fn xdb(ranges: &[(Ipv4Addr, Ipv4Addr, &str)]) -> Vec<u8> {
        let mut data = vec![0u8; HEADER_LEN + VECTOR_LEN];
        data[0..2].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
        data[2..4].copy_from_slice(&1u16.to_le_bytes());
        let mut pointers = Vec::new();
        for (_, _, region) in ranges {
            pointers.push(u32::try_from(data.len()).unwrap());
            data.extend_from_slice(region.as_bytes());
        }
        let index_start = data.len();
        for ((start, end, region), pointer) in ranges.iter().zip(&pointers) {
            let at = data.len();
            data.extend_from_slice(&u32::from(*start).to_le_bytes());
            data.extend_from_slice(&u32::from(*end).to_le_bytes());
            data.extend_from_slice(&u16::try_from(region.len()).unwrap().to_le_bytes());
            data.extend_from_slice(&pointer.to_le_bytes());
            let [a, b, _, _] = start.octets();
            let vector = HEADER_LEN + (usize::from(a) * 256 + usize::from(b)) * 8;
            let at = u32::try_from(at).unwrap();
            if u32_at(&data, vector) == Some(0) {
                data[vector..vector + 4].copy_from_slice(&at.to_le_bytes());
            }
            data[vector + 4..vector + 8].copy_from_slice(&at.to_le_bytes());
        }
        let index_end = data.len() - SEGMENT_ENTRY;
        data[8..12].copy_from_slice(&u32::try_from(index_start).unwrap().to_le_bytes());
        data[12..16].copy_from_slice(&u32::try_from(index_end).unwrap().to_le_bytes());
        data
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn v4(text: &str) -> Ipv4Addr {
        text.parse().unwrap()
    }

    #[test]
    fn lookups_find_the_range_and_shorten_the_names() {
        let db = RegionDb::from_bytes(xdb(&[
            (v4("1.2.3.0"), v4("1.2.3.127"), "中国|0|云南省|昆明市|电信"),
            (v4("1.2.3.128"), v4("1.2.3.255"), "中国|0|北京|北京市|联通"),
            (v4("1.2.4.0"), v4("1.2.4.255"), "美国|0|0|0|0"),
            (v4("10.0.0.0"), v4("10.0.255.255"), "0|0|0|内网IP|内网IP"),
        ]))
        .unwrap();
        let kunming = db.lookup(ip("1.2.3.4")).unwrap();
        assert_eq!(kunming.label().unwrap(), "云南昆明");
        assert_eq!(db.lookup(ip("1.2.3.200")).unwrap().label().unwrap(), "北京");
        assert_eq!(db.lookup(ip("1.2.4.9")).unwrap().label().unwrap(), "美国");
        assert_eq!(db.lookup(ip("::ffff:1.2.3.4")), Some(kunming.clone()));
        assert!(
            db.lookup(ip("10.0.0.1")).is_none(),
            "private ranges have no region"
        );
        assert!(db.lookup(ip("9.9.9.9")).is_none());
        assert!(db.lookup(ip("2001:db8::1")).is_none());
        assert!(kunming.differs_from(&db.lookup(ip("1.2.3.200")).unwrap()));
        let yunnan_only = Region {
            country: Some("中国".into()),
            province: Some("云南省".into()),
            city: None,
        };
        assert!(!kunming.differs_from(&yunnan_only));
        assert_eq!(yunnan_only.label().unwrap(), "云南");
    }

    #[test]
    fn other_files_are_refused() {
        assert!(RegionDb::from_bytes(vec![0; 100]).is_err());
        let mut wrong_version = xdb(&[(v4("1.2.3.0"), v4("1.2.3.255"), "中国|0|云南省|0|0")]);
        wrong_version[0] = 3;
        assert!(RegionDb::from_bytes(wrong_version).is_err());
    }

    /// The published data file (the npm package ip2region-ts ships it; `scripts/test` installs
    /// it with the browser tests' packages).
    pub(crate) fn published_xdb() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/browser/node_modules/ip2region-ts/data/ip2region.xdb")
    }

    #[test]
    fn the_published_database_places_known_addresses() {
        let path = published_xdb();
        let db = RegionDb::open(&path).unwrap_or_else(|error| {
            panic!("{error}: run `npm ci` in tests/browser (scripts/test does) to install it")
        });
        // 114.114.114.114 is the 114DNS resolver in Nanjing; 8.8.8.8 is Google's in the US.
        let nanjing = db.lookup(ip("114.114.114.114")).unwrap();
        assert_eq!(nanjing.province.as_deref(), Some("江苏省"), "{nanjing:?}");
        assert_eq!(
            db.lookup(ip("8.8.8.8")).unwrap().country.as_deref(),
            Some("美国")
        );
        assert!(db.lookup(ip("192.168.1.1")).is_none());
    }
}
