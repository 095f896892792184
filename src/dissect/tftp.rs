//! The Trivial File Transfer Protocol (RFC 1350, options RFC 2347–2349), Netify's `TFTP` (96).
//!
//! Every packet starts with a 16-bit opcode: 1 read request (RRQ), 2 write request (WRQ),
//! 3 DATA (block number, then up to a block of data), 4 ACK (block number only: 4 bytes),
//! 5 ERROR (error code, message, NUL), 6 option acknowledgment (OACK, RFC 2347). A request is
//! the opcode, a file name and a mode, each a NUL-terminated string, the mode `netascii`,
//! `octet` or `mail` in any case, then RFC 2347's options as name/value string pairs; RFC 2347
//! caps a request at 512 bytes. These are the wire facts nDPI checks too (a printable file
//! name, one of those modes, the last byte NUL); flowsieve tightens them: the request must end
//! exactly after its last string, the file name and option strings be printable text.
//!
//! A request goes to UDP port 69, but the server answers from a port of its own (its transfer
//! ID), so the request's flow carries the request alone (and retransmissions of it): the
//! request names it. The transfer is a flow of its own whose first datagram is too plain to
//! name it alone, so it only shortlists the flow (it stays unnamed) and the other side's answer
//! names it, as nDPI counts a transfer's blocks before it names one. The openings and their
//! answers (RFC 1350 §6, RFC 2347): DATA block 1 answered by the 4-byte ACK of block 1 (a read);
//! the ACK of block 0 answered by DATA block 1 (a write); an OACK answered by the ACK of block 0,
//! DATA block 1 or an ERROR.

use super::answered::Answered;
use super::reader::be_u16_at;
use super::{protocol, Dissector, FirstBytes, Parsed, Ports, Probe, Segment, Transports};
use crate::facts::FlowFacts;

const RRQ: u16 = 1;
const WRQ: u16 = 2;
const DATA: u16 = 3;
const ACK: u16 = 4;
const ERROR: u16 = 5;
const OACK: u16 = 6;
/// RFC 2347: "the maximum size of a request packet is 512 octets".
const MAX_REQUEST: usize = 512;
/// The largest block RFC 2348 lets a transfer negotiate, plus DATA's 4-byte header.
const MAX_DATA: usize = 65464 + 4;
const MODES: [&[u8]; 3] = [b"netascii", b"octet", b"mail"];

/// The transfer's opening, once read (what the answer must be).
#[derive(Debug, Default)]
pub struct TftpDissector(Answered);

/// The answer is the flow's next datagram from the other side, within a retransmission.
const WITHIN: u8 = 3;

/// The NUL-terminated, non-empty, printable strings `p` holds, one after another and filling it
/// exactly; `None` when `p` is not such a list or is empty.
fn strings(p: &[u8]) -> Option<impl Iterator<Item = &[u8]>> {
    let ok = p.last() == Some(&0)
        && p.split(|&b| b == 0)
            .rev()
            .skip(1)
            .all(|s| !s.is_empty() && s.iter().all(|b| b.is_ascii_graphic() || *b == b' '));
    ok.then(|| p.split(|&b| b == 0).filter(|s| !s.is_empty()))
}

/// `p` is a read or write request.
fn request(p: &[u8]) -> bool {
    if p.len() > MAX_REQUEST || !matches!(be_u16_at(p, 0), Some(RRQ | WRQ)) {
        return false;
    }
    let Some(mut fields) = p.get(2..).and_then(strings) else { return false };
    let (Some(_name), Some(mode)) = (fields.next(), fields.next()) else { return false };
    // Options come in name/value pairs: an even number of strings follows the mode.
    MODES.iter().any(|m| m.eq_ignore_ascii_case(mode)) && fields.count() % 2 == 0
}

