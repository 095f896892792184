//! Address groups: named lists of addresses and MACs that criteria refer to as `@name`
//! (`local_mac == @iot`, `other_ip != @blocked`; docs/FLOW-ACTIONS.md §3.1, Netify 5.2).
//!
//! Netify keeps them in `/etc/netifyd/address-groups.json`, documented as
//!
//! ```json
//! { "address_groups": [
//!     { "name": "iot", "description": "Cameras", "ips": ["192.168.1.50", "10.9.0.0/16"],
//!       "macs": ["aa:bb:cc:dd:ee:ff"] } ] }
//! ```
//!
//! flowsieve reads that, and also a shorter shape of its own, groups by name:
//!
//! ```json
//! { "iot":     { "ips": ["192.168.1.50", "10.9.0.0/16", "fd00::/8"], "macs": ["aa:bb:cc:dd:ee:ff"] },
//!   "blocked": { "ips": ["203.0.113.0/24"] } }
//! ```
//!
//! Both lists are optional. Keys other than `ips` and `macs` (and Netify's `name` and
//! `description`) are ignored with a warning, so a file with more per-group metadata still
//! loads. Every problem names the file and the JSON key; a key given twice in one object is an
//! error when its values differ and a warning when they agree, as in the flow-actions file.

use std::fmt;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde_json::Value as Json;

use super::lexer::parse_mac;
use crate::facts::net::IpNet;

/// All groups of one file, by name (file order kept for listings).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AddressGroups {
    groups: IndexMap<String, AddressGroup>,
    warnings: Vec<String>,
}

/// One group's members.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressGroup {
    /// Addresses and networks; a single address is a full-length prefix.
    pub ips: Vec<IpNet>,
    pub macs: Vec<[u8; 6]>,
}

/// Why an address-groups file did not load: the file, the JSON key, what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressGroupsError {
    #[error("{file}: cannot read: {message}")]
    Read { file: PathBuf, message: String },
    #[error("{file}: not valid JSON: {message}")]
    Json { file: PathBuf, message: String },
    #[error("{file}: {key}: {message}")]
    Invalid { file: PathBuf, key: String, message: String },
}

impl AddressGroups {
    /// No groups.
    pub fn new() -> AddressGroups {
        AddressGroups::default()
    }

    /// Reads and checks `path` (a bounded regular file, as every configuration file: [`crate::input::read_file`]).
    ///
    /// # Errors
    ///
    /// The first problem, naming the file and the JSON key (`$.iot.ips[2]`).
    pub fn load(path: impl AsRef<Path>) -> Result<AddressGroups, AddressGroupsError> {
        let path = path.as_ref();
        let text = crate::input::read_file(path)
            .map_err(|e| AddressGroupsError::Read { file: path.to_path_buf(), message: e.to_string() })?;
        AddressGroups::from_json(&text, path)
    }

