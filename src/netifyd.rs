//! Capture sources from netifyd's configuration, so `flowsieve run` on a box that ran netifyd
//! captures what netifyd captured without new options.
//!
//! Files read, in this order (later sections of an interface already seen are skipped):
//! 1. the main file (`/etc/netifyd.conf`, `run --netifyd-conf`): `[netifyd]` paths,
//!    `[capture-defaults]`, and (netifyd 5.0) `[capture-interface-*]` sections;
//! 2. the profile named by `[netifyd] profile` (netifyd 5.2), or
//!    `/etc/netifyd/profiles.d/00-default.conf` when that exists;
//! 3. `*.conf` files in `path_interfaces` (default `${path_state_persistent}/interfaces.d`,
//!    `path_state_persistent` defaulting to `/etc/netifyd`) whose names start with a digit, in
//!    name order (netifyd takes directory order, which the file system chooses).
//!
//! INI syntax as netifyd reads it: `[section]`, `key = value`, whole-line comments starting with
//! `;` or `#`, inline comments after ` ;`, keys case-sensitive. Booleans: yes/no, true/false,
//! on/off, 1/0.
//!
//! A `[capture-interface-NAME]` section names its device by the text after the section name's
//! **last** `-` (netifyd's rule: `capture-interface-br-lan` captures `lan`). Keys: `role`
//! (`lan`/`wan`, or any value starting with `int`/`ext`, case-insensitive; a section without a
//! valid role is skipped with a warning), `capture_type` (`pcap`, `tpv3`, `nfqueue`; default
//! `[capture-defaults] capture_type`, else `pcap`; an unknown type is an error), `filter`
//! (BPF), `address[N]` (local networks), `peer`, `filename`; NFQUEUE: `queue_id` (netifyd 5.2;
//! 5.0 takes the id from a NAME `nfq<id>`), `queue_instances` (default 1),
//! `conntrack_counters`. The TPACKET_V3 tuning keys (`fanout_*`, `rb_*`) are recognised and
//! not used: flowsieve sizes its rings and fans out by itself (`--ring-size`, `--workers`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::facts::net::IpNet;

/// netifyd's main configuration file.
pub const DEFAULT_CONF: &str = "/etc/netifyd.conf";
const DEFAULT_STATE_PERSISTENT: &str = "/etc/netifyd";
const DEFAULT_STATE_VOLATILE: &str = "/var/run/netifyd";
const DEFAULT_PROFILE: &str = "/etc/netifyd/profiles.d/00-default.conf";

/// A configuration problem, naming the file (and section/key) it is in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", file.display())]
pub struct NetifydError {
    pub file: PathBuf,
    pub message: String,
}

/// Which side of the network a source is on: netifyd's `role`, flowsieve's `-I`/`-E`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Lan,
    Wan,
}

/// How netifyd was told to capture a source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceKind {
    /// `pcap` or `tpv3` on a device: flowsieve captures it live with its own `--capture`
    /// method (the capture type chose netifyd's implementation, not what is seen).
    Live { capture_type: LiveType },
    /// A pcap file (`filename`): offline, for `flowsieve replay`.
    File(PathBuf),
    /// NFQUEUE: `instances` queues from `queue_id` on.
    Nfqueue { queue_id: u16, instances: u16, conntrack_counters: bool },
}

/// netifyd's live capture types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveType {
    Pcap,
    Tpv3,
}

/// One `[capture-interface-*]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureSource {
    /// File and section it came from, for messages.
    pub file: PathBuf,
    pub section: String,
    /// Device name (or queue group name for NFQUEUE).
    pub name: String,
    pub role: Role,
    pub kind: SourceKind,
    pub filter: Option<String>,
    /// `address[N]`: local networks of this source.
    pub addresses: Vec<IpNet>,
    /// `peer`: the paired device (PPP over Ethernet); recorded, not used.
    pub peer: Option<String>,
}

