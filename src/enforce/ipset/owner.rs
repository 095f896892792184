//! Which ipsets flowsieve created, so it flushes and destroys only those (docs/ARCHITECTURE.md,
//! "Ownership and instances").
//!
//! An nftables set carries flowsieve's mark in its user data; an ipset has no per-set user data
//! (its `comment` extension is per member). So flowsieve keeps, for each ipset it creates, a
//! record in its run-time directory ([`run_dir`](super::super::files::run_dir)`/ipset-owners`,
//! 0700), named after the network namespace and the set, holding what the kernel says of the
//! set right after creating it: its type, family and hash seed (`initval`, drawn at random by
//! the kernel for every set it creates, and fixed for the set's life). A set is flowsieve's
//! when its record exists and the live set has exactly those facts: a set a user made under
//! that name, before flowsieve ever ran or after destroying flowsieve's, has another seed (one
//! chance in 2^32 of the same). Kernels before Linux 5.11 report no seed: type and family alone
//! then decide, which a user's set of the same type passes if it was made after flowsieve's
//! was destroyed behind its back; the record is written `initval none`.

use std::io::{self, Write};
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use super::super::files;
use crate::netlink::ipset::{family_name, IpsetHeader};

const FORMAT: &str = "flowsieve ipset owner 1";
/// A record is a few lines.
const RECORD_LIMIT: u64 = 512;

fn record_path(set: &str) -> io::Result<PathBuf> {
    let dir = files::private_dir(&files::run_dir()?, "ipset-owners")?;
    // This thread's namespace: the enforcer's sockets are opened in it.
    let netns = std::fs::metadata("/proc/thread-self/ns/net")?.ino();
    Ok(dir.join(format!("net{netns}-{}", files::file_part(set))))
}

/// The record of a set with this header (the set name guards against a file-name collision).
fn record_text(set: &str, header: &IpsetHeader) -> String {
    let initval = header.initval.map_or_else(|| "none".to_string(), |v| format!("{v:#010x}"));
    format!(
        "{FORMAT}\nset {set}\ntype {}\nfamily {}\ninitval {initval}\n",
        header.type_name,
        family_name(header.family)
    )
}

/// Notes that flowsieve created `set`, whose header the kernel gave just after.
pub fn record(set: &str, header: &IpsetHeader) -> io::Result<()> {
    let path = record_path(set)?;
    forget_path(&path)?;
    files::publish(&path, |f| f.write_all(record_text(set, header).as_bytes()))
}

/// Whether the live set with this header is the one flowsieve created.
pub fn owns(set: &str, header: &IpsetHeader) -> io::Result<bool> {
    let path = record_path(set)?;
    Ok(files::read_own(&path, RECORD_LIMIT)?.is_some_and(|text| text == record_text(set, header)))
}

/// The set is gone (flowsieve destroyed it).
pub fn forget(set: &str) -> io::Result<()> {
    forget_path(&record_path(set)?)
}

fn forget_path(path: &std::path::Path) -> io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(initval: Option<u32>) -> IpsetHeader {
        IpsetHeader {
            type_name: "hash:ip".into(),
            family: 2,
            revision: 6,
            initval,
            timeout: Some(900),
            max_elements: Some(65536),
            references: 0,
        }
    }

    #[test]
    fn a_record_names_type_family_and_seed() {
        assert_eq!(
            record_text("social.v4", &header(Some(0xd7a4d732))),
            "flowsieve ipset owner 1\nset social.v4\ntype hash:ip\nfamily inet\ninitval 0xd7a4d732\n"
        );
        assert!(record_text("social.v4", &header(None)).ends_with("initval none\n"));
        // Another seed (a set made again by someone else) is another record.
        assert_ne!(record_text("s", &header(Some(1))), record_text("s", &header(Some(2))));
    }
}
