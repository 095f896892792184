//! Categories: Netify's `netify-categories.json`, the built-in category lists, and custom
//! domain lists (`domains.d/<priority>-<category>.txt`).
//!
//! `netify-categories.json` (docs/FLOW-ACTIONS.md §5):
//!
//! ```json
//! { "application_tag_index": { "streaming-media": 29, … },
//!   "application_index": [ [29, [124, 133]], … ],
//!   "protocol_tag_index": { "web": 22, … },
//!   "protocol_index": [ [22, [7, 91, 196]], … ],
//!   "last_update": … }
//! ```
//!
//! Netify's category IDs and tags ([`crate::criteria::CategoryKind::table`]) are built in, so criteria such as
//! `app_category == 'games'` resolve even without a file; a file adds to them (and wins on a
//! conflict). `application_index` and `protocol_index` are also accepted as objects
//! (`{"29": [124, 133]}`).

use std::path::Path;
use std::sync::Arc;

use hashbrown::HashMap;
use serde_json::Value;

use crate::facts::protocol::ProtocolId;

use super::apps::{normalize_domain_entry, with_lowercase, FormatError};

type Map<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

fn new_map<K, V>() -> Map<K, V> {
    HashMap::with_hasher(foldhash::fast::RandomState::default())
}

pub use crate::criteria::CategoryKind;

/// Tag of a built-in application category (for output that has no [`CategoryIndex`] at hand).
pub fn builtin_application_category_tag(id: u16) -> Option<&'static str> {
    CategoryKind::Application.tag_of(id)
}

/// A category: ID and tag (`streaming-media`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Category {
    pub id: u16,
    pub tag: Arc<str>,
}

/// Category lists, which application and protocol belongs where, and custom domain lists.
#[derive(Debug, Clone)]
pub struct CategoryIndex {
    app_categories: Vec<Category>,
    proto_categories: Vec<Category>,
    app_category_of: Map<u32, u16>,
    proto_category_of: Map<u16, u16>,
    /// Domain → (priority, application category ID) from `domains.d`.
    domain_lists: Map<Box<str>, (u32, u16)>,
}

impl Default for CategoryIndex {
    /// The built-in category lists, no memberships.
    fn default() -> Self {
        let list = |k: CategoryKind| k.table().iter().map(|&(tag, id)| Category { id, tag: Arc::from(tag) }).collect();
        CategoryIndex {
            app_categories: list(CategoryKind::Application),
            proto_categories: list(CategoryKind::Protocol),
            app_category_of: new_map(),
            proto_category_of: new_map(),
            domain_lists: new_map(),
        }
    }
}

impl CategoryIndex {
    /// The built-in lists plus a `netify-categories.json` text. Problems are returned with the
    /// file name; what is valid still loads.
    pub fn parse_json(file: &str, text: &str) -> (CategoryIndex, Vec<FormatError>) {
        let mut index = CategoryIndex::default();
        let errors = index.merge_json(file, text);
        (index, errors)
    }

    /// Adds a `netify-categories.json` text to this index.
    pub fn merge_json(&mut self, file: &str, text: &str) -> Vec<FormatError> {
        let error = |line: usize, message: String| FormatError { file: file.to_string(), line, message };
        let root: Value = match serde_json::from_str(text) {
            Ok(v) => v,
            Err(e) => return vec![error(e.line(), e.to_string())],
        };
        let Some(root) = root.as_object() else {
            return vec![error(1, "expected a JSON object".into())];
        };
        let mut errors = Vec::new();
        for (key, kind) in
            [("application_tag_index", CategoryKind::Application), ("protocol_tag_index", CategoryKind::Protocol)]
        {
            let Some(tags) = root.get(key) else { continue };
            let Some(tags) = tags.as_object() else {
                errors.push(error(0, format!("{key}: expected an object of tag: ID")));
                continue;
            };
            for (tag, id) in tags {
                match id.as_u64().and_then(|id| u16::try_from(id).ok()) {
                    Some(id) => self.set_category(kind, id, tag),
                    None => errors.push(error(0, format!("{key}.{tag}: expected a category ID, found {id}"))),
                }
            }
        }
        for (key, kind) in
            [("application_index", CategoryKind::Application), ("protocol_index", CategoryKind::Protocol)]
        {
            let Some(members) = root.get(key) else { continue };
            for (category, ids) in index_entries(members) {
                let Some(category) = category.and_then(|c| u16::try_from(c).ok()) else {
                    errors.push(error(0, format!("{key}: expected [category ID, [IDs…]] pairs")));
                    continue;
                };
                if self.category_tag(kind, category).is_none() {
                    errors.push(error(0, format!("{key}: category {category} has no tag")));
                }
                let Some(ids) = ids.and_then(Value::as_array) else {
                    errors.push(error(0, format!("{key}: category {category}: expected a list of IDs")));
                    continue;
                };
                for id in ids {
                    let result = match (kind, id.as_u64()) {
                        (CategoryKind::Application, Some(id)) => match u32::try_from(id) {
                            Ok(id) => claim(&mut self.app_category_of, id, category),
                            Err(_) => Err(format!("ID {id} is out of range")),
                        },
                        (CategoryKind::Protocol, Some(id)) => match u16::try_from(id) {
                            Ok(id) => claim(&mut self.proto_category_of, id, category),
                            Err(_) => Err(format!("ID {id} is out of range")),
                        },
                        (_, None) => Err(format!("expected an ID, found {id}")),
                    };
                    if let Err(message) = result {
                        errors.push(error(0, format!("{key}: category {category}: {message}")));
                    }
                }
            }
        }
        errors
    }

