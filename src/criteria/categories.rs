//! Netify's category tags and IDs: the one built-in category table of flowsieve
//! (`application_tag_index` and `protocol_tag_index` of Netify's `netify-categories.json`, as
//! committed in `data/third-party/netify/categories.tsv`; a test ties them, and another ties
//! `data/categories.json` to this table).
//!
//! Criteria name categories by tag (`category == 'games'`, `ac:social-media`); flows carry the
//! numeric ID (`AppFacts::category` …). IDs missing from the table (7, 8, 11, … for
//! applications) are not nameable by tag, but still usable as numbers. The classifier's
//! category index (`classify::categories::CategoryIndex`) starts from this table and adds what
//! a category file says.

/// Which index a tag is looked up in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CategoryKind {
    /// Application categories; also used by `domain_category` (custom domain lists are named
    /// by application category tag) and by the hybrid `category`.
    Application,
    /// Protocol categories.
    Protocol,
}

/// `application_tag_index`: tag → ID.
pub const APPLICATION_CATEGORIES: &[(&str, u16)] = &[
    ("unclassified", 1),
    ("adult", 2),
    ("advertiser", 3),
    ("entertainment", 4),
    ("business", 5),
    ("education", 6),
    ("financial", 9),
    ("file-sharing", 10),
    ("games", 12),
    ("government", 13),
    ("mail", 15),
    ("malware", 16),
    ("messaging", 17),
    ("news", 18),
    ("portal", 19),
    ("recreation", 20),
    ("reference", 21),
    ("shopping", 23),
    ("social-media", 24),
    ("sports", 26),
    ("technology", 27),
    ("vpn-and-proxy", 28),
    ("streaming-media", 29),
    ("cybersecurity", 30),
    ("os-software-updates", 31),
    ("voip", 32),
    ("device-iot", 33),
    ("remote-desktop", 34),
    ("cdn", 35),
    ("hosting", 36),
    ("telco", 37),
];

/// `protocol_tag_index`: tag → ID.
pub const PROTOCOL_CATEGORIES: &[(&str, u16)] = &[
    ("unclassified", 1),
    ("database", 2),
    ("file-server", 4),
    ("file-sharing", 5),
    ("games", 7),
    ("infrastructure", 9),
    ("mail", 11),
    ("media", 12),
    ("media-provider", 13),
    ("networking", 14),
    ("proxy", 16),
    ("authentication", 17),
    ("remote-desktop", 18),
    ("voip", 20),
    ("vpn", 21),
    ("web", 22),
    ("messaging", 24),
    ("printing", 25),
];

impl CategoryKind {
    /// Netify's category table of this kind: (tag, ID), by ID.
    pub fn table(self) -> &'static [(&'static str, u16)] {
        match self {
            CategoryKind::Application => APPLICATION_CATEGORIES,
            CategoryKind::Protocol => PROTOCOL_CATEGORIES,
        }
    }

    /// What the index is called in messages.
    pub fn describe(self) -> &'static str {
        match self {
            CategoryKind::Application => "application category",
            CategoryKind::Protocol => "protocol category",
        }
    }

    /// ID of a tag, case-insensitively (tags are lower case in Netify's files; users write
    /// `'Games'` too).
    pub fn id_of(self, tag: &str) -> Option<u16> {
        self.table().iter().find(|(t, _)| t.eq_ignore_ascii_case(tag)).map(|&(_, id)| id)
    }

    /// Tag of an ID, when the index names it.
    pub fn tag_of(self, id: u16) -> Option<&'static str> {
        self.table().iter().find(|&&(_, i)| i == id).map(|&(t, _)| t)
    }

    /// The tag closest to one the index does not hold ("did you mean").
    pub fn closest(self, tag: &str) -> Option<&'static str> {
        let lower = tag.to_ascii_lowercase();
        self.table()
            .iter()
            .map(|&(t, _)| (crate::input::edit_distance(&lower, t), t))
            .filter(|&(d, t)| d <= (t.len() / 3).max(2) || t.contains(lower.as_str()) && lower.len() >= 3)
            .min_by_key(|&(d, _)| d)
            .map(|(_, t)| t)
    }

    /// The warning for a tag the index does not hold: the closest tag, or the whole list.
    pub fn unknown_message(self, tag: &str, why: &str) -> String {
        match self.closest(tag) {
            Some(t) => super::names::unknown(self.describe(), tag, why, Some(t)),
            None => {
                let all: Vec<&str> = self.table().iter().map(|&(t, _)| t).collect();
                format!("unknown {} `{tag}` ({why}): known are {}", self.describe(), all.join(", "))
            }
        }
    }
}

impl std::str::FromStr for CategoryKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "application" | "app" => Ok(CategoryKind::Application),
            "protocol" | "proto" => Ok(CategoryKind::Protocol),
            _ => Err(format!("`{s}`: expected `application` or `protocol`")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_consistent() {
        for index in [CategoryKind::Application, CategoryKind::Protocol] {
            let table = index.table();
            for (i, &(tag, id)) in table.iter().enumerate() {
                assert!(id > 0);
                assert!(tag.chars().all(|c| c.is_ascii_lowercase() || c == '-'), "{tag}");
                assert!(table[..i].iter().all(|&(t, d)| t != tag && d != id), "{tag} {id} twice");
                assert_eq!(index.id_of(tag), Some(id));
                assert_eq!(index.tag_of(id), Some(tag));
            }
        }
        assert_eq!(CategoryKind::Application.id_of("Social-Media"), Some(24));
        assert_eq!(CategoryKind::Application.id_of("vpn-and-proxy"), Some(28));
        assert_eq!(CategoryKind::Protocol.id_of("vpn"), Some(21));
        assert!(CategoryKind::Application
            .unknown_message("socal-media", "why")
            .ends_with("did you mean `social-media`?"));
        assert!(CategoryKind::Protocol.unknown_message("zzzz", "why").contains("known are unclassified, database"));
        assert!("protocol".parse::<CategoryKind>().is_ok());
        assert!("both".parse::<CategoryKind>().is_err());
    }

    /// The table is Netify's, row for row (`data/third-party/netify/categories.tsv`).
    #[test]
    fn table_is_netifys() {
        let tsv = include_str!("../../data/third-party/netify/categories.tsv");
        let mut netify: Vec<(CategoryKind, &str, u16)> = Vec::new();
        for line in tsv.lines() {
            let mut f = line.split('\t');
            let (Some(kind), Some(id), Some(tag)) = (f.next(), f.next(), f.next()) else { panic!("{line}") };
            netify.push((kind.parse().unwrap(), tag, id.parse().unwrap()));
        }
        for kind in [CategoryKind::Application, CategoryKind::Protocol] {
            let theirs: Vec<(&str, u16)> = netify.iter().filter(|r| r.0 == kind).map(|r| (r.1, r.2)).collect();
            assert_eq!(kind.table(), &theirs[..], "{kind:?}");
        }
    }
}