impl CaptureSource {
    /// `file [section]`, for messages.
    pub fn origin(&self) -> String {
        format!("{} [{}]", self.file.display(), self.section)
    }
}

/// The capture sources found, and what was skipped or ignored on the way.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    pub sources: Vec<CaptureSource>,
    pub warnings: Vec<String>,
    /// Every file read, in order.
    pub files: Vec<PathBuf>,
}

/// One parsed INI file: sections in order, each with its keys in order.
#[derive(Debug, Default)]
struct Ini {
    sections: Vec<(String, Vec<(String, String)>)>,
}

impl Ini {
    fn parse(text: &str) -> Result<Ini, String> {
        let mut ini = Ini::default();
        for (n, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with(';') || line.starts_with('#') {
                continue;
            }
            if let Some(rest) = line.strip_prefix('[') {
                let Some(name) = rest.strip_suffix(']') else {
                    return Err(format!("line {}: section header without ']'", n + 1));
                };
                ini.sections.push((name.trim().to_string(), Vec::new()));
                continue;
            }
            let Some(split) = line.find(['=', ':']) else {
                return Err(format!("line {}: expected 'key = value', found '{line}'", n + 1));
            };
            let key = line[..split].trim();
            let mut value = line[split + 1..].trim();
            // inih's inline comments: ';' after whitespace.
            if let Some(c) = value.find(" ;").or_else(|| value.find("\t;")) {
                value = value[..c].trim_end();
            }
            if value.len() >= 2 && value.starts_with('"') && value.ends_with('"') {
                value = &value[1..value.len() - 1];
            }
            let Some((_, keys)) = ini.sections.last_mut() else {
                return Err(format!("line {}: '{key}' outside any [section]", n + 1));
            };
            keys.push((key.to_string(), value.to_string()));
        }
        Ok(ini)
    }

    /// The last value of `key` in the last section called `section`.
    fn get(&self, section: &str, key: &str) -> Option<&str> {
        self.sections
            .iter()
            .rev()
            .filter(|(name, _)| name == section)
            .find_map(|(_, keys)| keys.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str()))
    }
}

fn read_ini(path: &Path) -> Result<Ini, NetifydError> {
    let error = |message: String| NetifydError { file: path.to_path_buf(), message };
    let text = std::fs::read_to_string(path).map_err(|e| error(format!("cannot read: {e}")))?;
    Ini::parse(&text).map_err(error)
}

/// netifyd's booleans.
fn parse_bool(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "yes" | "true" | "on" | "1" => Some(true),
        "no" | "false" | "off" | "0" => Some(false),
        _ => None,
    }
}

fn parse_role(value: &str) -> Option<Role> {
    let v = value.trim().to_ascii_lowercase();
    if v == "lan" || v.starts_with("int") {
        Some(Role::Lan)
    } else if v == "wan" || v.starts_with("ext") {
        Some(Role::Wan)
    } else {
        None
    }
}

/// Expand `${path_state_persistent}` and `${path_state_volatile}` in a path value.
fn expand(value: &str, vars: &HashMap<&str, String>) -> String {
    let mut out = value.to_string();
    for (name, v) in vars {
        out = out.replace(&format!("${{{name}}}"), v);
    }
    out
}

/// The `*.conf` files of a dot.d directory whose names start with a digit, sorted by name. A
/// missing directory has none.
fn dot_d_files(dir: &Path) -> Result<Vec<PathBuf>, NetifydError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(NetifydError { file: dir.to_path_buf(), message: format!("cannot list: {e}") }),
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.starts_with(|c: char| c.is_ascii_digit()) && name.ends_with(".conf") && e.path().is_file()
        })
        .map(|e| e.path())
        .collect();
    files.sort();
    Ok(files)
}