/// `p` is an OACK: at least one option name/value pair.
fn oack(p: &[u8]) -> bool {
    be_u16_at(p, 0) == Some(OACK)
        && p.len() <= MAX_REQUEST
        && p.get(2..).and_then(strings).is_some_and(|f| {
            let n = f.count();
            n > 0 && n % 2 == 0
        })
}

fn data(p: &[u8], block: u16) -> bool {
    p.len() >= 4 && p.len() <= MAX_DATA && be_u16_at(p, 0) == Some(DATA) && be_u16_at(p, 2) == Some(block)
}

fn ack(p: &[u8], block: u16) -> bool {
    p.len() == 4 && be_u16_at(p, 0) == Some(ACK) && be_u16_at(p, 2) == Some(block)
}

/// An ERROR: a code of RFC 1350's 0..=7 or RFC 2347's 8, a printable message and its NUL.
fn error(p: &[u8]) -> bool {
    be_u16_at(p, 0) == Some(ERROR)
        && be_u16_at(p, 2).is_some_and(|code| code <= 8)
        && p.get(4..)
            .is_some_and(|m| m.last() == Some(&0) && m.iter().rev().skip(1).all(|b| b.is_ascii_graphic() || *b == b' '))
}

/// What a transfer's opening datagram expects in answer (the key `Answered` keeps).
const AFTER_DATA: u32 = 1;
const AFTER_ACK: u32 = 2;
const AFTER_OACK: u32 = 3;

fn opening(p: &[u8]) -> Option<u32> {
    if data(p, 1) {
        Some(AFTER_DATA)
    } else if ack(p, 0) {
        Some(AFTER_ACK)
    } else if oack(p) {
        Some(AFTER_OACK)
    } else {
        None
    }
}

fn answers(key: u32, p: &[u8]) -> bool {
    match key {
        AFTER_DATA => ack(p, 1),
        AFTER_ACK => data(p, 1),
        AFTER_OACK => ack(p, 0) || data(p, 1) || error(p),
        _ => false,
    }
}

