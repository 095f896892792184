//! FTP control connection (RFC 959 §4.2, §5.3): a `220` greeting that names FTP, or the
//! client's `USER`/`AUTH TLS` command (which follow a greeting the mail dissectors could not
//! place). A `USER` or `PASS` command outside TLS is the risk
//! `clear_text_credentials`.

use super::starttls::{is_user_or_pass, StartTls};
use super::text::{contains_ci, prefix_agrees, split_line, starts_with_ci};
use super::{protocol, Dissector, Parsed, Ports, Probe, Segment, Transports};
use crate::facts::FlowFacts;

/// FTP: `AUTH TLS` (RFC 4217) is followed into the TLS handshake.
#[derive(Debug, Default)]
pub struct FtpDissector {
    starttls: StartTls,
}

fn classify(p: &[u8]) -> Probe {
    if starts_with_ci(p, b"USER ") {
        // One argument (RFC 959 §4.1.1); IRC's USER has four, the last after ` :` (RFC 2812
        // §3.1.3).
        let line = split_line(p).map_or(p, |(l, _)| l);
        return Probe::certain_if(!line.windows(2).any(|w| w == b" :"));
    }
    if starts_with_ci(p, b"AUTH TLS") || starts_with_ci(p, b"AUTH SSL") {
        return Probe::Certain;
    }
    if p.starts_with(b"220 ") || p.starts_with(b"220-") {
        let line = split_line(p).map_or(p, |(l, _)| l);
        return if contains_ci(line, b"FTP") {
            Probe::Certain
        } else if contains_ci(line, b"SMTP") {
            Probe::NotForUs
        } else {
            Probe::Unsure
        };
    }
    if prefix_agrees(p, b"220 ") || prefix_agrees(p, b"USER ") {
        Probe::Unsure
    } else {
        Probe::NotForUs
    }
}

impl Dissector for FtpDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::FTP_CONTROL;
    const TRANSPORTS: Transports = Transports::TCP;

    fn probe(segment: &Segment<'_>) -> Probe {
        classify(segment.payload)
    }

    const PORTS: Ports = Ports::tcp(&[21]);

    fn parse(&mut self, segment: &Segment<'_>, facts: &mut FlowFacts) -> Parsed {
        self.starttls.check_login(segment, facts, is_user_or_pass);
        self.starttls.parse(segment, facts, protocol::FTPS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn greeting_and_user() {
        let f = tcp([40000, 21]);
        assert_eq!(run_one::<FtpDissector>(&f, b"220 (vsFTPd 3.0.3)\r\n").0, Probe::Certain);
        assert_eq!(run_one::<FtpDissector>(&f, b"220 hello\r\n").0, Probe::Unsure);
        assert_eq!(run_one::<FtpDissector>(&f, b"USER anonymous\r\n").0, Probe::Certain);
        assert_eq!(run_one::<FtpDissector>(&f, b"220 mx ESMTP\r\n").0, Probe::NotForUs);
        truncations::<FtpDissector>(&f, b"220 FTP\r\n");
    }

    #[test]
    fn irc_registration_is_not_ftp() {
        // irc.pcap's first line: IRC's USER, four arguments.
        let f = tcp([45921, 8000]);
        assert_eq!(run_one::<FtpDissector>(&f, b"USER xxxxx +iw xxxxx :Xxxxxx Xxxx\r\n").0, Probe::NotForUs);
        assert_eq!(run_one::<FtpDissector>(&f, b"USER anonymous\r\n").0, Probe::Certain);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..60)) {
            no_panic::<FtpDissector>(&tcp([1, 21]), &[p]);
        }
    }
}
