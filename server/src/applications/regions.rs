//! Administrative divisions (GB/T 2260) for the 行政区域 of an application: the names the
//! pages show (云南省·昆明市·西山区) and the choices of the region picker. The table is
//! `server/assets/regions.json`, from the `china-division` package 2.7.0 (data of the National
//! Bureau of Statistics; provinces, cities and counties, 3,056 counties), nested
//! `[code, name, children?]`.

use std::sync::LazyLock;

/// The table, as the picker's script also loads it.
pub const REGIONS_JSON: &str = include_str!("../../assets/regions.json");

/// One division and those under it.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Region(pub String, pub String, #[serde(default)] pub Vec<Region>);

impl Region {
    /// Its code (2, 4 or 6 digits).
    pub fn code(&self) -> &str {
        &self.0
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.1
    }

    /// The divisions under it.
    pub fn children(&self) -> &[Region] {
        &self.2
    }
}

static PROVINCES: LazyLock<Vec<Region>> =
    LazyLock::new(|| serde_json::from_str(REGIONS_JSON).unwrap_or_default());

/// The provinces.
pub fn provinces() -> &'static [Region] {
    &PROVINCES
}

/// The province, city and county of a six-digit county `code`, as far as the table knows them.
pub fn path(code: &str) -> Vec<&'static Region> {
    let mut found = Vec::new();
    let mut level: &'static [Region] = provinces();
    for digits in [2, 4, 6] {
        let Some(prefix) = code.get(..digits) else {
            break;
        };
        let Some(region) = level.iter().find(|r| r.code() == prefix) else {
            break;
        };
        found.push(region);
        level = region.children();
    }
    found
}

/// 云南省·昆明市·西山区 for `530112`; the code itself when the table does not know it.
pub fn label(code: &str) -> String {
    let names: Vec<&str> = path(code).iter().map(|r| r.name()).collect();
    if names.len() == 3 {
        names.join("·")
    } else {
        code.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_a_county_by_its_province_and_city() {
        assert_eq!(label("530112"), "云南省·昆明市·西山区");
        assert_eq!(label("110105"), "北京市·市辖区·朝阳区");
        assert_eq!(label("539999"), "539999");
        assert_eq!(provinces().len(), 31);
        assert!(
            path("530112")
                .last()
                .is_some_and(|county| county.code() == "530112")
        );
    }
}