impl Dissector for TftpDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::TFTP;
    const NAMED_ON_CLAIM: bool = false;
    const TRANSPORTS: Transports = Transports::UDP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&[0]);
    const PORTS: Ports = Ports::udp(&[69]);

    fn probe(segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        Probe::certain_if(request(p) || opening(p).is_some())
    }

    fn parse(&mut self, segment: &Segment<'_>, facts: &mut FlowFacts) -> Parsed {
        if facts.protocol != protocol::TFTP && request(segment.payload) {
            facts.protocol = protocol::TFTP;
            return Parsed::Done;
        }
        self.0.parse(segment, facts, (protocol::TFTP, WITHIN), opening, answers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use crate::dissect::{Direction, Skip};
    use proptest::prelude::*;

    fn rrq(mode: &str, options: &[&str]) -> Vec<u8> {
        let mut p = vec![0, 1];
        for s in ["pxelinux.0", mode].iter().chain(options) {
            p.extend_from_slice(s.as_bytes());
            p.push(0);
        }
        p
    }

    #[test]
    fn a_request_names_its_flow() {
        let f = udp([49152, 69]);
        for p in [rrq("octet", &[]), rrq("NetASCII", &[]), rrq("octet", &["blksize", "1428", "tsize", "0"])] {
            let (probe, parsed, facts) = run_one::<TftpDissector>(&f, &p);
            assert_eq!((probe, parsed, facts.protocol), (Probe::Certain, Parsed::Done, protocol::TFTP));
            truncations::<TftpDissector>(&f, &p);
        }
        let mut wrq = rrq("octet", &[]);
        wrq[1] = 2;
        assert_eq!(run_one::<TftpDissector>(&f, &wrq).2.protocol, protocol::TFTP);
    }

    #[test]
    fn near_miss_requests_are_not_tftp() {
        let f = udp([49152, 69]);
        let good = rrq("octet", &[]);
        // An unknown mode, a missing last NUL, an option without its value, opcode 7, an empty
        // file name, bytes after the last string, control bytes in the file name, too long.
        let mut cases = vec![
            rrq("binary", &[]),
            good[..good.len() - 1].to_vec(),
            rrq("octet", &["blksize"]),
            [&[0, 7][..], &good[2..]].concat(),
            b"\x00\x01\x00octet\x00".to_vec(),
            [&good[..], b"x"].concat(),
            b"\x00\x01a\x07b\x00octet\x00".to_vec(),
            rrq("octet", &[&"x".repeat(500), "1"]),
        ];
        // A DNS query and an SNMP get are not claimed.
        cases.push(hex("000101000001000000000000076578616d706c6503636f6d0000010001"));
        cases.push(hex("302902010104067075626c6963a01c0204"));
        for p in cases {
            assert_eq!(run_one::<TftpDissector>(&f, &p).0, Probe::NotForUs, "{p:02x?}");
        }
        assert_eq!(run_one::<TftpDissector>(&tcp([49152, 69]), &good).0, Probe::NotForUs);
    }

    #[test]
    fn an_answered_transfer_names_its_flow() {
        let f = udp([49152, 50000]);
        let data1 = [&[0, 3, 0, 1][..], &[0x55; 512]].concat();
        let read = [(Direction::Reverse, data1.clone()), (Direction::Forward, vec![0, 4, 0, 1])];
        assert_eq!(run_one::<TftpDissector>(&f, &read[0].1).0, Probe::Certain);
        assert_eq!(parse_each::<TftpDissector>(&f, &read[..1]), (Parsed::Continue, protocol::UNKNOWN));
        assert_eq!(parse_each::<TftpDissector>(&f, &read), (Parsed::Done, protocol::TFTP));
        let write = [(Direction::Reverse, vec![0, 4, 0, 0]), (Direction::Forward, data1.clone())];
        assert_eq!(parse_each::<TftpDissector>(&f, &write), (Parsed::Done, protocol::TFTP));
        let oack = b"\x00\x06blksize\x001428\x00".to_vec();
        for answer in [vec![0, 4, 0, 0], data1.clone(), b"\x00\x05\x00\x08bad option\x00".to_vec()] {
            let flow = [(Direction::Reverse, oack.clone()), (Direction::Forward, answer)];
            assert_eq!(parse_each::<TftpDissector>(&f, &flow), (Parsed::Done, protocol::TFTP));
        }
        truncations::<TftpDissector>(&f, &oack);
    }

    #[test]
    fn a_transfer_answered_otherwise_is_not_tftp() {
        let f = udp([49152, 50000]);
        let data1 = [&[0, 3, 0, 1][..], b"hello"].concat();
        // The wrong block acknowledged, a longer ACK, the same side twice and nothing else.
        for answer in [vec![0, 4, 0, 2], vec![0, 4, 0, 1, 0], data1.clone()] {
            let flow = [(Direction::Reverse, data1.clone()), (Direction::Forward, answer)];
            assert_eq!(parse_each::<TftpDissector>(&f, &flow), (Parsed::Skipped(Skip::Unconfirmed), protocol::UNKNOWN));
        }
        let same: [_; 3] = std::array::from_fn(|_| (Direction::Reverse, data1.clone()));
        assert_eq!(parse_each::<TftpDissector>(&f, &same).0, Parsed::Skipped(Skip::Unconfirmed));
        // DATA of block 2 or an ACK of block 1 do not open a transfer.
        assert_eq!(run_one::<TftpDissector>(&f, &[0, 3, 0, 2, 1]).0, Probe::NotForUs);
        assert_eq!(run_one::<TftpDissector>(&f, &[0, 4, 0, 1]).0, Probe::NotForUs);
        assert_eq!(run_one::<TftpDissector>(&f, b"\x00\x06blksize\x00").0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40), q in proptest::collection::vec(any::<u8>(), 0..8)) {
            no_panic::<TftpDissector>(&udp([1, 69]), &[p.clone(), q.clone(), p, q]);
        }
    }
}
