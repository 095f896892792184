//! What users hand flowsieve, read and quoted the same way everywhere: configuration files
//! (regular files only, bounded, opened without blocking), the closest known spelling of an
//! unknown word ("did you mean"), and text quoted in messages with terminal control characters
//! escaped. A leaf: it uses no other module of the crate, so every stage can use it.

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt;
use std::path::Path;

use serde_json::{Map, Value};

/// Largest configuration file read (bytes): the flow-actions file, the address groups, the
/// connlabel file.
pub const MAX_FILE_BYTES: u64 = 4 << 20;

/// Read a configuration file: a regular file only (a FIFO or device would block or never end;
/// opened non-blocking so that opening one cannot hang either), at most [`MAX_FILE_BYTES`], UTF-8.
pub fn read_file(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY).open(path)?;
    let meta = file.metadata()?;
    let invalid = |m: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, m);
    if !meta.is_file() {
        return Err(invalid("not a regular file".into()));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(invalid(format!("{} bytes; a configuration file is at most {MAX_FILE_BYTES}", meta.len())));
    }
    let mut text = String::new();
    file.take(MAX_FILE_BYTES + 1).read_to_string(&mut text)?;
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(invalid(format!("more than {MAX_FILE_BYTES} bytes")));
    }
    Ok(text)
}

/// A key that appears more than once in one JSON object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateKey {
    /// The JSON path of the key (`$.actions.block-weak.criteria`).
    pub path: String,
    /// The key itself.
    pub key: String,
    /// Whether every occurrence has the same value (then nothing depends on which one is kept).
    pub same_value: bool,
}

/// Parse JSON text into a [`Value`] as `serde_json::from_str` does (objects keep their key
/// order; of a key given twice the last value is kept, at the first one's place), and report
/// every key given more than once in the same object, which `serde_json` drops silently.
pub fn parse_json(text: &str) -> Result<(Value, Vec<DuplicateKey>), serde_json::Error> {
    use serde::de::DeserializeSeed;
    let duplicates = RefCell::new(Vec::new());
    let mut de = serde_json::Deserializer::from_str(text);
    let value = Node { path: "$", duplicates: &duplicates }.deserialize(&mut de)?;
    de.end()?;
    Ok((value, duplicates.into_inner()))
}

/// One JSON value at `path`, deserialized into a [`Value`] while looking for duplicate keys.
struct Node<'a> {
    path: &'a str,
    duplicates: &'a RefCell<Vec<DuplicateKey>>,
}

impl<'de> serde::de::DeserializeSeed<'de> for Node<'_> {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Node<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        loop {
            let path = format!("{}[{}]", self.path, items.len());
            match seq.next_element_seed(Node { path: &path, duplicates: self.duplicates })? {
                Some(item) => items.push(item),
                None => return Ok(Value::Array(items)),
            }
        }
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            let path = format!("{}.{key}", self.path);
            let value = access.next_value_seed(Node { path: &path, duplicates: self.duplicates })?;
            if let Some(earlier) = map.get(&key) {
                let same_value = *earlier == value;
                let mut duplicates = self.duplicates.borrow_mut();
                match duplicates.iter_mut().find(|d| d.path == path) {
                    // A third occurrence: one report, different if any differs.
                    Some(d) => d.same_value &= same_value,
                    None => duplicates.push(DuplicateKey { path, key: key.clone(), same_value }),
                }
            }
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }
}

/// Whether printing `c` raw could move the cursor, recolour, retitle or reorder what a terminal
/// shows: C0 controls (tab and newline included: a quoted value must not start a line of its
/// own), DEL, C1 controls and the Unicode bidirectional overrides and isolates.
pub fn is_unsafe(c: char) -> bool {
    matches!(c, '\0'..='\x1f' | '\x7f'..='\u{9f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with every [`is_unsafe`] character written as a Rust-style escape (`\x1b`,
/// `\u{202e}`); borrowed when there is none.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        push_escaped(&mut out, c);
    }
    Cow::Owned(out)
}

