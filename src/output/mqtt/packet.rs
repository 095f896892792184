//! MQTT 3.1.1's wire format, as much of it as a publishing client needs: CONNECT, PUBLISH at
//! QoS 0/1, PINGREQ and DISCONNECT out; CONNACK, PUBACK and PINGRESP in (OASIS MQTT 3.1.1 §2–§3).

use std::io::ErrorKind;

use super::{MqttConfig, MAX_INCOMING};

pub(super) const CONNECT: u8 = 1;
pub(super) const CONNACK: u8 = 2;
pub(super) const PUBLISH: u8 = 3;
pub(super) const PUBACK: u8 = 4;
pub(super) const PINGREQ: u8 = 12;
pub(super) const PINGRESP: u8 = 13;
pub(super) const DISCONNECT: u8 = 14;

pub(super) fn put_length(out: &mut Vec<u8>, mut n: usize) {
    loop {
        let mut byte = (n % 128) as u8;
        n /= 128;
        if n > 0 {
            byte |= 0x80;
        }
        out.push(byte);
        if n == 0 {
            break;
        }
    }
}

pub(super) fn put_str(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(&(s.len() as u16).to_be_bytes());
    out.extend_from_slice(s);
}

/// A whole packet: header byte, remaining length, body.
pub(super) fn packet(header: u8, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 5);
    out.push(header);
    put_length(&mut out, body.len());
    out.extend_from_slice(body);
    out
}

pub(super) fn connect_packet(c: &MqttConfig) -> Vec<u8> {
    let mut body = Vec::new();
    put_str(&mut body, b"MQTT");
    body.push(4); // protocol level 3.1.1
    let mut flags = 0x02; // clean session
    if c.username.is_some() {
        flags |= 0x80;
    }
    if c.password.is_some() {
        flags |= 0x40;
    }
    body.push(flags);
    body.extend_from_slice(&c.keepalive.to_be_bytes());
    put_str(&mut body, c.client_id.as_bytes());
    if let Some(u) = &c.username {
        put_str(&mut body, u.as_bytes());
    }
    if let Some(p) = &c.password {
        put_str(&mut body, p.as_bytes());
    }
    packet(CONNECT << 4, &body)
}

/// A PUBLISH packet; `id` only with QoS 1.
pub(super) fn publish_packet(c: &MqttConfig, id: Option<u16>, dup: bool, payload: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(payload.len() + c.topic.len() + 4);
    put_str(&mut body, c.topic.as_bytes());
    if let Some(id) = id {
        body.extend_from_slice(&id.to_be_bytes());
    }
    body.extend_from_slice(payload);
    let header = PUBLISH << 4 | u8::from(dup) << 3 | c.qos << 1 | u8::from(c.retain);
    packet(header, &body)
}

/// What a CONNACK return code means (MQTT 3.1.1 §3.2.2.3).
pub(super) fn connack_reason(code: u8) -> &'static str {
    match code {
        1 => "unacceptable protocol version",
        2 => "client identifier rejected",
        3 => "server unavailable",
        4 => "bad user name or password",
        5 => "not authorized",
        _ => "unknown reason",
    }
}

/// A packet from the broker.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Incoming {
    ConnAck { code: u8 },
    PubAck { id: u16 },
    PingResp,
}

/// The first packet in `buf`, with its length, or `None` while it is incomplete. Unexpected
/// or oversized packets are protocol errors.
pub(super) fn parse_packet(buf: &[u8]) -> std::io::Result<Option<(Incoming, usize)>> {
    let Some(&header) = buf.first() else { return Ok(None) };
    let mut len = 0usize;
    let mut at = 1;
    loop {
        let Some(&b) = buf.get(at) else { return Ok(None) };
        len |= usize::from(b & 0x7f) << (7 * (at - 1));
        at += 1;
        if b & 0x80 == 0 {
            break;
        }
        if at == 5 {
            return Err(protocol("remaining length longer than four bytes"));
        }
    }
    if len > MAX_INCOMING {
        return Err(protocol(&format!("packet of {len} bytes from the broker")));
    }
    let Some(body) = buf.get(at..at + len) else { return Ok(None) };
    let packet = match (header >> 4, body) {
        (CONNACK, [_, code]) => Incoming::ConnAck { code: *code },
        (PUBACK, [a, b]) => Incoming::PubAck { id: u16::from_be_bytes([*a, *b]) },
        (PINGRESP, []) => Incoming::PingResp,
        (t, _) => return Err(protocol(&format!("unexpected packet type {t} ({len} bytes) from the broker"))),
    };
    Ok(Some((packet, at + len)))
}

pub(super) fn protocol(what: &str) -> std::io::Error {
    std::io::Error::new(ErrorKind::InvalidData, format!("MQTT protocol error: {what}"))
}
