//! A portal's business items (事项, seed 000 §四(三)): what a sub-certificate can be granted.
//! Each has a code the portal checks in ID tokens, a Chinese name the primary holder sees, an
//! optional group, and may be a locked default for a media type (seed 000's dialog:
//! 失业保险默认实体CA已授权并且不能修改 — granted to every physical sub-certificate, not removable).

use serde::{Deserialize, Serialize};

use super::{PortalError, invalid};
use crate::ca::MediaType;

/// One business item of a portal's catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BusinessItem {
    /// The code portals see in `items` (`unemployment_insurance`).
    pub code: String,
    /// 事项名称 (失业保险).
    pub name: String,
    /// 分组, if the portal groups its items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Granted to every sub-certificate of this media type and not removable.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "stored_media"
    )]
    pub locked_for: Option<MediaType>,
}

mod stored_media {
    use serde::{Deserialize as _, Deserializer, Serializer, de::Error as _};

    use crate::ca::MediaType;

    #[allow(clippy::ref_option)]
    pub fn serialize<S: Serializer>(
        value: &Option<MediaType>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(media) => serializer.serialize_str(media.as_str()),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<MediaType>, D::Error> {
        Option::<String>::deserialize(deserializer)?
            .map(|value| {
                MediaType::parse(&value)
                    .ok_or_else(|| D::Error::custom(format!("media type {value}")))
            })
            .transpose()
    }
}

impl BusinessItem {
    /// Parses `CODE=名称` as typed on the command line.
    pub fn parse_spec(spec: &str) -> Result<Self, PortalError> {
        let Some((code, name)) = spec.split_once('=') else {
            return Err(invalid("item", format!("{spec}: write CODE=名称")));
        };
        Ok(Self {
            code: code.trim().to_string(),
            name: name.trim().to_string(),
            group: None,
            locked_for: None,
        })
    }

    fn validated(self) -> Result<Self, PortalError> {
        let code_ok = !self.code.is_empty()
            && self.code.len() <= 64
            && self
                .code
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
        if !code_ok {
            return Err(invalid(
                "item",
                format!(
                    "{}: a code is 1 to 64 letters, digits, '_', '-' or '.'",
                    self.code
                ),
            ));
        }
        let text_ok = |text: &str| {
            let length = text.chars().count();
            (1..=64).contains(&length) && !text.chars().any(char::is_control)
        };
        if !text_ok(&self.name) {
            return Err(invalid(
                "item",
                format!("{}: a name is 1 to 64 characters", self.code),
            ));
        }
        if self.group.as_deref().is_some_and(|group| !text_ok(group)) {
            return Err(invalid(
                "item_group",
                format!("{}: a group is 1 to 64 characters", self.code),
            ));
        }
        Ok(self)
    }
}

/// Checks a whole catalogue: every item valid, no code twice.
pub fn validated_catalogue(items: Vec<BusinessItem>) -> Result<Vec<BusinessItem>, PortalError> {
    let items = items
        .into_iter()
        .map(BusinessItem::validated)
        .collect::<Result<Vec<_>, _>>()?;
    for (i, item) in items.iter().enumerate() {
        if items[..i].iter().any(|earlier| earlier.code == item.code) {
            return Err(invalid("item", format!("{}: listed twice", item.code)));
        }
    }
    Ok(items)
}

/// A catalogue from the command line: `CODE=名称` items, then `CODE=分组` groups and
/// `CODE=physical|mobile` locked defaults naming items of it.
pub fn catalogue_from_specs(
    items: &[String],
    groups: &[String],
    locked: &[String],
) -> Result<Vec<BusinessItem>, PortalError> {
    let mut catalogue = items
        .iter()
        .map(|spec| BusinessItem::parse_spec(spec))
        .collect::<Result<Vec<_>, _>>()?;
    let item_of = |field: &'static str, spec: &str| -> Result<(usize, String), PortalError> {
        let Some((code, value)) = spec.split_once('=') else {
            return Err(invalid(field, format!("{spec}: write CODE=…")));
        };
        let index = catalogue
            .iter()
            .position(|item| item.code == code.trim())
            .ok_or_else(|| invalid(field, format!("{code}: not an --item of this portal")))?;
        Ok((index, value.trim().to_string()))
    };
    let mut changes = Vec::new();
    for spec in groups {
        let (index, group) = item_of("item_group", spec)?;
        changes.push((index, Some(group), None));
    }
    for spec in locked {
        let (index, media) = item_of("locked_item", spec)?;
        let media = MediaType::parse(&media).ok_or_else(|| {
            invalid(
                "locked_item",
                format!("{media}: a media type is physical or mobile"),
            )
        })?;
        changes.push((index, None, Some(media)));
    }
    for (index, group, media) in changes {
        let item = &mut catalogue[index];
        if group.is_some() {
            item.group = group;
        }
        if media.is_some() {
            item.locked_for = media;
        }
    }
    validated_catalogue(catalogue)
}

/// How a stored catalogue reads: items registered before items had names were stored as bare
/// codes, and read as items named by their code.
#[derive(Deserialize)]
#[serde(untagged)]
enum Stored {
    Code(String),
    Item(BusinessItem),
}

/// Reads a stored catalogue.
pub fn from_stored(value: serde_json::Value) -> Result<Vec<BusinessItem>, serde_json::Error> {
    let stored: Vec<Stored> = serde_json::from_value(value)?;
    Ok(stored
        .into_iter()
        .map(|item| match item {
            Stored::Code(code) => BusinessItem {
                name: code.clone(),
                code,
                group: None,
                locked_for: None,
            },
            Stored::Item(item) => item,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_command_line_names_items_groups_and_locked_defaults() {
        let catalogue = catalogue_from_specs(
            &[
                "unit_info=单位基础信息维护".into(),
                "unemployment_insurance=失业保险".into(),
            ],
            &["unit_info=单位服务".into()],
            &["unemployment_insurance=physical".into()],
        )
        .unwrap();
        assert_eq!(catalogue[0].group.as_deref(), Some("单位服务"));
        assert_eq!(catalogue[1].name, "失业保险");
        assert_eq!(catalogue[1].locked_for, Some(MediaType::Physical));
        let stored = serde_json::to_value(&catalogue).unwrap();
        assert_eq!(stored[1]["locked_for"], "physical");
        assert_eq!(from_stored(stored).unwrap(), catalogue);
    }

    #[test]
    fn bad_catalogues_are_refused() {
        for (items, groups, locked, field) in [
            (vec!["no-name"], vec![], vec![], "item"),
            (vec!["a b=名称"], vec![], vec![], "item"),
            (vec!["a="], vec![], vec![], "item"),
            (vec!["a=甲", "a=乙"], vec![], vec![], "item"),
            (vec!["a=甲"], vec!["b=组"], vec![], "item_group"),
            (vec!["a=甲"], vec![], vec!["a=usb"], "locked_item"),
        ] {
            let strings = |v: Vec<&str>| v.into_iter().map(String::from).collect::<Vec<_>>();
            match catalogue_from_specs(&strings(items), &strings(groups), &strings(locked)) {
                Err(PortalError::Invalid { field: got, .. }) => assert_eq!(got, field),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn bare_codes_of_older_registrations_read_as_items() {
        let items = from_stored(serde_json::json!(["a", {"code": "b", "name": "乙"}])).unwrap();
        assert_eq!(items[0].name, "a");
        assert_eq!(items[1].name, "乙");
    }
}
