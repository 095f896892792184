//! Cryptocurrency pool mining over Stratum (TCP; newline-delimited JSON-RPC): the miner's
//! first request is a JSON object whose `method` opens a session — `mining.subscribe` or
//! `mining.authorize` (Stratum v1), `eth_submitLogin` or `eth_login` (Ethereum pools), or
//! `login` with a `pass` parameter (Monero pools, as XMRig and xmr-stak send it).

use super::{protocol, Dissector, FirstBytes, FlowInfo, Probe, Segment, Transports};

const METHOD_KEY: &[u8] = b"\"method\"";
/// Methods that open a mining session.
const METHODS: &[&[u8]] = &[b"mining.subscribe", b"mining.authorize", b"eth_submitLogin", b"eth_login"];
/// Monero pools' login, taken only with a password parameter.
const LOGIN: &[u8] = b"login";
const PASS_KEY: &[u8] = b"\"pass\"";
/// Longest first request looked at.
const MAX_REQUEST: usize = 2048;

/// Mining needs no state.
#[derive(Debug, Default)]
pub struct MiningDissector;

fn find(data: &[u8], needle: &[u8]) -> Option<usize> {
    data.windows(needle.len()).position(|w| w == needle)
}

/// The `method` value of the JSON object `p`, when it is a plain string.
fn method(p: &[u8]) -> Option<&[u8]> {
    let after = p.get(find(p, METHOD_KEY)? + METHOD_KEY.len()..)?;
    let after = after.strip_prefix(b" ").unwrap_or(after).strip_prefix(b":")?;
    let after = after.strip_prefix(b" ").unwrap_or(after).strip_prefix(b"\"")?;
    after.get(..find(after, b"\"")?)
}

impl Dissector for MiningDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::MINING;
    const TRANSPORTS: Transports = Transports::TCP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(b"{");

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if !flow.is_tcp() || p.first() != Some(&b'{') || p.len() > MAX_REQUEST {
            return Probe::NotForUs;
        }
        match method(p) {
            Some(m) if METHODS.contains(&m) || (m == LOGIN && find(p, PASS_KEY).is_some()) => Probe::Certain,
            _ => Probe::NotForUs,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn a_session_request_names_the_flow() {
        // mining.pcapng in nDPI's corpus: 192.168.2.148:46838 → 94.23.199.191:3333, and the
        // start of 147.229.13.222:49307 → 185.71.66.39:9999's login.
        let f = tcp([46838, 3333]);
        let subscribe =
            b"{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[\"EWBF 0.3.4b\",null,\"eu1-zcash.flypool.org\",\"3333\"]}\n";
        assert_eq!(run_one::<MiningDissector>(&f, subscribe).0, Probe::Certain);
        let eth = b"{\"worker\": \"eth1.0\", \"jsonrpc\": \"2.0\", \"params\": [\"0x9c\", \"x\"], \"id\": 2, \"method\": \"eth_submitLogin\"}\n";
        assert_eq!(run_one::<MiningDissector>(&f, eth).0, Probe::Certain);
        let xmr = b"{\"method\":\"login\",\"params\":{\"login\":\"4BCe\",\"pass\":\"x\",\"agent\":\"xmr-stak-cpu/1.3.0-1.5.0\"},\"id\":1}";
        assert_eq!(run_one::<MiningDissector>(&f, xmr).0, Probe::Certain);
        truncations::<MiningDissector>(&f, subscribe);
        // The pool's answer, another JSON-RPC call, a login without a password: not mining.
        assert_eq!(
            run_one::<MiningDissector>(&f, b"{\"id\":1,\"result\":[\"04d567b212\"], \"error\": null}\n").0,
            Probe::NotForUs
        );
        assert_eq!(
            run_one::<MiningDissector>(&f, b"{\"jsonrpc\":\"2.0\",\"method\":\"eth_blockNumber\",\"id\":1}").0,
            Probe::NotForUs
        );
        assert_eq!(
            run_one::<MiningDissector>(&f, b"{\"method\":\"login\",\"params\":{\"user\":\"a\"}}").0,
            Probe::NotForUs
        );
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..80)) {
            no_panic::<MiningDissector>(&tcp([1, 3333]), &[p]);
        }
    }
}