    /// Parses the text of a file; `file` is only used in messages.
    ///
    /// # Errors
    ///
    /// As [`AddressGroups::load`].
    pub fn from_json(text: &str, file: impl AsRef<Path>) -> Result<AddressGroups, AddressGroupsError> {
        let file = file.as_ref();
        let invalid =
            |key: String, message: String| AddressGroupsError::Invalid { file: file.to_path_buf(), key, message };
        // Read as the flow-actions file is: a key given twice with different values is an error
        // (JSON readers keep one of them, so the file means two things), twice the same a warning.
        let (json, duplicates) = crate::input::parse_json(text)
            .map_err(|e| AddressGroupsError::Json { file: file.to_path_buf(), message: e.to_string() })?;
        let mut warnings = Vec::new();
        for d in duplicates {
            if !d.same_value {
                return Err(invalid(
                    d.path,
                    format!(
                        "key '{}' appears more than once in this object with different values \
                         (only the last would be used): remove all but one",
                        d.key
                    ),
                ));
            }
            warnings.push(format!(
                "{}: {}: key '{}' appears more than once in this object (same value)",
                file.display(),
                d.path,
                d.key
            ));
        }
        let Json::Object(top) = json else {
            return Err(invalid(
                "$".into(),
                "expected an object of groups: {\"name\": {\"ips\": [...], \"macs\": [...]}}".into(),
            ));
        };
        let mut groups = AddressGroups { groups: IndexMap::new(), warnings };
        // Netify's documented shape: `{"address_groups": [{"name", "description", "ips", "macs"}]}`.
        if let Some(Json::Array(list)) = top.get("address_groups") {
            for (i, entry) in list.iter().enumerate() {
                let key = format!("$.address_groups[{i}]");
                let Json::Object(fields) = entry else {
                    return Err(invalid(key, "expected an object with `name`, `description`, `ips`, `macs`".into()));
                };
                let name = match fields.get("name") {
                    Some(Json::String(name)) => name.clone(),
                    Some(other) => {
                        return Err(invalid(format!("{key}.name"), format!("expected a string, found {other}")))
                    }
                    None => return Err(invalid(key, "missing key `name`".into())),
                };
                if groups.groups.contains_key(&name) {
                    return Err(invalid(format!("{key}.name"), format!("group `{name}` is defined twice")));
                }
                let members = fields.iter().filter(|(field, _)| !matches!(field.as_str(), "name" | "description"));
                if !matches!(fields.get("description"), None | Some(Json::String(_))) {
                    return Err(invalid(format!("{key}.description"), "expected a string".into()));
                }
                let group = parse_group(&name, &key, members, file, &mut groups.warnings)?;
                groups.groups.insert(name, group);
            }
            return Ok(groups);
        }
        for (name, body) in top {
            let key = format!("$.{name}");
            let Json::Object(fields) = body else {
                return Err(invalid(key, "expected an object with `ips` and/or `macs`".into()));
            };
            let group = parse_group(&name, &key, fields.iter(), file, &mut groups.warnings)?;
            groups.groups.insert(name, group);
        }
        Ok(groups)
    }

    /// Adds or replaces a group (for callers that build groups themselves, and tests).
    pub fn insert(&mut self, name: impl Into<String>, group: AddressGroup) {
        self.groups.insert(name.into(), group);
    }

    pub fn get(&self, name: &str) -> Option<&AddressGroup> {
        self.groups.get(name)
    }

    /// Group names in file order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.groups.keys().map(String::as_str)
    }

    /// Ignored keys, one message each (file and key included).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The group whose name is closest to `name`, for "did you mean" messages.
    pub(super) fn closest(&self, name: &str) -> Option<&str> {
        let limit = (name.chars().count() / 3).max(1);
        self.names()
            .map(|n| (crate::input::edit_distance(&name.to_ascii_lowercase(), &n.to_ascii_lowercase()), n))
            .filter(|&(d, _)| d <= limit)
            .min_by_key(|&(d, _)| d)
            .map(|(_, n)| n)
    }
}

/// One group's `ips` and `macs` (other keys are ignored with a warning); `key` is the group's
/// JSON path in messages.
fn parse_group<'a>(
    name: &str,
    key: &str,
    fields: impl Iterator<Item = (&'a String, &'a Json)>,
    file: &Path,
    warnings: &mut Vec<String>,
) -> Result<AddressGroup, AddressGroupsError> {
    let invalid = |key: String, message: String| AddressGroupsError::Invalid { file: file.to_path_buf(), key, message };
    if name.is_empty() || !name.chars().all(is_group_char) {
        return Err(invalid(
            key.to_string(),
            format!("group name `{name}` cannot be written as `@{name}`: use letters, digits, `_`, `-` and `.`"),
        ));
    }
    let mut group = AddressGroup::default();
    for (field, value) in fields {
        let key = format!("{key}.{field}");
        let items = match (field.as_str(), value) {
            ("ips" | "macs", Json::Array(items)) => items,
            ("ips" | "macs", _) => return Err(invalid(key, "expected an array of strings".into())),
            _ => {
                warnings.push(format!("{}: {key}: unknown key, ignored (expected `ips` or `macs`)", file.display()));
                continue;
            }
        };
        for (i, item) in items.iter().enumerate() {
            let key = format!("{key}[{i}]");
            let Json::String(text) = item else {
                return Err(invalid(key, format!("expected a string, found {item}")));
            };
            if field == "ips" {
                let net = text.parse::<IpNet>().map_err(|e| invalid(key, e.to_string()))?;
                group.ips.push(net);
            } else {
                let mac = parse_mac(text)
                    .ok_or_else(|| invalid(key, format!("'{text}' is not a MAC address (hh:hh:hh:hh:hh:hh)")))?;
                group.macs.push(mac);
            }
        }
    }
    Ok(group)
}

/// Characters of a group name after `@`.
pub(super) fn is_group_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')
}

