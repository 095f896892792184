//! STARTTLS: a cleartext protocol (SMTP RFC 3207, IMAP/POP3 RFC 2595, FTP RFC 4217) that
//! upgrades its own connection to TLS. Not a dissector: the mail and FTP dissectors keep
//! reading their flow for a few segments and hand everything from the first TLS handshake
//! record on (per direction) to the TLS dissector, so the flow gets SNI, version, cipher and
//! fingerprints like any TLS flow, and is named by the protocol's secure variant (SMTPS, IMAPS,
//! POPS, FTPS) as nDPI and Netify name it.

use super::tls::TlsDissector;
use super::{Dissector, Parsed, Segment};
use crate::facts::FlowFacts;

/// Cleartext segments read while waiting for TLS to start; then the flow is left as it is.
const CLEARTEXT_SEGMENTS: u16 = 16;

/// TLS handshake record header: content type 22, major version 3 (RFC 8446 §5.1).
fn starts_tls_record(p: &[u8]) -> bool {
    p.len() >= 3 && p[0] == 22 && p[1] == 3 && p[2] <= 4
}

/// Per-flow state.
#[derive(Debug, Default)]
pub struct StartTls {
    segments: u16,
    /// Directions whose TLS handshake has begun.
    started: [bool; 2],
    tls: Option<Box<TlsDissector>>,
}

impl StartTls {
    /// Read one segment; `secure` is the protocol the flow becomes once TLS starts. `Done`
    /// when the TLS handshake is read, or after [`CLEARTEXT_SEGMENTS`] without one.
    pub fn parse(
        &mut self,
        segment: &Segment<'_>,
        facts: &mut FlowFacts,
        secure: crate::facts::protocol::ProtocolId,
    ) -> Parsed {
        self.segments = self.segments.saturating_add(1);
        let side = segment.direction.index();
        if segment.tcp_seq.is_some() && !self.started[side] && starts_tls_record(segment.payload) {
            self.started[side] = true;
        }
        if !self.started[side] {
            let waiting = self.tls.is_some() || self.segments < CLEARTEXT_SEGMENTS;
            return if waiting { Parsed::Continue } else { Parsed::Done };
        }
        let tls = self.tls.get_or_insert_with(Box::default);
        let outcome = tls.parse(segment, facts);
        // The TLS dissector names the flow TLS; it is the cleartext protocol's secure variant.
        facts.protocol = secure;
        match outcome {
            Parsed::Skipped(_) => Parsed::Done,
            other => other,
        }
    }
}

impl StartTls {
    /// Flags `clear_text_credentials` when a cleartext line of `segment` (one not yet inside
    /// TLS) is a command that carries a password, as `is_login` recognises it.
    pub fn check_login(&self, segment: &Segment<'_>, facts: &mut FlowFacts, is_login: fn(&[u8]) -> bool) {
        if self.started[segment.direction.index()] || starts_tls_record(segment.payload) {
            return;
        }
        if segment.payload.split(|&b| b == b'\n').any(is_login) {
            super::risks::flag(facts, super::risks::CLEAR_TEXT_CREDENTIALS);
        }
    }
}

/// A `USER <name>` or `PASS <password>` command line (FTP, RFC 959 §4.1.1; POP3, RFC 1939 §7):
/// credentials in the clear (nDPI flags the user name already).
pub fn is_user_or_pass(line: &[u8]) -> bool {
    let argument = |cmd: &[u8]| line.len() > 5 && line[..5].eq_ignore_ascii_case(cmd) && line[5] > b' ';
    argument(b"USER ") || argument(b"PASS ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use crate::dissect::{protocol, Direction};

    #[test]
    fn tls_after_starttls_is_read() {
        let flow = tcp([40000, 25]);
        let mut st = StartTls::default();
        let mut f = FlowFacts::default();
        let steps: [(Direction, &[u8]); 3] = [
            (Direction::Reverse, b"220 mx.example.com ESMTP\r\n"),
            (Direction::Forward, b"STARTTLS\r\n"),
            (Direction::Reverse, b"220 2.0.0 Ready to start TLS\r\n"),
        ];
        let mut seq = [1000u32, 5000];
        for (dir, p) in steps {
            let s = segment(&flow, dir, seq[dir.index()], p);
            assert_eq!(st.parse(&s, &mut f, protocol::SMTPS), Parsed::Continue);
            seq[dir.index()] += p.len() as u32;
        }
        let hello = crate::dissect::tls::tests::modern_client_stream();
        let s = segment(&flow, Direction::Forward, seq[0], &hello);
        assert_eq!(st.parse(&s, &mut f, protocol::SMTPS), Parsed::Updated);
        assert_eq!(f.protocol, protocol::SMTPS);
        assert!(f.tls.ja3().is_some());
    }

    #[test]
    fn cleartext_only_ends() {
        let flow = tcp([40000, 25]);
        let mut st = StartTls::default();
        let mut f = FlowFacts::default();
        let mut last = Parsed::Continue;
        for i in 0..CLEARTEXT_SEGMENTS {
            let s = segment(&flow, Direction::Forward, u32::from(i) * 6, b"NOOP\r\n");
            last = st.parse(&s, &mut f, protocol::SMTPS);
        }
        assert_eq!(last, Parsed::Done);
        assert_eq!(f.protocol, protocol::UNKNOWN);
    }

    #[test]
    fn a_password_in_the_clear_is_a_risk() {
        let flow = tcp([40000, 21]);
        let st = StartTls::default();
        let mut f = FlowFacts::default();
        st.check_login(&segment(&flow, Direction::Reverse, 1, b"220 FTP ready\r\n"), &mut f, is_user_or_pass);
        assert_eq!(f.risk.risks, 0, "a greeting");
        st.check_login(&segment(&flow, Direction::Forward, 13, b"PASS s3cret\r\n"), &mut f, is_user_or_pass);
        assert_eq!(f.risk.risks, 1 << crate::dissect::risks::CLEAR_TEXT_CREDENTIALS);
        let mut f = FlowFacts::default();
        st.check_login(&segment(&flow, Direction::Forward, 1, b"USER alice\r\n"), &mut f, is_user_or_pass);
        assert_eq!(f.risk.risks, 1 << crate::dissect::risks::CLEAR_TEXT_CREDENTIALS, "the user name");
        let mut f = FlowFacts::default();
        st.check_login(&segment(&flow, Direction::Forward, 1, b"PASS \r\n"), &mut f, is_user_or_pass);
        assert_eq!(f.risk.risks, 0, "no password");
    }
}
