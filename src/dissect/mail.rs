//! Mail protocols told apart by their first lines: SMTP (RFC 5321 §4.3.1: a `220` greeting,
//! or the client's `EHLO`/`HELO`), IMAP (RFC 9051 §7.1: an untagged `* OK`, `* PREAUTH` or
//! `* BYE` greeting) and POP3 (RFC 1939 §4: a `+OK` greeting).
//!
//! A bare `220` greeting is also FTP's (RFC 959): without the word SMTP or FTP in it, both
//! stay unsure until the client speaks (`EHLO` vs `USER`).

use super::starttls::{is_user_or_pass, StartTls};
use super::text::{contains_ci, fact_string, prefix_agrees, split_line, starts_with_ci};
use super::{protocol, Dissector, FlowInfo, Parsed, Ports, Probe, Segment, Transports};
use crate::facts::FlowFacts;

/// How a first line compares with an SMTP greeting or command.
pub(crate) fn smtp(p: &[u8]) -> Probe {
    if starts_with_ci(p, b"EHLO ") || starts_with_ci(p, b"HELO ") {
        return Probe::Certain;
    }
    if p.starts_with(b"220 ") || p.starts_with(b"220-") {
        let line = split_line(p).map_or(p, |(l, _)| l);
        return if contains_ci(line, b"SMTP") || contains_ci(line, b"mail") && !contains_ci(line, b"FTP") {
            Probe::Certain
        } else if contains_ci(line, b"FTP") {
            Probe::NotForUs
        } else {
            Probe::Unsure
        };
    }
    if prefix_agrees(p, b"220 ") || prefix_agrees(p, b"EHLO ") || prefix_agrees(p, b"HELO ") {
        Probe::Unsure
    } else {
        Probe::NotForUs
    }
}

fn banner(p: &[u8], starts: &[&[u8]]) -> Probe {
    if starts.iter().any(|s| p.starts_with(s)) {
        Probe::Certain
    } else if starts.iter().any(|s| prefix_agrees(p, s)) {
        Probe::Unsure
    } else {
        Probe::NotForUs
    }
}

/// SMTP: the server's host name from its greeting, and STARTTLS.
#[derive(Debug, Default)]
pub struct SmtpDissector {
    starttls: StartTls,
}

/// The host name a `220` greeting opens with (RFC 5321 §4.2: `220 domain …`).
fn greeting_host(p: &[u8]) -> Option<&[u8]> {
    let line = split_line(p).map_or(p, |(l, _)| l);
    let rest = line.strip_prefix(b"220 ").or_else(|| line.strip_prefix(b"220-"))?;
    let host = rest.split(|&b| b == b' ').next()?;
    let plausible = !host.is_empty()
        && host.len() <= 253
        && host.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_');
    plausible.then_some(host)
}

impl Dissector for SmtpDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::SMTP;
    const TRANSPORTS: Transports = Transports::TCP;

    fn probe(segment: &Segment<'_>) -> Probe {
        smtp(segment.payload)
    }

    const PORTS: Ports = Ports::tcp(&[25, 587]);

    fn parse(&mut self, segment: &Segment<'_>, facts: &mut FlowFacts) -> Parsed {
        let mut named = false;
        if facts.detected_hostname().is_none() {
            if let Some(host) = greeting_host(segment.payload) {
                facts.set_detected_hostname(fact_string(host, 253).to_ascii_lowercase());
                named = true;
            }
        }
        let outcome = self.starttls.parse(segment, facts, protocol::SMTPS);
        // After STARTTLS the hello's server name says more than the greeting's host.
        if facts.tls.sni().is_some() && facts.detected_hostname() != facts.tls.sni() {
            facts.use_sni_as_hostname();
        }
        match outcome {
            Parsed::Continue if named => Parsed::Updated,
            other => other,
        }
    }
}

/// An IMAP `LOGIN` command, `<tag> LOGIN <user> <password>` (RFC 9051 §6.2.3): the password in
/// the clear (`AUTHENTICATE` exchanges are not read).
fn is_imap_login(line: &[u8]) -> bool {
    let Some(space) = line.iter().position(|&b| b == b' ') else { return false };
    let rest = &line[space + 1..];
    space > 0 && rest.len() > 6 && rest[..6].eq_ignore_ascii_case(b"LOGIN ")
}

/// IMAP: STARTTLS is all there is to follow; a `LOGIN` outside TLS is `clear_text_credentials`.
#[derive(Debug, Default)]
pub struct ImapDissector {
    starttls: StartTls,
}

