//! Internet Relay Chat (IRC, RFC 1459 and RFC 2812), TCP port 6667 (and many others).
//!
//! A client registers with `NICK <nickname>` and `USER <user> <mode> <unused> :<real name>`
//! (RFC 2812 §3.1.2–3), possibly after `PASS` or IRCv3's `CAP LS`; a server often greets first
//! with a prefixed `NOTICE` (`:irc.example.net NOTICE * :…`). FTP also has a `USER` command,
//! with one argument: the probe wants IRC's four, the last after ` :`.

use super::text::{split_line, starts_with_ci};
use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment};

/// Longest registration line we wait for (RFC 2812 §2.3: 512 bytes with its CRLF).
const MAX_LINE: usize = 512;

/// IRC needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct IrcDissector;

/// `line` is a registration command or a server notice.
fn registration(line: &[u8]) -> bool {
    if starts_with_ci(line, b"NICK ") || starts_with_ci(line, b"CAP LS") {
        return line.len() > 5 && !line[5..].contains(&b' ');
    }
    if starts_with_ci(line, b"USER ") {
        // <user> <mode> <unused> :<real name>
        let Some(colon) = line.windows(2).position(|w| w == b" :") else { return false };
        return line[5..colon].split(|&b| b == b' ').filter(|w| !w.is_empty()).count() == 3;
    }
    line.first() == Some(&b':') && line.windows(8).take(80).any(|w| w == b" NOTICE ")
}

impl Dissector for IrcDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::IRC;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if !flow.is_tcp() || !matches!(p.first(), Some(b'N' | b'n' | b'U' | b'u' | b'C' | b'c' | b':')) {
            return Probe::NotForUs;
        }
        match split_line(p) {
            Some((line, _)) => Probe::certain_if(registration(line)),
            None if p.len() < MAX_LINE => Probe::Unsure,
            None => Probe::NotForUs,
        }
    }

    const PORTS: Ports = Ports::tcp(&[6667]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn registration_names_the_flow() {
        // irc.pcap, 10.180.156.249:45921 → 38.229.70.20:8000: USER, then NICK; and the
        // server's first notice.
        let f = tcp([45921, 8000]);
        let user = hex("55534552207878787878202b6977207878787878203a58787878787820587878780d0a");
        assert_eq!(run_one::<IrcDissector>(&f, &user).0, Probe::Certain);
        assert_eq!(run_one::<IrcDissector>(&f, &hex("4e49434b206d6f6c6f6368746573740d0a")).0, Probe::Certain);
        let notice = b":card.freenode.net NOTICE * :*** Looking up your hostname...\r\n";
        assert_eq!(run_one::<IrcDissector>(&f, notice).0, Probe::Certain);
        assert_eq!(run_one::<IrcDissector>(&f, b"NICK mo").0, Probe::Unsure);
        truncations::<IrcDissector>(&f, &user);
    }

    #[test]
    fn ftp_commands_are_not_irc() {
        let f = tcp([45921, 21]);
        assert_eq!(run_one::<IrcDissector>(&f, b"USER anonymous\r\n").0, Probe::NotForUs);
        assert_eq!(run_one::<IrcDissector>(&f, b"NICK two words\r\n").0, Probe::NotForUs);
        assert_eq!(run_one::<IrcDissector>(&f, b":x PRIVMSG y\r\n").0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<IrcDissector>(&tcp([1, 6667]), &[p]);
        }
    }
}