/// Read the capture sources configured for netifyd, starting from its main file `conf`.
pub fn load(conf: &Path) -> Result<Sources, NetifydError> {
    let main = read_ini(conf)?;
    let mut vars: HashMap<&str, String> = HashMap::new();
    vars.insert(
        "path_state_persistent",
        main.get("netifyd", "path_state_persistent").unwrap_or(DEFAULT_STATE_PERSISTENT).to_string(),
    );
    vars.insert(
        "path_state_volatile",
        main.get("netifyd", "path_state_volatile").unwrap_or(DEFAULT_STATE_VOLATILE).to_string(),
    );
    let interfaces_dir =
        expand(main.get("netifyd", "path_interfaces").unwrap_or("${path_state_persistent}/interfaces.d"), &vars);

    let mut files = vec![(conf.to_path_buf(), main)];
    let profile = match main_profile(&files[0].1, &vars) {
        Some(p) => Some(PathBuf::from(p)),
        None => Some(PathBuf::from(DEFAULT_PROFILE)).filter(|p| p.is_file()),
    };
    if let Some(profile) = profile {
        let ini = read_ini(&profile)?;
        files.push((profile, ini));
    }
    for path in dot_d_files(Path::new(&interfaces_dir))? {
        let ini = read_ini(&path)?;
        files.push((path, ini));
    }

    // [capture-defaults] capture_type: the last file that sets it wins.
    let default_type = files
        .iter()
        .rev()
        .find_map(|(path, ini)| ini.get("capture-defaults", "capture_type").map(|v| (path.clone(), v.to_string())));
    let mut out = Sources { files: files.iter().map(|(p, _)| p.clone()).collect(), ..Sources::default() };
    let mut tpv3_keys_noted = false;
    for (path, ini) in &files {
        for (section, keys) in &ini.sections {
            let Some(source) = parse_section(path, section, keys, default_type.as_ref(), &mut out.warnings)? else {
                continue;
            };
            if !tpv3_keys_noted && keys.iter().any(|(k, _)| k.starts_with("fanout_") || k.starts_with("rb_")) {
                tpv3_keys_noted = true;
                out.warnings.push(format!(
                    "{}: fanout_* and rb_* keys are not used: flowsieve sizes its rings and fans out by \
                     itself (run --ring-size, --workers)",
                    source.origin()
                ));
            }
            if let Some(previous) = out.sources.iter().find(|s| s.name == source.name) {
                out.warnings.push(format!(
                    "{}: interface '{}' is already configured by {}; skipped",
                    source.origin(),
                    source.name,
                    previous.origin()
                ));
                continue;
            }
            out.sources.push(source);
        }
    }
    Ok(out)
}

fn main_profile(main: &Ini, vars: &HashMap<&str, String>) -> Option<String> {
    main.get("netifyd", "profile").map(|p| expand(p, vars))
}

const KNOWN_KEYS: &[&str] = &[
    "role",
    "capture_type",
    "filter",
    "peer",
    "filename",
    "capture_filename",
    "queue_id",
    "queue_instances",
    "conntrack_counters",
    "read_timeout",
    "fanout_mode",
    "fanout_flags",
    "fanout_instances",
    "rb_block_size",
    "rb_frame_size",
    "rb_blocks",
];