impl Dissector for ImapDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::IMAP;
    const TRANSPORTS: Transports = Transports::TCP;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        if flow.is_tcp() {
            banner(segment.payload, &[b"* OK", b"* PREAUTH", b"* BYE"])
        } else {
            Probe::NotForUs
        }
    }

    const PORTS: Ports = Ports::tcp(&[143]);

    fn parse(&mut self, segment: &Segment<'_>, facts: &mut FlowFacts) -> Parsed {
        self.starttls.check_login(segment, facts, is_imap_login);
        self.starttls.parse(segment, facts, protocol::IMAPS)
    }
}

/// POP3: STARTTLS is all there is to follow; `USER`/`PASS` outside TLS is `clear_text_credentials`
/// (`APOP` sends a digest, not the password).
#[derive(Debug, Default)]
pub struct Pop3Dissector {
    starttls: StartTls,
}

impl Dissector for Pop3Dissector {
    const PROTOCOL: protocol::ProtocolId = protocol::POP3;
    const TRANSPORTS: Transports = Transports::TCP;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        if flow.is_tcp() {
            banner(segment.payload, &[b"+OK"])
        } else {
            Probe::NotForUs
        }
    }

    const PORTS: Ports = Ports::tcp(&[110]);

    fn parse(&mut self, segment: &Segment<'_>, facts: &mut FlowFacts) -> Parsed {
        self.starttls.check_login(segment, facts, is_user_or_pass);
        self.starttls.parse(segment, facts, protocol::POPS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn logins_in_the_clear() {
        assert!(is_imap_login(b"a001 LOGIN alice s3cret\r"));
        assert!(is_imap_login(b"A1 login \"alice\" \"pw\""));
        assert!(!is_imap_login(b"a001 CAPABILITY\r"));
        assert!(!is_imap_login(b" LOGIN alice pw"), "no tag");
        assert!(!is_imap_login(b"* OK LOGIN"));
        // Through the dissector: a POP3 session without STLS.
        let f = tcp([40000, 110]);
        let mut d = Pop3Dissector::default();
        let mut facts = FlowFacts::default();
        let s = crate::dissect::testing::segment(&f, crate::dissect::Direction::Forward, 1, b"USER bob\r\nPASS pw\r\n");
        d.parse(&s, &mut facts);
        assert_eq!(facts.risk.risks, 1 << super::super::risks::CLEAR_TEXT_CREDENTIALS);
    }

    #[test]
    fn greetings() {
        let f = tcp([40000, 25]);
        assert_eq!(run_one::<SmtpDissector>(&f, b"220 mx.example.com ESMTP Postfix\r\n").0, Probe::Certain);
        assert_eq!(run_one::<SmtpDissector>(&f, b"220 welcome\r\n").0, Probe::Unsure);
        assert_eq!(run_one::<SmtpDissector>(&f, b"220 ProFTPD Server\r\n").0, Probe::NotForUs);
        assert_eq!(run_one::<SmtpDissector>(&f, b"EHLO client\r\n").0, Probe::Certain);
        assert_eq!(run_one::<ImapDissector>(&f, b"* OK [CAPABILITY IMAP4rev1] ready\r\n").0, Probe::Certain);
        assert_eq!(run_one::<Pop3Dissector>(&f, b"+OK POP3 ready\r\n").0, Probe::Certain);
        assert_eq!(run_one::<Pop3Dissector>(&f, b"+O").0, Probe::Unsure);
        assert_eq!(run_one::<ImapDissector>(&udp([1, 143]), b"* OK").0, Probe::NotForUs);
        truncations::<SmtpDissector>(&f, b"220 mx ESMTP\r\n");
    }

    #[test]
    fn smtp_greeting_names_the_server() {
        // smtp.pcap in nDPI's corpus.
        let (_, parsed, f) = run_one::<SmtpDissector>(
            &tcp([25, 2127]),
            b"220 pigeon.eyrie.af.mil Sendmail 5.65c/Ultrix3.0-C ready at Fri, 05 Mar 99 12:20:08 -0500\r\n",
        );
        assert_eq!(parsed, Parsed::Updated);
        assert_eq!(f.detected_hostname(), Some("pigeon.eyrie.af.mil"));
        assert_eq!(greeting_host(b"220 [10.0.0.1] ready\r\n"), None);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..60)) {
            let f = tcp([1, 25]);
            no_panic::<SmtpDissector>(&f, std::slice::from_ref(&p));
            no_panic::<ImapDissector>(&f, std::slice::from_ref(&p));
            no_panic::<Pop3Dissector>(&f, &[p]);
        }
    }
}