    fn set_category(&mut self, kind: CategoryKind, id: u16, tag: &str) {
        let list = match kind {
            CategoryKind::Application => &mut self.app_categories,
            CategoryKind::Protocol => &mut self.proto_categories,
        };
        list.retain(|c| c.id != id && !c.tag.eq_ignore_ascii_case(tag));
        list.push(Category { id, tag: Arc::from(tag) });
        list.sort_by_key(|c| c.id);
    }

    /// Every category of a kind, by ID.
    pub fn categories(&self, kind: CategoryKind) -> &[Category] {
        match kind {
            CategoryKind::Application => &self.app_categories,
            CategoryKind::Protocol => &self.proto_categories,
        }
    }

    /// Tag of a category ID.
    pub fn category_tag(&self, kind: CategoryKind, id: u16) -> Option<&str> {
        self.categories(kind).iter().find(|c| c.id == id).map(|c| &*c.tag)
    }

    /// ID of a category tag, case-insensitively.
    pub fn category_id(&self, kind: CategoryKind, tag: &str) -> Option<u16> {
        self.categories(kind).iter().find(|c| c.tag.eq_ignore_ascii_case(tag)).map(|c| c.id)
    }

    /// Category of an application ID; 0 = none.
    pub fn application_category(&self, app_id: u32) -> u16 {
        self.app_category_of.get(&app_id).copied().unwrap_or(0)
    }

    /// Category of a Netify protocol ID; 0 = none.
    pub fn protocol_category(&self, protocol: ProtocolId) -> u16 {
        self.proto_category_of.get(&protocol.0).copied().unwrap_or(0)
    }

    /// Number of applications and protocols with a category.
    pub fn member_counts(&self) -> (usize, usize) {
        (self.app_category_of.len(), self.proto_category_of.len())
    }

    /// Forget which application is in which category (the lists stay): for when the
    /// application catalogue was replaced and the built-in memberships no longer fit it.
    pub fn clear_application_members(&mut self) {
        self.app_category_of.clear();
    }

    /// Adds one custom domain list. `name` is the file name, `<priority>-<category>.txt`:
    /// when a domain is in several lists the lowest priority number wins (our reading; Netify
    /// does not document it). Each line is a domain (and everything under it); `#` comments.
    pub fn add_domain_list(&mut self, file: &str, name: &str, text: &str) -> Vec<FormatError> {
        let error = |line: usize, message: String| FormatError { file: file.to_string(), line, message };
        let Some((priority, category)) = name
            .strip_suffix(".txt")
            .and_then(|stem| stem.split_once('-'))
            .and_then(|(p, c)| Some((p.parse::<u32>().ok()?, c)))
        else {
            return vec![error(0, format!("`{name}` is not named `<priority>-<category>.txt`"))];
        };
        let Some(category_id) = self.category_id(CategoryKind::Application, category) else {
            return vec![error(0, format!("unknown application category `{category}`"))];
        };
        let mut errors = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            match normalize_domain_entry(line) {
                Ok(domain) => {
                    let slot = self.domain_lists.entry(domain.into()).or_insert((priority, category_id));
                    if priority < slot.0 {
                        *slot = (priority, category_id);
                    }
                }
                Err(message) => errors.push(error(n + 1, message)),
            }
        }
        errors
    }

    /// Reads every `<priority>-<category>.txt` in a `domains.d` directory, in name order.
    /// Other files are ignored. Errors only for an unreadable directory or file.
    pub fn load_domain_dir(&mut self, dir: &Path) -> Result<Vec<FormatError>, std::io::Error> {
        let mut names: Vec<_> = std::fs::read_dir(dir)?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "txt"))
            .collect();
        names.sort();
        let mut errors = Vec::new();
        for path in names {
            let text = std::fs::read_to_string(&path)?;
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            errors.extend(self.add_domain_list(&path.display().to_string(), &name, &text));
        }
        Ok(errors)
    }

    /// Category from the custom domain lists for a host name (most specific listed domain);
    /// 0 = none. Does not allocate.
    pub fn domain_category(&self, host: &str) -> u16 {
        if self.domain_lists.is_empty() {
            return 0;
        }
        with_lowercase(host, |name| self.domain_suffix(name).map_or(0, |(_, c)| c))
    }

    /// The listed domain and category that [`CategoryIndex::domain_category`] uses.
    pub fn domain_match(&self, host: &str) -> Option<(String, u16)> {
        if self.domain_lists.is_empty() {
            return None;
        }
        with_lowercase(host, |name| self.domain_suffix(name).map(|(at, c)| (name[at..].to_string(), c)))
    }

    /// Exact name, then each parent at a label boundary: (offset of the listed domain, category).
    fn domain_suffix(&self, name: &str) -> Option<(usize, u16)> {
        let mut at = 0;
        loop {
            if let Some(&(_, category)) = self.domain_lists.get(&name[at..]) {
                return Some((at, category));
            }
            at += name[at..].find('.')? + 1;
        }
    }

    pub fn domain_list_len(&self) -> usize {
        self.domain_lists.len()
    }
}