/// Push `c` to `out`, escaped when [`is_unsafe`].
pub fn push_escaped(out: &mut String, c: char) {
    use fmt::Write as _;
    let _ = match c {
        c if !is_unsafe(c) => out.write_char(c),
        c if (c as u32) < 0x80 => write!(out, "\\x{:02x}", c as u32),
        c => write!(out, "\\u{{{:x}}}", c as u32),
    };
}

/// Displays its text through [`escape`]: `format!("{}", Escaped(&name))`.
pub struct Escaped<'a>(pub &'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&escape(self.0))
    }
}

/// Levenshtein distance over characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

/// The spelling closest to `word` among `candidates`, case-insensitively: the smallest edit
/// distance within about a third of the word (at least 1); the first of equals.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = word.to_ascii_lowercase();
    let limit = (lower.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (edit_distance(&lower, &c.to_ascii_lowercase()), c))
        .filter(|&(d, _)| d <= limit)
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_and_bidi_characters_are_escaped_and_the_rest_kept() {
        assert!(matches!(escape("plain é ✓"), Cow::Borrowed("plain é ✓")));
        assert_eq!(escape("a\0b\x1b[31mc\nd\te\x7f"), "a\\x00b\\x1b[31mc\\x0ad\\x09e\\x7f");
        assert_eq!(
            escape("\u{85}\u{9b}x\u{202e}gnp.exe\u{2066}\u{2069}"),
            "\\u{85}\\u{9b}x\\u{202e}gnp.exe\\u{2066}\\u{2069}"
        );
        assert_eq!(escape("\u{a0}\u{2029}\u{202f}"), "\u{a0}\u{2029}\u{202f}", "not controls");
        assert_eq!(Escaped("x\ry").to_string(), "x\\x0dy");
    }

    #[test]
    fn duplicate_keys_are_found_at_every_level_and_the_last_value_kept() {
        let text = r#"{"a":{"x":1,"y":[{"k":"v","k":"w"}],"x":2},"b":true,"b":true,"a2":{"x":1,"x":1,"x":3}}"#;
        let (value, dups) = parse_json(text).unwrap();
        assert_eq!(value, serde_json::from_str::<Value>(text).unwrap(), "the same value as serde_json");
        let found: Vec<(&str, &str, bool)> =
            dups.iter().map(|d| (d.path.as_str(), d.key.as_str(), d.same_value)).collect();
        assert_eq!(
            found,
            [("$.a.y[0].k", "k", false), ("$.a.x", "x", false), ("$.b", "b", true), ("$.a2.x", "x", false)]
        );
        assert!(parse_json(r#"{"a":1} x"#).is_err(), "trailing text");
        assert!(parse_json(&"[".repeat(100_000)).is_err(), "deep nesting is an error, not a stack overflow");
        assert_eq!(parse_json("[1.5,-2,null]").unwrap().0, serde_json::json!([1.5, -2, null]));
    }

    #[test]
    fn closest_spellings() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("ssl_verison", "ssl_version"), 2);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("ip_nat", "ip_nat"), 0);
        assert_eq!(closest("exemption", ["exemptions", "enabled"]), Some("exemptions"));
        assert_eq!(closest("CRITERA", ["criteria"]), Some("criteria"));
        assert_eq!(closest("zzzz", ["youtube"]), None);
    }

    #[test]
    fn only_bounded_regular_files_are_read() {
        let dir = std::env::temp_dir().join(format!("flowsieve-input-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("ok.json");
        std::fs::write(&file, "{}").unwrap();
        assert_eq!(read_file(&file).unwrap(), "{}");
        assert!(read_file(&dir).unwrap_err().to_string().contains("not a regular file"));
        let big = dir.join("big.json");
        std::fs::File::create(&big).unwrap().set_len(MAX_FILE_BYTES + 1).unwrap();
        assert!(read_file(&big).unwrap_err().to_string().contains("at most"));
        assert!(read_file(Path::new("/dev/zero")).unwrap_err().to_string().contains("not a regular file"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
