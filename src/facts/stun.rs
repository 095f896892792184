//! What the STUN dissector learns about a flow, and the wire facts of STUN that other stages
//! need without dissecting (the magic cookie, what a relay's REALM names).

/// RFC 8489 §5: the magic cookie, bytes 4–7 of every STUN message since RFC 5389.
pub const MAGIC_COOKIE: [u8; 4] = [0x21, 0x12, 0xa4, 0x42];

/// An application a STUN flow's own messages name (docs/FLOW-ACTIONS.md §5, "Wire
/// signatures"); the classifier turns it into the application's tag. It is also what the call
/// hint cache (`classify::call_hints`) remembers for a call's sockets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum StunClient {
    #[default]
    Unknown,
    /// WhatsApp's relays: its private comprehension-required attributes, or its message types.
    WhatsApp,
    /// Microsoft's calls (Teams, Skype for Business, Skype): its ICE/TURN extension attributes.
    Microsoft,
    /// Google's call relays: a REALM that is `google.com` or a name under it.
    Google,
    /// Signal's call relays: a REALM under `signal.org` or `whispersystems.org`.
    Signal,
    /// Telegram's call relays: a REALM under `telegram.org`.
    Telegram,
}

/// What the STUN dissector learned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StunFacts {
    pub client: StunClient,
    /// The flow's host name came from a REALM attribute: the relay named its operator.
    pub realm: bool,
}

/// Whether a UDP payload may be a STUN message with the magic cookie (20 bytes at least, the
/// cookie at offset 4): the cheap test parallel replay's reader applies to every frame to find
/// the ones that can teach the call hint cache (a superset of them).
pub fn has_magic_cookie(payload: &[u8]) -> bool {
    payload.len() >= 20 && payload.get(4..8) == Some(&MAGIC_COOKIE[..])
}

/// The operators whose TURN relays name themselves in their REALM (RFC 8489 §14.9: the realm is
/// the relay's authentication domain, chosen by its operator), with the domains they use: the
/// realm is the domain or a name under it, in any case. nDPI names the flows of these realms
/// the same calls (`GoogleCall`, `SignalVoip`, `TelegramVoip`).
const REALMS: &[(&str, StunClient)] = &[
    ("google.com", StunClient::Google),
    ("signal.org", StunClient::Signal),
    ("whispersystems.org", StunClient::Signal),
    ("telegram.org", StunClient::Telegram),
];

/// The call application a TURN relay's REALM names: Google's relays serve its calls (Meet, Duo,
/// Chat), not its web sites, so a realm `turn.l.google.com` is Google's calls, not
/// `netify.google`. Names that only end in the same letters (`notgoogle.com`) or continue
/// (`google.com.example`) name nothing.
pub fn realm_client(realm: &str) -> StunClient {
    let r = realm.as_bytes();
    REALMS
        .iter()
        .find(|(domain, _)| {
            let d = domain.as_bytes();
            r.eq_ignore_ascii_case(d)
                || r.len().checked_sub(d.len() + 1).filter(|&at| at > 0).and_then(|at| r.get(at..)).is_some_and(
                    |tail| tail.first() == Some(&b'.') && tail.get(1..).is_some_and(|t| t.eq_ignore_ascii_case(d)),
                )
        })
        .map_or(StunClient::Unknown, |&(_, client)| client)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn realms_name_their_operators_calls() {
        assert_eq!(realm_client("turn.l.google.com"), StunClient::Google);
        assert_eq!(realm_client("Google.COM"), StunClient::Google);
        assert_eq!(realm_client("signal.org"), StunClient::Signal);
        assert_eq!(realm_client("turn3.whispersystems.org"), StunClient::Signal);
        assert_eq!(realm_client("telegram.org"), StunClient::Telegram);
        for other in ["notgoogle.com", "google.com.example", "xsignal.org", "example.org", "", ".google.com"] {
            assert_eq!(realm_client(other), StunClient::Unknown, "{other}");
        }
    }

    #[test]
    fn the_cookie_test_needs_a_whole_header() {
        let mut m = vec![0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42];
        m.extend_from_slice(&[0; 12]);
        assert!(has_magic_cookie(&m));
        assert!(!has_magic_cookie(&m[..19]));
        m[7] = 0x43;
        assert!(!has_magic_cookie(&m));
    }
}