/// An application may be in one category only: the first claim stays.
fn claim<K: std::hash::Hash + Eq + Copy + std::fmt::Display>(
    map: &mut Map<K, u16>,
    id: K,
    category: u16,
) -> Result<(), String> {
    match map.get(&id) {
        Some(&other) if other != category => Err(format!("ID {id} is already in category {other}")),
        Some(_) => Ok(()),
        None => {
            map.insert(id, category);
            Ok(())
        }
    }
}

/// `[[cat, [ids]], …]` or `{"cat": [ids], …}` as (category, ids) pairs.
fn index_entries(value: &Value) -> Vec<(Option<u64>, Option<&Value>)> {
    match value {
        Value::Array(pairs) => pairs
            .iter()
            .map(|pair| match pair.as_array().map(Vec::as_slice) {
                Some([cat, ids]) => (cat.as_u64(), Some(ids)),
                _ => (None, None),
            })
            .collect(),
        Value::Object(map) => map.iter().map(|(cat, ids)| (cat.parse().ok(), Some(ids))).collect(),
        _ => vec![(None, None)],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_categories_resolve() {
        let index = CategoryIndex::default();
        assert_eq!(index.category_id(CategoryKind::Application, "vpn-and-proxy"), Some(28));
        assert_eq!(index.category_id(CategoryKind::Application, "OS-Software-Updates"), Some(31));
        assert_eq!(index.category_tag(CategoryKind::Protocol, 22), Some("web"));
        assert_eq!(index.application_category(124), 0);
    }

    #[test]
    fn json_memberships_and_errors() {
        let text = r#"{
            "application_tag_index": { "streaming-media": 29, "my-own": 200 },
            "application_index": [ [29, [124, 133]], [200, [7000]], [24, [124]] ],
            "protocol_tag_index": { "web": 22 },
            "protocol_index": { "22": [7, 91] },
            "last_update": "2026-11-27"
        }"#;
        let (index, errors) = CategoryIndex::parse_json("cats.json", text);
        assert_eq!(index.application_category(133), 29);
        assert_eq!(index.application_category(7000), 200);
        assert_eq!(index.category_tag(CategoryKind::Application, 200), Some("my-own"));
        assert_eq!(index.protocol_category(ProtocolId(91)), 22);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].message.contains("124 is already in category 29"), "{}", errors[0]);

        let (_, errors) = CategoryIndex::parse_json("cats.json", "{\n  \"application_index\": [\n  oops ]\n}");
        assert_eq!(errors.len(), 1);
        assert_eq!((errors[0].file.as_str(), errors[0].line), ("cats.json", 3), "{}", errors[0]);
    }

    #[test]
    fn domain_lists_by_suffix_and_priority() {
        let mut index = CategoryIndex::default();
        assert!(index.add_domain_list("d/50-games.txt", "50-games.txt", "# mine\nplay.example\n").is_empty());
        let errors = index.add_domain_list("d/10-adult.txt", "10-adult.txt", "play.example\nbad name\nadult.example\n");
        assert_eq!(errors.len(), 1);
        assert_eq!((errors[0].file.as_str(), errors[0].line), ("d/10-adult.txt", 2));
        assert_eq!(index.domain_category("www.play.example"), 2, "priority 10 beats 50");
        assert_eq!(index.domain_category("ADULT.example."), 2);
        assert_eq!(index.domain_category("notadult.example"), 0);
        assert_eq!(index.add_domain_list("x", "games.txt", "a.example").len(), 1);
        assert_eq!(index.add_domain_list("x", "5-nonsense.txt", "a.example").len(), 1);
    }
}