/// One section: `Ok(None)` when it is not a capture interface or is skipped with a warning.
fn parse_section(
    path: &Path,
    section: &str,
    keys: &[(String, String)],
    default_type: Option<&(PathBuf, String)>,
    warnings: &mut Vec<String>,
) -> Result<Option<CaptureSource>, NetifydError> {
    let Some(suffix) = section.strip_prefix("capture-interface-") else {
        return Ok(None);
    };
    let origin = format!("[{section}]");
    let error = |message: String| NetifydError { file: path.to_path_buf(), message: format!("{origin}: {message}") };
    let name = suffix.rsplit('-').next().unwrap_or(suffix).to_string();
    if name.is_empty() {
        return Err(error("no interface name after 'capture-interface-'".into()));
    }
    let get = |key: &str| keys.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
    let Some(role) = get("role").and_then(parse_role) else {
        warnings.push(format!(
            "{} {origin}: no valid role (lan or wan): {}; section skipped",
            path.display(),
            get("role").map_or("missing".to_string(), |r| format!("'{r}'"))
        ));
        return Ok(None);
    };
    if suffix != name {
        warnings.push(format!(
            "{} {origin}: the interface name is the text after the last '-' (as netifyd reads it): '{name}'",
            path.display()
        ));
    }
    for (key, _) in keys {
        let base = key.split('[').next().unwrap_or(key);
        if base != "address" && !KNOWN_KEYS.contains(&base) {
            warnings.push(format!("{} {origin}: unknown key '{key}' ignored", path.display()));
        }
    }
    let capture_type = match get("capture_type") {
        Some(t) => (t.to_string(), format!("{origin} capture_type")),
        None => match default_type {
            Some((file, t)) => (t.clone(), format!("{} [capture-defaults] capture_type", file.display())),
            None => ("pcap".to_string(), String::new()),
        },
    };
    let mut addresses = Vec::new();
    for (key, value) in keys {
        if key == "address" || (key.starts_with("address[") && key.ends_with(']')) {
            let net: IpNet = value.parse().map_err(|e| error(format!("{key} = '{value}': {e}")))?;
            addresses.push(net);
        }
    }
    let kind = match capture_type.0.to_ascii_lowercase().as_str() {
        "pcap" | "tpv3" | "auto" => match get("filename").or_else(|| get("capture_filename")) {
            Some(file) => SourceKind::File(PathBuf::from(file)),
            None => SourceKind::Live {
                capture_type: if capture_type.0.eq_ignore_ascii_case("tpv3") { LiveType::Tpv3 } else { LiveType::Pcap },
            },
        },
        "nfqueue" => {
            let queue_id = match get("queue_id") {
                Some(v) => {
                    v.parse::<u16>().map_err(|_| error(format!("queue_id = '{v}': not a queue number (0–65535)")))?
                }
                None => name.strip_prefix("nfq").and_then(|n| n.parse::<u16>().ok()).ok_or_else(|| {
                    error(format!(
                        "capture_type nfqueue needs queue_id (or, as netifyd 5.0, a name nfq<id>; this one is '{name}')"
                    ))
                })?,
            };
            let instances = match get("queue_instances") {
                Some(v) => v
                    .parse::<u16>()
                    .ok()
                    .filter(|&n| n >= 1)
                    .ok_or_else(|| error(format!("queue_instances = '{v}': not a count of at least 1")))?,
                None => 1,
            };
            if u32::from(queue_id) + u32::from(instances) - 1 > u32::from(u16::MAX) {
                return Err(error(format!("queues {queue_id} + {instances} instances go past queue 65535")));
            }
            let conntrack_counters = match get("conntrack_counters") {
                Some(v) => parse_bool(v).ok_or_else(|| error(format!("conntrack_counters = '{v}': not a boolean")))?,
                None => false,
            };
            SourceKind::Nfqueue { queue_id, instances, conntrack_counters }
        }
        other => {
            let at = if capture_type.1.is_empty() { origin.clone() } else { capture_type.1.clone() };
            return Err(NetifydError {
                file: path.to_path_buf(),
                message: format!("{at}: unknown capture type '{other}' (pcap, tpv3 or nfqueue)"),
            });
        }
    };
    Ok(Some(CaptureSource {
        file: path.to_path_buf(),
        section: section.to_string(),
        name,
        role,
        kind,
        filter: get("filter").filter(|f| !f.trim().is_empty()).map(str::to_string),
        addresses,
        peer: get("peer").map(str::to_string),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Dir(PathBuf);
    impl Dir {
        fn new(tag: &str) -> Dir {
            let d = std::env::temp_dir().join(format!("flowsieve-netifyd-{tag}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&d);
            std::fs::create_dir_all(d.join("interfaces.d")).unwrap();
            Dir(d)
        }
        fn write(&self, name: &str, text: &str) -> PathBuf {
            let p = self.0.join(name);
            std::fs::write(&p, text).unwrap();
            p
        }
        /// A netifyd.conf whose state directory is this one, plus `extra`.
        fn main(&self, extra: &str) -> PathBuf {
            self.write(
                "netifyd.conf",
                &format!("[netifyd]\npath_state_persistent = {}\n; comment\n{extra}", self.0.display()),
            )
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn reads_netifyd_5_0_sections_from_the_main_file() {
        let d = Dir::new("main");
        let conf = d.main(
            "[capture-defaults]\ncapture_type = tpv3\n\n\
             [capture-interface-eth0]\nrole = LAN\naddress[0] = 192.168.1.0/24\naddress[1] = fd00::/64\n\
             filter = not port 22 ; ssh is not ours\n\n\
             [capture-interface-ppp0]\nrole = external\ncapture_type = pcap\npeer = eth1\n",
        );
        let s = load(&conf).unwrap();
        assert_eq!(s.sources.len(), 2, "{s:?}");
        let lan = &s.sources[0];
        assert_eq!((lan.name.as_str(), lan.role), ("eth0", Role::Lan));
        assert_eq!(lan.kind, SourceKind::Live { capture_type: LiveType::Tpv3 });
        assert_eq!(lan.filter.as_deref(), Some("not port 22"));
        assert_eq!(lan.addresses, vec!["192.168.1.0/24".parse().unwrap(), "fd00::/64".parse().unwrap()]);
        let wan = &s.sources[1];
        assert_eq!((wan.name.as_str(), wan.role), ("ppp0", Role::Wan));
        assert_eq!(wan.kind, SourceKind::Live { capture_type: LiveType::Pcap });
        assert_eq!(wan.peer.as_deref(), Some("eth1"));
        assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    }

    #[test]
    fn reads_interfaces_d_in_name_order_and_skips_other_files() {
        let d = Dir::new("dotd");
        let conf = d.main("");
        d.write("interfaces.d/20-wan.conf", "[capture-interface-eth1]\nrole = wan\n");
        d.write("interfaces.d/10-lan.conf", "# LAN\n[capture-interface-eth0]\nrole = lan\n");
        d.write("interfaces.d/README.conf", "[capture-interface-eth9]\nrole = lan\n");
        d.write("interfaces.d/30-old.conf.bak", "[capture-interface-eth8]\nrole = lan\n");
        let s = load(&conf).unwrap();
        let names: Vec<_> = s.sources.iter().map(|s| (s.name.as_str(), s.role)).collect();
        assert_eq!(names, vec![("eth0", Role::Lan), ("eth1", Role::Wan)]);
        assert_eq!(s.files.len(), 3);
    }

    #[test]
    fn reads_nethsecurity_nfqueue_sections() {
        let d = Dir::new("nfq");
        let conf = d.main("");
        d.write(
            "interfaces.d/10-nfqueue.conf",
            "[capture-interface-lan]\ncapture_type = nfqueue\nrole = lan\nqueue_id = 50\nqueue_instances = 4\n\
             conntrack_counters = true\n\n\
             [capture-interface-wan]\ncapture_type = nfqueue\nrole = wan\nqueue_id = 54\nqueue_instances = 4\n\
             conntrack_counters = yes\n\n\
             [capture-interface-nfq7]\ncapture_type = nfqueue\nrole = lan\n",
        );
        let s = load(&conf).unwrap();
        let kinds: Vec<_> = s.sources.iter().map(|s| (s.name.as_str(), s.role, s.kind.clone())).collect();
        assert_eq!(
            kinds,
            vec![
                ("lan", Role::Lan, SourceKind::Nfqueue { queue_id: 50, instances: 4, conntrack_counters: true }),
                ("wan", Role::Wan, SourceKind::Nfqueue { queue_id: 54, instances: 4, conntrack_counters: true }),
                ("nfq7", Role::Lan, SourceKind::Nfqueue { queue_id: 7, instances: 1, conntrack_counters: false }),
            ]
        );
    }

    #[test]
    fn netifyd_naming_roles_and_duplicates() {
        let d = Dir::new("rules");
        let conf = d.main(
            "[capture-interface-br-lan]\nrole = lan\n\
             [capture-interface-eth2]\nrole = dmz\n\
             [capture-interface-eth3]\n\
             [capture-interface-x-lan]\nrole = wan\n\
             [capture-interface-eth4]\nrole = lan\nfanout_mode = hash\nrb_blocks = 64\ncolour = blue\n",
        );
        let s = load(&conf).unwrap();
        let names: Vec<_> = s.sources.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, vec!["lan", "eth4"]);
        let w = s.warnings.join("\n");
        assert!(w.contains("[capture-interface-br-lan]: the interface name is the text after the last '-'"), "{w}");
        assert!(w.contains("[capture-interface-eth2]: no valid role (lan or wan): 'dmz'"), "{w}");
        assert!(w.contains("[capture-interface-eth3]: no valid role (lan or wan): missing"), "{w}");
        assert!(w.contains("interface 'lan' is already configured by"), "{w}");
        assert!(w.contains("unknown key 'colour' ignored"), "{w}");
        assert!(w.contains("fanout_* and rb_* keys are not used"), "{w}");
    }

    #[test]
    fn errors_name_the_file_and_section() {
        let d = Dir::new("errors");
        let conf = d.main("[capture-interface-eth0]\nrole = lan\ncapture_type = netmap\n");
        let e = load(&conf).unwrap_err();
        assert_eq!(e.file, conf);
        assert!(e.message.contains("[capture-interface-eth0] capture_type: unknown capture type 'netmap'"), "{e}");

        let conf = d.main("[capture-defaults]\ncapture_type = dpdk\n[capture-interface-eth0]\nrole = lan\n");
        let e = load(&conf).unwrap_err().to_string();
        assert!(e.contains("[capture-defaults] capture_type: unknown capture type 'dpdk'"), "{e}");

        let conf = d.main("[capture-interface-lan]\nrole = lan\ncapture_type = nfqueue\n");
        let e = load(&conf).unwrap_err().to_string();
        assert!(e.contains("needs queue_id"), "{e}");

        let conf = d
            .main("[capture-interface-q]\nrole = lan\ncapture_type = nfqueue\nqueue_id = 65535\nqueue_instances = 2\n");
        assert!(load(&conf).unwrap_err().to_string().contains("go past queue 65535"));

        let conf = d.main("[capture-interface-eth0]\nrole = lan\naddress[0] = 10.0.0.0/33\n");
        let e = load(&conf).unwrap_err().to_string();
        assert!(e.contains("address[0] = '10.0.0.0/33'"), "{e}");

        let conf = d.main("[capture-interface-eth0\nrole = lan\n");
        assert!(load(&conf).unwrap_err().to_string().contains("line 4: section header without ']'"));

        let e = load(&d.0.join("missing.conf")).unwrap_err();
        assert!(e.to_string().contains("missing.conf: cannot read"), "{e}");
    }

    #[test]
    fn reads_capture_defaults_from_the_profile() {
        let d = Dir::new("profile");
        let profile = d.write("10-default.conf", "[capture-defaults]\ncapture_type = tpv3\n");
        let conf = d.main(&format!("profile = {}\n[capture-interface-eth0]\nrole = lan\n", profile.display()));
        let s = load(&conf).unwrap();
        assert_eq!(s.sources[0].kind, SourceKind::Live { capture_type: LiveType::Tpv3 });
        assert_eq!(s.files[1], profile);
    }
}