/// `aa:bb:cc:dd:ee:ff`, lower case.
pub(super) struct Mac(pub [u8; 6]);

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.0;
        write!(f, "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", m[0], m[1], m[2], m[3], m[4], m[5])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "/etc/netifyd/address-groups.json";

    fn err(text: &str) -> String {
        AddressGroups::from_json(text, FILE).unwrap_err().to_string()
    }

    #[test]
    fn loads_ips_and_macs() {
        let groups = AddressGroups::from_json(
            r#"{"iot": {"ips": ["192.168.1.50", "10.9.0.0/16", "fd00::/8"], "macs": ["AA:bb:cc:dd:ee:ff"]},
                "empty": {}, "x": {"ips": [], "comment": "kept out"}}"#,
            FILE,
        )
        .unwrap();
        let iot = groups.get("iot").unwrap();
        assert_eq!(iot.ips.len(), 3);
        assert!(iot.ips[1].contains("10.9.200.1".parse().unwrap()));
        assert_eq!(iot.macs, [[0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]]);
        assert_eq!(groups.names().collect::<Vec<_>>(), ["iot", "empty", "x"]);
        assert_eq!(
            groups.warnings(),
            [format!("{FILE}: $.x.comment: unknown key, ignored (expected `ips` or `macs`)")]
        );
        assert_eq!(groups.closest("IOT"), Some("iot"));
        assert_eq!(groups.closest("zzzzzz"), None);
    }

    #[test]
    fn loads_netifys_documented_shape() {
        let groups = AddressGroups::from_json(
            r#"{"address_groups": [
                {"name": "iot", "description": "Cameras", "ips": ["192.168.1.50", "fd00::/8"], "macs": ["aa:bb:cc:dd:ee:01"]},
                {"name": "staff", "description": "", "ips": ["10.1.0.0/16"]}]}"#,
            FILE,
        )
        .unwrap();
        assert_eq!(groups.names().collect::<Vec<_>>(), ["iot", "staff"]);
        assert_eq!(groups.get("iot").unwrap().macs, [[0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x01]]);
        assert!(groups.get("staff").unwrap().ips[0].contains("10.1.2.3".parse().unwrap()));
        assert!(groups.warnings().is_empty(), "{:?}", groups.warnings());
        assert_eq!(
            err(r#"{"address_groups": [{"name": "a", "ips": ["x"]}]}"#),
            format!("{FILE}: $.address_groups[0].ips[0]: 'x' is not an IP address or CIDR")
        );
        assert_eq!(
            err(r#"{"address_groups": [{"ips": []}]}"#),
            format!("{FILE}: $.address_groups[0]: missing key `name`")
        );
        assert_eq!(
            err(r#"{"address_groups": [{"name": "a"}, {"name": "a"}]}"#),
            format!("{FILE}: $.address_groups[1].name: group `a` is defined twice")
        );
    }

    #[test]
    fn errors_name_file_and_key() {
        assert_eq!(
            err(r#"{"iot": {"ips": ["10.0.0.1", "10.0.0.300"]}}"#),
            format!("{FILE}: $.iot.ips[1]: '10.0.0.300' is not an IP address or CIDR")
        );
        assert_eq!(
            err(r#"{"iot": {"macs": ["aa:bb"]}}"#),
            format!("{FILE}: $.iot.macs[0]: 'aa:bb' is not a MAC address (hh:hh:hh:hh:hh:hh)")
        );
        assert_eq!(err(r#"{"iot": {"ips": "10.0.0.1"}}"#), format!("{FILE}: $.iot.ips: expected an array of strings"));
        assert_eq!(err(r#"{"iot": {"ips": [5]}}"#), format!("{FILE}: $.iot.ips[0]: expected a string, found 5"));
        assert_eq!(err(r#"{"iot": []}"#), format!("{FILE}: $.iot: expected an object with `ips` and/or `macs`"));
        assert!(err(r#"{"a b": {}}"#).starts_with(&format!("{FILE}: $.a b: group name `a b` cannot be written")));
        assert!(err("[]").starts_with(&format!("{FILE}: $: expected an object of groups")));
        assert!(err("{").starts_with(&format!("{FILE}: not valid JSON: ")));
        let missing = AddressGroups::load("/nonexistent/address-groups.json").unwrap_err().to_string();
        assert!(missing.starts_with("/nonexistent/address-groups.json: cannot read: "), "{missing}");
    }
}
