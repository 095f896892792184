//! Runs the dissectors over a flow's first payloads.
//!
//! Every registered dissector probes the flow's first payloads, in either direction. Those that
//! answer `NotForUs` drop out; those that answer `Unsure` keep probing on later payloads; the
//! first `Certain` one (in registry order) claims the flow and parses from then on. When several
//! are certain on the same payload, one whose well-known port the flow uses wins: ports are
//! tie-breakers, never evidence on their own. When every dissector has dropped out, or detection
//! gives up, the flow's protocol is guessed from the ports (Netify's `detection_guessed`).
//!
//! Adding a protocol is its file (with its `pub mod` line in `dissect/mod.rs`) and one line in
//! the `registry!` list below; the fuzz target and its seeds reach it through [`visit`].

use std::sync::atomic::{AtomicU64, Ordering};

use super::*;
use crate::facts::finality::Final;
use crate::facts::protocol::ProtocolId;
use crate::facts::FlowFacts;

/// What one segment changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    NothingNew,
    /// Facts changed; more may come.
    Updated,
    /// Detection finished with this segment (facts may have changed).
    Complete,
}

/// Declares the registered dissectors: one `Variant(module::Type),` line each, in probing
/// priority order. Generates the per-flow state enum, the dispatch over it, the name list
/// ([`NAMES`]) and [`visit`].
macro_rules! registry {
    ($($variant:ident($($path:ident)::+),)+) => {
        /// Per-flow dissection state; dropped (freeing buffers) when detection completes.
        #[derive(Debug)]
        pub enum DissectState {
            /// No dissector has claimed the flow yet. Bit `i` set (bit `i % 32` of word
            /// `i / 32`): dissector `i` of the registry said the flow is not its protocol.
            Probing { ruled_out: Mask },
            $($variant(Box<$($path)::+>),)+
            /// Detection is over for this flow.
            Finished,
        }

        /// One registered dissector, without state.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        enum Kind {
            $($variant,)+
        }

        /// Every registered dissector, in probing order.
        const KINDS: &[Kind] = &[$(Kind::$variant,)+];

        /// The registered dissectors' names, in probing order.
        pub const NAMES: &[&str] = &[$(stringify!($variant),)+];

        /// Run `visitor` on the dissector at `index` of the registry (see [`NAMES`]); `None`
        /// past the end. How code outside the registry (fuzzing, seed extraction) reaches each
        /// dissector's type without listing them again.
        pub fn visit<V: Visitor>(index: usize, visitor: V) -> Option<V::Output> {
            let kind = *KINDS.get(index)?;
            Some(match kind {
                $(Kind::$variant => visitor.visit::<$($path)::+>(stringify!($variant)),)+
            })
        }

        impl Kind {
            fn probe(self, flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
                match self {
                    $(Kind::$variant => <$($path)::+>::probe_flow(flow, segment),)+
                }
            }

            const fn transports(self) -> Transports {
                match self {
                    $(Kind::$variant => <$($path)::+>::TRANSPORTS,)+
                }
            }

            const fn first_bytes(self) -> FirstBytes {
                match self {
                    $(Kind::$variant => <$($path)::+>::FIRST_BYTES,)+
                }
            }

            const fn ports(self) -> Ports {
                match self {
                    $(Kind::$variant => <$($path)::+>::PORTS,)+
                }
            }

            const fn needs_port(self) -> bool {
                match self {
                    $(Kind::$variant => <$($path)::+>::NEEDS_PORT,)+
                }
            }

            fn protocol(self) -> ProtocolId {
                match self {
                    $(Kind::$variant => <$($path)::+>::PROTOCOL,)+
                }
            }

            fn named_on_claim(self) -> bool {
                match self {
                    $(Kind::$variant => <$($path)::+>::NAMED_ON_CLAIM,)+
                }
            }

            fn start(self) -> DissectState {
                match self {
                    $(Kind::$variant => DissectState::$variant(Box::default()),)+
                }
            }
        }

        impl DissectState {
            /// Parse with the dissector that claimed the flow; `None` when none has.
            fn parse(&mut self, segment: &Segment<'_>, facts: &mut FlowFacts) -> Option<Parsed> {
                match self {
                    $(DissectState::$variant(d) => Some(d.parse(segment, facts)),)+
                    DissectState::Probing { .. } | DissectState::Finished => None,
                }
            }
        }
    };
}

registry! {
    Tls(tls::TlsDissector),
    Quic(quic::QuicDissector),
    Gquic(gquic::GquicDissector),
    Rtsp(rtsp::RtspDissector),
    Http(http::HttpDissector),
    Ssh(ssh::SshDissector),
    Dns(dns::DnsDissector),
    Dhcp(dhcp::DhcpDissector),
    Ntp(ntp::NtpDissector),
    Snmp(snmp::SnmpDissector),
    Netbios(netbios::NetbiosDissector),
    Ssdp(ssdp::SsdpDissector),
    Sip(sip::SipDissector),
    Stun(stun::StunDissector),
    BitTorrent(bittorrent::BitTorrentDissector),
    Gnutella(gnutella::GnutellaDissector),
    Smtp(mail::SmtpDissector),
    Imap(mail::ImapDissector),
    Pop3(mail::Pop3Dissector),
    Ftp(ftp::FtpDissector),
    Mysql(mysql::MysqlDissector),
    Postgres(postgres::PostgresDissector),
    Rdp(rdp::RdpDissector),
    Wireguard(wireguard::WireguardDissector),
    Openvpn(openvpn::OpenvpnDissector),
    Ike(ike::IkeDissector),
    Syslog(syslog::SyslogDissector),
    Slp(slp::SlpDissector),
    SdRtn(sdrtn::SdRtnDissector),
    Kerberos(kerberos::KerberosDissector),
    Ldap(ldap::LdapDissector),
    Radius(radius::RadiusDissector),
    Tds(tds::TdsDissector),
    Smb(smb::SmbDissector),
    Munin(munin::MuninDissector),
    Xiaomi(xiaomi::XiaomiDissector),
    Fastcgi(fastcgi::FastcgiDissector),
    Whois(whois::WhoisDissector),
    Whatsapp(whatsapp::WhatsappDissector),
    Ethereum(ethereum::EthereumDissector),
    Discord(discord::DiscordDissector),
    Zabbix(zabbix::ZabbixDissector),
    Tuya(tuya::TuyaDissector),
    Bjnp(bjnp::BjnpDissector),
    Spotify(spotify::SpotifyDissector),
    Dnp3(dnp3::Dnp3Dissector),
    Bacnet(bacnet::BacnetDissector),
    SourceEngine(source_engine::SourceEngineDissector),
    Dropbox(dropbox::DropboxDissector),
    Fix(fix::FixDissector),
    Xmpp(xmpp::XmppDissector),
    Oicq(oicq::OicqDissector),
    TocaBoca(tocaboca::TocaBocaDissector),
    Elasticsearch(elasticsearch::ElasticsearchDissector),
    NatPmp(natpmp::NatPmpDissector),
    Kafka(kafka::KafkaDissector),
    Bitcoin(bitcoin::BitcoinDissector),
    Coap(coap::CoapDissector),
    Ubntac2(ubntac2::Ubntac2Dissector),
    Ajp(ajp::AjpDissector),
    Mongodb(mongodb::MongodbDissector),
    Socks(socks::SocksDissector),
    Mqtt(mqtt::MqttDissector),
    Vnc(vnc::VncDissector),
    Dhcpv6(dhcpv6::Dhcpv6Dissector),
    Hsrp(hsrp::HsrpDissector),
    Rmcp(rmcp::RmcpDissector),
    Dcerpc(dcerpc::DcerpcDissector),
    Kcp(kcp::KcpDissector),
    RipeAtlas(ripe_atlas::RipeAtlasDissector),
    Can(can::CanDissector),
    Rtp(rtp::RtpDissector),
    Bgp(bgp::BgpDissector),
    Rsync(rsync::RsyncDissector),
    Git(git::GitDissector),
    Syncthing(syncthing::SyncthingDissector),
    Teredo(teredo::TeredoDissector),
    Jrmi(jrmi::JrmiDissector),
    Hislip(hislip::HislipDissector),
    Telnet(telnet::TelnetDissector),
    Monero(monero::MoneroDissector),
    Mining(mining::MiningDissector),
    Ceph(ceph::CephDissector),
    Cassandra(cassandra::CassandraDissector),
    Ldp(ldp::LdpDissector),
    Rtmp(rtmp::RtmpDissector),
    Skinny(skinny::SkinnyDissector),
    Someip(someip::SomeipDissector),
    Bfd(bfd::BfdDissector),
    EthernetIp(ethernet_ip::EthernetIpDissector),
    Wsd(wsd::WsdDissector),
    H323(h323::H323Dissector),
    Tinc(tinc::TincDissector),
    Tivo(tivo::TivoDissector),
    Afp(afp::AfpDissector),
    HartIp(hart_ip::HartIpDissector),
    Nntp(nntp::NntpDissector),
    Oracle(oracle::OracleDissector),
    Ptp(ptp::PtpDissector),
    Uftp(uftp::UftpDissector),
    Trdp(trdp::TrdpDissector),
    Dnscrypt(dnscrypt::DnscryptDissector),
    Raknet(raknet::RaknetDissector),
    Capwap(capwap::CapwapDissector),
    TelegramVoip(telegram_voip::TelegramVoipDissector),
    Modbus(modbus::ModbusDissector),
    KnxnetIp(knxnet_ip::KnxnetIpDissector),
    Giop(giop::GiopDissector),
    Rtps(rtps::RtpsDissector),
    Opcua(opcua::OpcuaDissector),
    Stomp(stomp::StompDissector),
    Gearman(gearman::GearmanDissector),
    Hl7(hl7::Hl7Dissector),
    Memcached(memcached::MemcachedDissector),
    Redis(redis::RedisDissector),
    Nats(nats::NatsDissector),
    Openflow(openflow::OpenflowDissector),
    Teamspeak(teamspeak::TeamspeakDissector),
    Smpp(smpp::SmppDissector),
    Drda(drda::DrdaDissector),
    Iax(iax::IaxDissector),
    Kismet(kismet::KismetDissector),
    Checkmk(checkmk::CheckmkDissector),
    Z3950(z3950::Z3950Dissector),
    Irc(irc::IrcDissector),
    S7comm(s7comm::S7commDissector),
    Nfs(nfs::NfsDissector),
    Starcraft(starcraft::StarcraftDissector),
    GtpPrime(gtp_prime::GtpPrimeDissector),
    Mumble(mumble::MumbleDissector),
    Nintendo(nintendo::NintendoDissector),
    Threema(threema::ThreemaDissector),
    Genshin(genshin::GenshinDissector),
    EpicGames(epicgames::EpicGamesDissector),
    Activision(activision::ActivisionDissector),
    TencentGames(tencent_games::TencentGamesDissector),
    Gaijin(gaijin::GaijinDissector),
    NeteaseGames(netease_games::NeteaseGamesDissector),
    Hots(hots::HotsDissector),
    CodMobile(cod_mobile::CodMobileDissector),
    Teso(teso::TesoDissector),
    Steam(steam::SteamDissector),
    SteamSdr(steam_sdr::SteamSdrDissector),
    PathOfExile(path_of_exile::PathOfExileDissector),
    HalfLife2(halflife2::HalfLife2Dissector),
    Sonos(sonos::SonosDissector),
    Zoom(zoom::ZoomDissector),
    Citrix(citrix::CitrixDissector),
    Nomachine(nomachine::NomachineDissector),
    Wow(wow::WowDissector),
    Pptp(pptp::PptpDissector),
    Mpegts(mpegts::MpegtsDissector),
    Megaco(megaco::MegacoDissector),
    Haproxy(haproxy::HaproxyDissector),
    Http2(http2::Http2Dissector),
    Netflow(netflow::NetflowDissector),
    Sflow(sflow::SflowDissector),
    Dlms(dlms::DlmsDissector),
    C1222(c1222::C1222Dissector),
    Atg(atg::AtgDissector),
    Rsh(rsh::RshDissector),
    BeckhoffAds(beckhoff_ads::BeckhoffAdsDissector),
    Openwire(openwire::OpenwireDissector),
    Pfcp(pfcp::PfcpDissector),
    Flute(flute::FluteDissector),
    Avast(avast::AvastDissector),
    Teamviewer(teamviewer::TeamviewerDissector),
    Websocket(websocket::WebsocketDissector),
    HpVirtGrp(hp_virtgrp::HpVirtGrpDissector),
    XmppLegacy(xmpp::XmppLegacyDissector),
    Crynet(crynet::CrynetDissector),
    RiotGames(riotgames::RiotGamesDissector),
    Zug(zug::ZugDissector),
    Softether(softether::SoftetherDissector),
    Raft(raft::RaftDissector),
    Bfcp(bfcp::BfcpDissector),
    EtherSio(ethersio::EtherSioDissector),
    EtherSbus(ethersbus::EtherSbusDissector),
    Xbox(xbox::XboxDissector),
    Warcraft3(warcraft3::Warcraft3Dissector),
    UltraSurf(ultrasurf::UltraSurfDissector),
    LineCall(line_call::LineCallDissector),
    Eaq(eaq::EaqDissector),
    NestLog(nest_log::NestLogDissector),
    Armagetron(armagetron::ArmagetronDissector),
    Crossfire(crossfire::CrossfireDissector),
    Dofus(dofus::DofusDissector),
    Guildwars(guildwars::GuildwarsDissector),
    MapleStory(maplestory::MapleStoryDissector),
    WoKungFu(wokungfu::WoKungFuDissector),
    Yojimbo(yojimbo::YojimboDissector),
    LolWildRift(lol_wild_rift::LolWildRiftDissector),
    CnpIp(cnp_ip::CnpIpDissector),
    Collectd(collectd::CollectdDissector),
    Zmq(zmq::ZmqDissector),
    Thrift(thrift::ThriftDissector),
    JsonRpc(json_rpc::JsonRpcDissector),
    Icecast(icecast::IcecastDissector),
    Rx(rx::RxDissector),
    Viber(viber::ViberDissector),
    Vhua(vhua::VhuaDissector),
    Nano(nano::NanoDissector),
    AliCloud(alicloud::AliCloudDissector),
    Ookla(ookla::OoklaDissector),
    Amqp(amqp::AmqpDissector),
    LotusNotes(lotus_notes::LotusNotesDissector),
    Egd(egd::EgdDissector),
    Lustre(lustre::LustreDissector),
    Tftp(tftp::TftpDissector),
    Diameter(diameter::DiameterDissector),
    Mgcp(mgcp::MgcpDissector),
    Xdmcp(xdmcp::XdmcpDissector),
    Lisp(lisp::LispDissector),
    Iec104(iec104::Iec104Dissector),
    C37118(c37118::C37118Dissector),
    Dlep(dlep::DlepDissector),
    Fins(fins::FinsDissector),
    Edonkey(edonkey::EdonkeyDissector),
    DingTalk(dingtalk::DingTalkDissector),
    Imo(imo::ImoDissector),
    AmazonVideo(amazon_video::AmazonVideoDissector),
    Iqiyi(iqiyi::IqiyiDissector),
    // Last: its rule is the loosest, any protocol a probe recognises comes first.
    Protobuf(protobuf::ProtobufDissector),
}

/// A word of the `ruled_out` bit set. 32 bits, not 64: the set grows four bytes at a time, and
/// a set of up to five words sits beside the enum's tag in 24 bytes, so the flow slot keeps its
/// 256-byte budget up to 160 dissectors per transport (three 64-bit words would cost it 8 bytes).
type Word = u32;

/// Bits in a [`Word`].
const WORD_BITS: usize = Word::BITS as usize;

/// Transports with a lane of their own: TCP, UDP, any other IP protocol ([`transport_index`]).
const TRANSPORT_COUNT: usize = 3;

/// Index of a flow's transport in the per-transport tables.
const fn transport_index(ip_protocol: u8) -> usize {
    match ip_protocol {
        FlowInfo::TCP => 0,
        FlowInfo::UDP => 1,
        _ => 2,
    }
}

/// Whether dissector `kind` can match a flow of transport `t` ([`transport_index`],
/// [`Dissector::TRANSPORTS`]).
const fn in_lane(kind: Kind, t: usize) -> bool {
    let allowed = kind.transports();
    match t {
        0 => allowed.tcp,
        1 => allowed.udp,
        _ => allowed.other,
    }
}

/// A transport's *lane*: the registry indices of the dissectors that can match its flows, in
/// probing order. A flow only ever probes its own transport's lane, so its `ruled_out` set has
/// one bit per lane member, not per registered dissector: a TCP-only and a UDP-only dissector
/// share a bit position, and the set (and the flow slot) grows with the longest lane, not with
/// the registry.
struct Lanes {
    members: [[u16; KINDS.len()]; TRANSPORT_COUNT],
    len: [usize; TRANSPORT_COUNT],
}

impl Lanes {
    /// Each transport's dissectors, in registry order.
    const fn new() -> Lanes {
        let mut lanes = Lanes { members: [[0; KINDS.len()]; TRANSPORT_COUNT], len: [0; TRANSPORT_COUNT] };
        let mut t = 0;
        while t < TRANSPORT_COUNT {
            let mut i = 0;
            while i < KINDS.len() {
                if in_lane(KINDS[i], t) {
                    lanes.members[t][lanes.len[t]] = i as u16;
                    lanes.len[t] += 1;
                }
                i += 1;
            }
            t += 1;
        }
        lanes
    }
}

/// The dissectors each transport's flows are probed with.
const LANES: Lanes = Lanes::new();

/// A set of registered dissectors, one bit per registry index (bit `i % 64` of word `i / 64`).
type KindSet = [u64; KINDS.len().div_ceil(64)];

/// The empty [`KindSet`].
const NO_KINDS: KindSet = [0; KINDS.len().div_ceil(64)];

/// Whether registry index `i` is in `set`.
fn has(set: &KindSet, i: usize) -> bool {
    set.get(i / 64).is_some_and(|w| w >> (i % 64) & 1 != 0)
}

/// The first (lowest) registry index in `set`: the first in probing order.
fn first(set: &KindSet) -> Option<usize> {
    set.iter().enumerate().find(|(_, &w)| w != 0).map(|(word, w)| word * 64 + w.trailing_zeros() as usize)
}

/// Transports with well-known ports ([`Ports`]: TCP and UDP, [`transport_index`] 0 and 1).
const PORTED_TRANSPORTS: usize = 2;

/// Upper bound of the distinct ports the dissectors declare on one transport.
const PORT_CAPACITY: usize = {
    let (mut most, mut t) = (0, 0);
    while t < PORTED_TRANSPORTS {
        let (mut sum, mut i) = (0, 0);
        while i < KINDS.len() {
            sum += declared_ports(KINDS[i], t).len();
            i += 1;
        }
        if sum > most {
            most = sum;
        }
        t += 1;
    }
    most
};

/// Dissector `kind`'s well-known ports on transport `t` ([`Dissector::PORTS`]).
const fn declared_ports(kind: Kind, t: usize) -> &'static [u16] {
    match t {
        0 => kind.ports().tcp,
        1 => kind.ports().udp,
        _ => &[],
    }
}

/// One transport's port hints, built at compile time from every dissector's
/// [`Dissector::PORTS`]: the ports some dissector declares, sorted, each with the set of
/// dissectors that declare it. A flow's hints ([`port_hints`]) are then two binary searches
/// instead of a scan of every dissector's port list, and answer what each dissector's
/// [`Dissector::port_hint`] would (no dissector overrides it: the ports are pure data).
struct PortHints {
    ports: [u16; PORT_CAPACITY],
    kinds: [KindSet; PORT_CAPACITY],
    len: usize,
}

impl PortHints {
    const fn new(t: usize) -> PortHints {
        let mut table = PortHints { ports: [0; PORT_CAPACITY], kinds: [NO_KINDS; PORT_CAPACITY], len: 0 };
        let mut i = 0;
        while i < KINDS.len() {
            let ports = declared_ports(KINDS[i], t);
            let mut j = 0;
            while j < ports.len() {
                let port = ports[j];
                let mut at = 0;
                while at < table.len && table.ports[at] < port {
                    at += 1;
                }
                if at == table.len || table.ports[at] != port {
                    let mut k = table.len;
                    while k > at {
                        table.ports[k] = table.ports[k - 1];
                        table.kinds[k] = table.kinds[k - 1];
                        k -= 1;
                    }
                    table.ports[at] = port;
                    table.kinds[at] = NO_KINDS;
                    table.len += 1;
                }
                table.kinds[at][i / 64] |= 1 << (i % 64);
                j += 1;
            }
            i += 1;
        }
        table
    }

    /// The dissectors that declare `port`.
    fn on(&self, port: u16) -> KindSet {
        let ports = self.ports.get(..self.len).unwrap_or(&[]);
        match ports.binary_search(&port) {
            Ok(at) => self.kinds.get(at).copied().unwrap_or(NO_KINDS),
            Err(_) => NO_KINDS,
        }
    }
}

/// Per transport with ports (TCP, UDP), its [`PortHints`].
static PORT_HINTS: [PortHints; PORTED_TRANSPORTS] = [PortHints::new(0), PortHints::new(1)];

/// The dissectors one of whose well-known ports on the flow's transport the flow uses: those
/// whose [`Dissector::port_hint`] is true. None for an IP protocol other than TCP and UDP.
fn port_hints(flow: &FlowInfo) -> KindSet {
    let Some(table) = PORT_HINTS.get(transport_index(flow.ip_protocol)) else { return NO_KINDS };
    let (a, b) = (table.on(flow.ports[0]), table.on(flow.ports[1]));
    std::array::from_fn(|w| a[w] | b[w])
}

/// The longest lane: the bits a `ruled_out` set needs.
const LONGEST_LANE: usize = {
    let (mut longest, mut t) = (0, 0);
    while t < TRANSPORT_COUNT {
        if LANES.len[t] > longest {
            longest = LANES.len[t];
        }
        t += 1;
    }
    longest
};

/// Words of the `ruled_out` bit set: one bit per member of the longest lane, grown a word at a
/// time so the per-flow state stays as small as the registry allows.
const RULED_OUT_WORDS: usize = if LONGEST_LANE == 0 { 1 } else { LONGEST_LANE.div_ceil(WORD_BITS) };

/// Lane position `k`'s word and bit in `ruled_out`.
const fn lane_bit(k: usize) -> (usize, Word) {
    (k / WORD_BITS, 1 << (k % WORD_BITS))
}

/// A set of a lane's dissectors, one bit per lane position (as `ruled_out`).
type Mask = [Word; RULED_OUT_WORDS];

/// Per transport, the positions past the end of its lane: set in every new flow's `ruled_out`,
/// so "every bit set" means every dissector of the lane said no.
const PAST_LANE: [Mask; TRANSPORT_COUNT] = {
    let mut out = [[0; RULED_OUT_WORDS]; TRANSPORT_COUNT];
    let mut t = 0;
    while t < TRANSPORT_COUNT {
        let mut k = LANES.len[t];
        while k < RULED_OUT_WORDS * WORD_BITS {
            let (word, bit) = lane_bit(k);
            out[t][word] |= bit;
            k += 1;
        }
        t += 1;
    }
    out
};

/// Per transport, the lane's dissectors that cannot match a payload starting with this byte
/// (see [`Dissector::FIRST_BYTES`]): 3 × 256 masks of five words at most.
const FIRST_BYTE_OUT: [[Mask; 256]; TRANSPORT_COUNT] = {
    let mut out = [[[0; RULED_OUT_WORDS]; 256]; TRANSPORT_COUNT];
    let mut t = 0;
    while t < TRANSPORT_COUNT {
        let mut k = 0;
        while k < LANES.len[t] {
            let (word, bit) = lane_bit(k);
            let bytes = KINDS[LANES.members[t][k] as usize].first_bytes();
            let mut b = 0;
            while b < 256 {
                if !bytes.contains(b as u8) {
                    out[t][b][word] |= bit;
                }
                b += 1;
            }
            k += 1;
        }
        t += 1;
    }
    out
};

/// Per transport, the lane's dissectors that only match a flow on one of their ports (see
/// [`Dissector::NEEDS_PORT`]).
const NEEDS_PORT: [Mask; TRANSPORT_COUNT] = {
    let mut out = [[0; RULED_OUT_WORDS]; TRANSPORT_COUNT];
    let mut t = 0;
    while t < TRANSPORT_COUNT {
        let mut k = 0;
        while k < LANES.len[t] {
            if KINDS[LANES.members[t][k] as usize].needs_port() {
                let (word, bit) = lane_bit(k);
                out[t][word] |= bit;
            }
            k += 1;
        }
        t += 1;
    }
    out
};

/// The lane positions in `mask`, in order.
fn positions(mask: Mask) -> Positions {
    Positions { mask, word: 0 }
}

/// The iterator of [`positions`]: clears the lowest set bit of the current word at each step (a
/// hand-written loop: the `flat_map` it replaces cost ~30 instructions a position, and every
/// probed payload walks its live dissectors' positions).
struct Positions {
    mask: Mask,
    word: usize,
}

impl Iterator for Positions {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        loop {
            let bits = self.mask.get_mut(self.word)?;
            if *bits != 0 {
                let bit = bits.trailing_zeros() as usize;
                *bits &= *bits - 1;
                return Some(self.word * WORD_BITS + bit);
            }
            self.word += 1;
        }
    }
}

/// The registry index of the dissector at position `k` of transport `t`'s lane.
fn lane_index(t: usize, k: usize) -> Option<usize> {
    let i = *LANES.members.get(t)?.get(k)?;
    (k < LANES.len[t]).then_some(usize::from(i))
}

/// Something to do with one dissector type, given to [`visit`].
pub trait Visitor {
    type Output;
    fn visit<D: Dissector>(self, name: &'static str) -> Self::Output;
}

impl Default for DissectState {
    fn default() -> Self {
        DissectState::Probing { ruled_out: [0; RULED_OUT_WORDS] }
    }
}

impl DissectState {
    /// State for a new flow. Protocols recognised by the IP protocol number alone (ICMP, IGMP,
    /// ESP, …) are named here and need no dissection.
    pub fn start(facts: &mut FlowFacts) -> DissectState {
        match protocol::by_ip_protocol(facts.ip_protocol) {
            Some(id) => {
                facts.protocol = id;
                facts.detection_complete = true;
                facts.final_facts = Final::ALL;
                DissectState::Finished
            }
            None => {
                // Rule out, once per flow, the dissectors that cannot match its transport or
                // that need a port it does not use: they are never probed.
                let flow = flow_info(facts);
                let t = transport_index(facts.ip_protocol);
                let mut ruled_out = PAST_LANE[t];
                let hints = port_hints(&flow);
                for k in positions(NEEDS_PORT[t]) {
                    if lane_index(t, k).is_some_and(|i| !has(&hints, i)) {
                        let (word, bit) = lane_bit(k);
                        ruled_out[word] |= bit;
                    }
                }
                DissectState::Probing { ruled_out }
            }
        }
    }

    pub fn is_finished(&self) -> bool {
        matches!(self, DissectState::Finished)
    }

    /// Feed one non-empty payload.
    pub fn on_segment(&mut self, segment: &Segment<'_>, facts: &mut FlowFacts) -> Step {
        let DissectState::Probing { ruled_out } = self else {
            return match self.parse(segment, facts) {
                Some(parsed) => self.finish(parsed, facts),
                None => Step::NothingNew,
            };
        };
        let flow = flow_info(facts);
        let t = transport_index(facts.ip_protocol);
        // A dissector that cannot start with this byte is ruled out as its probe would.
        if let Some(&first) = segment.payload.first() {
            for (w, out) in ruled_out.iter_mut().zip(&FIRST_BYTE_OUT[t][usize::from(first)]) {
                *w |= out;
            }
        }
        let live: Mask = std::array::from_fn(|w| !ruled_out[w]);
        // The first certain dissector, unless a later certain one has the flow's port.
        let mut chosen: Option<(Kind, bool)> = None;
        // The flow's port hints, looked up at the first certain probe (set whenever `chosen` is).
        let mut hints: Option<KindSet> = None;
        for k in positions(live) {
            let Some(i) = lane_index(t, k) else { break };
            let Some(&kind) = KINDS.get(i) else { break };
            // Once one is certain, only a later one on the flow's port can take the flow from
            // it (and `ruled_out` no longer matters): the others need no probe.
            if chosen.is_some() && hints.is_some_and(|h| !has(&h, i)) {
                continue;
            }
            let (word, bit) = lane_bit(k);
            match kind.probe(&flow, segment) {
                Probe::Certain => {
                    let hint = has(hints.get_or_insert_with(|| port_hints(&flow)), i);
                    match chosen {
                        None => chosen = Some((kind, hint)),
                        Some((_, false)) if hint => chosen = Some((kind, hint)),
                        Some(_) => {}
                    }
                    if hint {
                        break;
                    }
                }
                Probe::Unsure => {}
                Probe::NotForUs => ruled_out[word] |= bit,
            }
        }
        if let Some((kind, _)) = chosen {
            if kind.named_on_claim() {
                facts.protocol = kind.protocol();
            }
            *self = kind.start();
            let step = match self.parse(segment, facts) {
                Some(parsed) => self.finish(parsed, facts),
                None => Step::NothingNew,
            };
            // Claiming the flow is itself news even if the parse needs more bytes.
            return if step == Step::NothingNew && kind.named_on_claim() { Step::Updated } else { step };
        }
        if ruled_out.iter().all(|&w| w == Word::MAX) {
            self.give_up(facts);
            return Step::Complete;
        }
        Step::NothingNew
    }

    /// Detection stops here (packet limit, all dissectors declined, flow expiry). A flow no
    /// dissector claimed gets the protocol its ports suggest, as Netify's guess does.
    pub fn give_up(&mut self, facts: &mut FlowFacts) {
        if facts.protocol == protocol::UNKNOWN {
            let flow = flow_info(facts);
            if let Some(id) = guess_before_dissector_hints(&flow) {
                facts.protocol = id;
            } else if let Some(kind) = first(&port_hints(&flow)).and_then(|i| KINDS.get(i)) {
                facts.protocol = kind.protocol();
            } else if let Some(id) = guess_without_dissector_hint(&flow) {
                facts.protocol = id;
            }
            facts.detection_guessed = true;
        }
        *self = DissectState::Finished;
    }

    /// A dissector that gave up without naming the flow (RTP's unconfirmed claim) leaves it to
    /// the port guess, as if it had never claimed it.
    fn finish(&mut self, parsed: Parsed, facts: &mut FlowFacts) -> Step {
        if let Parsed::Skipped(reason) = parsed {
            count_skip(reason);
        }
        match parsed {
            Parsed::Skipped(_) if facts.protocol == protocol::UNKNOWN => {
                self.give_up(facts);
                Step::Complete
            }
            Parsed::Continue => Step::NothingNew,
            Parsed::Updated => Step::Updated,
            Parsed::Done | Parsed::Skipped(_) => {
                *self = DissectState::Finished;
                Step::Complete
            }
        }
    }
}

/// Dissectors that gave up on a flow they had claimed, per reason (index in [`Skip::ALL`]),
/// since the process started, all workers together. Touched once per such flow, not per packet.
/// Every dissection counts, including parallel replay's shadow copies of DNS flows in the other
/// workers: not a per-flow figure, so not printed with the replay summary (a per-worker count in
/// the table's stats, net of shadows, would be).
static SKIPPED: [AtomicU64; Skip::ALL.len()] = [const { AtomicU64::new(0) }; Skip::ALL.len()];

fn count_skip(reason: Skip) {
    SKIPPED[reason as usize].fetch_add(1, Ordering::Relaxed);
}

/// How many times dissectors gave up on a flow, per reason, in the process so far.
pub fn skipped() -> [(Skip, u64); Skip::ALL.len()] {
    Skip::ALL.map(|r| (r, SKIPPED[r as usize].load(Ordering::Relaxed)))
}

/// Port guesses that outrank the dissectors' hints: TCP 445 is direct-hosted SMB (MS-SMB2
/// §2.1), guessed SMBv23 as nDPI and Netify do; NetBIOS's hint on 445 is there to name the SMB
/// sessions its probe reads. TCP 8080 and 3128 (Squid's port) are the web proxies' ports, guessed
/// `HTTP/Proxy` as nDPI does (HTTP's hint on 8080 still breaks ties between certain probes).
fn guess_before_dissector_hints(flow: &FlowInfo) -> Option<ProtocolId> {
    if !flow.is_tcp() {
        return None;
    }
    if flow.has_port(445) {
        Some(protocol::SMBV23)
    } else if flow.has_port(8080) || flow.has_port(3128) {
        Some(protocol::HTTP_PROXY)
    } else {
        None
    }
}

/// Port guesses for protocols whose dissectors declare no ports of their own (TLS's file is
/// kept to the hellos), as nDPI guesses them: IANA's HTTPS ports, the implicit-TLS mail ports
/// (RFC 8314 §3.3: 465 SMTPS, 993 IMAPS, 995 POPS), IKE's port 500 over TCP (IPSec) and DNS
/// over TLS's 853 (DoT); then [`PORT_ONLY`].
fn guess_without_dissector_hint(flow: &FlowInfo) -> Option<ProtocolId> {
    let port = |p| flow.is_tcp() && flow.has_port(p);
    if port(443) || port(8443) {
        Some(protocol::TLS)
    } else if port(465) {
        Some(protocol::SMTPS)
    } else if port(993) {
        Some(protocol::IMAPS)
    } else if port(995) {
        Some(protocol::POPS)
    } else if port(500) {
        Some(protocol::IPSEC)
    } else if port(853) {
        // IANA `domain-s`: DNS over TLS (RFC 7858 §3.1).
        Some(protocol::DOT)
    } else {
        PORT_ONLY.iter().find(|(ports, _)| ports.hint(flow)).map(|&(_, id)| id)
    }
}

/// Protocols flowsieve names from their ports alone, as nDPI's port match does: no dissector
/// reads them, their wire formats not being published, but their ports are — by IANA's
/// registry or by the vendor. A flow on one of these ports that no dissector claims gets the
/// protocol as its guess (`detection_guessed`), never a flow a probe names.
const PORT_ONLY: &[(Ports, ProtocolId)] = &[
    // IANA `radmin-port` (Famatech's Radmin remote control).
    (Ports::tcp(&[4899]), protocol::RADMIN),
    // VMware's published ports of its hosts' authentication daemon and remote console.
    (Ports::tcp(&[902, 903]), protocol::VMWARE),
    // Cisco's documented default port of IPsec over TCP and over UDP (cTCP / NAT traversal
    // of its VPN clients and concentrators).
    (Ports::both(&[10000]), protocol::CISCO_VPN),
    // TP-Link's Smart Home Protocol (Kasa devices) on TCP and UDP 9999, as its public
    // reverse-engineering describes it.
    (Ports::both(&[9999]), protocol::TPLINK_SHP),
    // The Roughtime secure time protocol's port (IETF draft-ietf-ntp-roughtime's request to IANA).
    (Ports::both(&[2002]), protocol::ROUGHTIME),
    // GTP-C, the GPRS Tunnelling Protocol's control plane (3GPP TS 29.274, IANA `gtp-control`).
    (Ports::udp(&[2123]), protocol::GTP),
    // IANA `iscsi-target` (RFC 7143 §13.5: iSCSI's well-known port).
    (Ports::tcp(&[3260]), protocol::ISCSI),
    // IANA `ftp-data`: FTP's active-mode data connections come from the server's port 20.
    (Ports::tcp(&[20]), protocol::FTP_DATA),
    // IANA `ospfd`: the OSPF routing daemon's management port (Zebra/Quagga/FRR).
    (Ports::tcp(&[2604]), protocol::OSPF),
    // IANA `cp-cluster`: Check Point's cluster control protocol between ClusterXL members.
    (Ports::udp(&[8116]), protocol::CHECKPOINT_HA),
    // The UDP port Cisco Meraki documents for its devices' tunnel to the Meraki cloud
    // ("Upstream Firewall Rules for Cloud Connectivity").
    (Ports::udp(&[7351]), protocol::MERAKI_CLOUD),
    // The default port of Innersloth's Among Us game servers (their Hazel UDP protocol).
    (Ports::udp(&[22023]), protocol::AMONG_US),
    // Targus Dataspeed's broadband speed test servers, on TCP and UDP 5001 and 5201.
    (Ports::both(&[5001, 5201]), protocol::TARGUS_DATASPEED),
];

/// Transport and ports of a flow, as dissectors see them.
pub fn flow_info(facts: &FlowFacts) -> FlowInfo {
    FlowInfo {
        ip_protocol: facts.ip_protocol,
        ports: [facts.local_port, facts.other_port],
        addrs: [facts.local_ip, facts.other_ip],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::Direction;

    fn facts(ip_protocol: u8, local_port: u16, other_port: u16) -> FlowFacts {
        FlowFacts { ip_protocol, local_port, other_port, ..FlowFacts::default() }
    }

    fn udp(payload: &[u8]) -> Segment<'_> {
        Segment { direction: Direction::Forward, tcp_seq: None, payload }
    }

    #[test]
    fn the_probing_state_stays_24_bytes_up_to_160_dissectors_per_transport() {
        // The ruled-out set's 32-bit words sit beside the enum's tag: the flow slot's budget
        // (`flow::table`) counts on it. A flow's set covers its transport's lane only.
        for t in 0..TRANSPORT_COUNT {
            assert!(LANES.len[t] <= 160, "lane {t}: {} dissectors, the ruled-out set outgrew five words", LANES.len[t]);
        }
        assert_eq!(std::mem::size_of::<DissectState>(), 24);
    }

    #[test]
    fn icmp_is_named_by_ip_protocol() {
        let mut f = facts(1, 0, 0);
        let state = DissectState::start(&mut f);
        assert!(state.is_finished());
        assert_eq!(f.protocol, protocol::ICMP);
        assert!(f.detection_complete);
    }

    #[test]
    fn garbage_on_a_known_port_is_guessed_by_port() {
        let mut f = facts(17, 40000, 123);
        let mut state = DissectState::start(&mut f);
        let mut step = Step::NothingNew;
        for _ in 0..4 {
            step = state.on_segment(&udp(&[0xff; 3]), &mut f);
            if state.is_finished() {
                break;
            }
        }
        if !state.is_finished() {
            state.give_up(&mut f);
        } else {
            assert_eq!(step, Step::Complete);
        }
        assert_eq!(f.protocol, protocol::NTP);
        assert!(f.detection_guessed);
    }

    /// A flow whose packets carry no payload ends with its ports' guess.
    fn guess_for(ip_protocol: u8, port: u16) -> ProtocolId {
        let mut f = facts(ip_protocol, 36050, port);
        let mut state = DissectState::start(&mut f);
        state.give_up(&mut f);
        assert!(f.detection_guessed);
        f.protocol
    }

    #[test]
    fn port_guesses_follow_ndpi() {
        // nDPI's synscan.pcap: SYNs alone, "Match by port".
        assert_eq!(guess_for(6, 445), protocol::SMBV23);
        assert_eq!(guess_for(6, 139), protocol::NETBIOS);
        assert_eq!(guess_for(6, 465), protocol::SMTPS);
        assert_eq!(guess_for(6, 993), protocol::IMAPS);
        assert_eq!(guess_for(6, 995), protocol::POPS);
        assert_eq!(guess_for(6, 500), protocol::IPSEC);
        assert_eq!(guess_for(17, 500), protocol::IPSEC);
        assert_eq!(guess_for(6, 443), protocol::TLS);
        assert_eq!(guess_for(6, 81), protocol::HTTP);
        assert_eq!(guess_for(6, 8181), protocol::HTTP);
        assert_eq!(guess_for(6, 8080), protocol::HTTP_PROXY);
        assert_eq!(guess_for(6, 3128), protocol::HTTP_PROXY);
        assert_eq!(guess_for(17, 3128), protocol::UNKNOWN);
        assert_eq!(guess_for(17, 445), protocol::UNKNOWN);
        // Nor on UDP 3386 without a GTP' message (gtp_false_positive.pcapng).
        assert_eq!(guess_for(17, 3386), protocol::UNKNOWN);
        // Protocols named from their ports alone (PORT_ONLY).
        assert_eq!(guess_for(6, 4899), protocol::RADMIN);
        assert_eq!(guess_for(6, 1352), protocol::LOTUS_NOTES);
        assert_eq!(guess_for(6, 903), protocol::VMWARE);
        assert_eq!(guess_for(6, 10000), protocol::CISCO_VPN);
        assert_eq!(guess_for(17, 10000), protocol::CISCO_VPN);
        assert_eq!(guess_for(6, 9999), protocol::TPLINK_SHP);
        assert_eq!(guess_for(6, 2002), protocol::ROUGHTIME);
        assert_eq!(guess_for(17, 2123), protocol::GTP);
        assert_eq!(guess_for(6, 2123), protocol::UNKNOWN);
        assert_eq!(guess_for(17, 4899), protocol::UNKNOWN);
        assert_eq!(guess_for(6, 3260), protocol::ISCSI);
        assert_eq!(guess_for(6, 20), protocol::FTP_DATA);
        assert_eq!(guess_for(6, 2604), protocol::OSPF);
        assert_eq!(guess_for(6, 853), protocol::DOT);
        assert_eq!(guess_for(6, 1719), protocol::H323);
        // nDPI names nothing on TCP 990 (synscan.pcap flows 114, 1034).
        assert_eq!(guess_for(6, 990), protocol::UNKNOWN);
        // Nor on the tank gauges' TCP 10001 (synscan.pcap flows 748, 1668); Targus Dataspeed
        // on 5001 by port alone (flows 36050, 36051 there).
        assert_eq!(guess_for(6, 10001), protocol::UNKNOWN);
        assert_eq!(guess_for(6, 5001), protocol::TARGUS_DATASPEED);
        assert_eq!(guess_for(17, 5201), protocol::TARGUS_DATASPEED);
        assert_eq!(guess_for(17, 8116), protocol::CHECKPOINT_HA);
        assert_eq!(guess_for(17, 7351), protocol::MERAKI_CLOUD);
        assert_eq!(guess_for(17, 22023), protocol::AMONG_US);
        assert_eq!(guess_for(6, 22023), protocol::UNKNOWN);
        // The new dissectors' own ports.
        assert_eq!(guess_for(6, 48898), protocol::BECKHOFF_ADS);
        assert_eq!(guess_for(6, 1153), protocol::ANSI_C1222);
    }

    #[test]
    fn dns_on_an_odd_port_is_found_by_payload() {
        let mut f = facts(17, 40000, 9999);
        let mut state = DissectState::start(&mut f);
        let query = crate::dissect::dns::tests::query(b"\x07example\x03com\x00", 1);
        let step = state.on_segment(&udp(&query), &mut f);
        assert_ne!(step, Step::NothingNew);
        assert_eq!(f.protocol, protocol::DNS);
        assert_eq!(f.detected_hostname(), Some("example.com"));
    }

    #[test]
    fn rtp_is_named_only_once_confirmed() {
        // sip.pcap's RTP stream (PT 8, SSRC 0x3796cb71), header and first payload bytes.
        let first = crate::dissect::testing::hex("80086fae000004d83796cb71d5d5d5d5");
        let next = crate::dissect::testing::hex("80086faf000005783796cb716e681514");
        let mut f = facts(17, 30000, 40392);
        let mut state = DissectState::start(&mut f);
        assert_eq!(state.on_segment(&udp(&first), &mut f), Step::NothingNew);
        assert_eq!(f.protocol, protocol::UNKNOWN);
        assert_eq!(state.on_segment(&udp(&next), &mut f), Step::Complete);
        assert_eq!(f.protocol, protocol::RTP);
        assert!(!f.detection_guessed);

        // An RTP-looking first packet on SIP's port, then junk: the port guess, as if RTP had
        // never claimed the flow; the give-up is counted.
        let unconfirmed = || skipped().iter().find(|(r, _)| *r == Skip::Unconfirmed).map_or(0, |&(_, n)| n);
        let before = unconfirmed();
        let mut f = facts(17, 40000, 5060);
        let mut state = DissectState::start(&mut f);
        state.on_segment(&udp(&first), &mut f);
        for _ in 0..2 {
            state.on_segment(&udp(&[0xff; 3]), &mut f);
        }
        assert!(state.is_finished());
        assert_eq!(f.protocol, protocol::SIP);
        assert!(f.detection_guessed);
        // Other tests may count at the same time: at least this flow's.
        assert!(unconfirmed() > before);
    }

    #[test]
    fn visit_reaches_every_dissector_by_name() {
        struct Name;
        impl Visitor for Name {
            type Output = (&'static str, ProtocolId);
            fn visit<D: Dissector>(self, name: &'static str) -> Self::Output {
                (name, D::PROTOCOL)
            }
        }
        assert_eq!(NAMES.len(), KINDS.len());
        for (i, kind) in KINDS.iter().enumerate() {
            assert_eq!(visit(i, Name), Some((NAMES[i], kind.protocol())));
            assert!(!NAMES[..i].contains(&NAMES[i]), "{} twice", NAMES[i]);
        }
        assert_eq!(visit(KINDS.len(), Name), None);
    }

    #[test]
    fn port_tables_are_per_transport() {
        use crate::dissect::testing::{tcp, udp};
        assert!(dns::DnsDissector::port_hint(&tcp([53, 40000])));
        assert!(!dns::DnsDissector::port_hint(&tcp([5353, 40000])));
        assert!(dns::DnsDissector::port_hint(&udp([40000, 5353])));
        assert!(!tls::TlsDissector::port_hint(&tcp([443, 40000])));
    }

    /// The compile-time port table answers, for every dissector, transport and port, exactly
    /// what the dissector's own `port_hint` (a scan of its port list) answers.
    #[test]
    fn the_port_table_answers_as_each_dissectors_port_hint() {
        /// The flow numbered `n` of a transport: port `n / 2` alone for even `n`, beside
        /// another for odd `n` (so each port is seen at either end of a flow).
        fn flow(ip_protocol: u8, n: usize) -> FlowInfo {
            let port = (n / 2) as u16;
            let ports = if n.is_multiple_of(2) { [port, port] } else { [port.swap_bytes(), port] };
            FlowInfo { ip_protocol, ports, ..FlowInfo::default() }
        }
        const FLOWS: usize = 2 << 16;
        /// The flows, by number, on which a dissector's own `port_hint` is true.
        struct Scan(u8);
        impl Visitor for Scan {
            type Output = Vec<usize>;
            fn visit<D: Dissector>(self, _: &'static str) -> Vec<usize> {
                let mut hinted = Vec::new();
                for n in 0..FLOWS {
                    if D::port_hint(&flow(self.0, n)) {
                        hinted.push(n);
                    }
                }
                hinted
            }
        }
        let mut alone = 0;
        for ip_protocol in [FlowInfo::TCP, FlowInfo::UDP, 132] {
            let mut scanned = vec![NO_KINDS; FLOWS];
            for i in 0..KINDS.len() {
                for n in visit(i, Scan(ip_protocol)).unwrap() {
                    scanned[n][i / 64] |= 1 << (i % 64);
                    alone += usize::from(n.is_multiple_of(2));
                }
            }
            for (n, scan) in scanned.iter().enumerate() {
                let flow = flow(ip_protocol, n);
                let hints = port_hints(&flow);
                if hints != *scan {
                    let differ: Vec<_> =
                        (0..KINDS.len()).filter(|&i| has(&hints, i) != has(scan, i)).map(|i| NAMES[i]).collect();
                    panic!("{differ:?} on {flow:?}");
                }
                // The port guess names the first of them in probing order.
                if hints != NO_KINDS {
                    assert_eq!(first(&hints), (0..KINDS.len()).find(|&i| has(scan, i)));
                }
            }
        }
        // The scans named each dissector on each port it declares: the comparison saw them all.
        let distinct = |ports: &[u16]| (0..ports.len()).filter(|&j| !ports[..j].contains(&ports[j])).count();
        let declared: usize = KINDS.iter().map(|k| distinct(k.ports().tcp) + distinct(k.ports().udp)).sum();
        assert_eq!(alone, declared);
    }

    /// Every dissector's declared rule-outs (transport, first byte, port) hold for its probe:
    /// where the registry skips the probe, the probe says `NotForUs` on payloads of many shapes
    /// and lengths, in both directions.
    #[test]
    fn declared_rule_outs_agree_with_the_probes() {
        struct Check;
        impl Visitor for Check {
            type Output = ();
            fn visit<D: Dissector>(self, name: &'static str) {
                let mut state = 0x9e37_79b9_7f4a_7c15u64;
                let mut random = || {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state.to_le_bytes()[0]
                };
                let mut flows = vec![[40000, 40001]];
                flows.extend(D::PORTS.tcp.iter().chain(D::PORTS.udp).map(|&p| [p, 40000]));
                for ip_protocol in [FlowInfo::TCP, FlowInfo::UDP, 132] {
                    for &ports in &flows {
                        let flow = FlowInfo { ip_protocol, ports, ..FlowInfo::default() };
                        let port_out = D::NEEDS_PORT && !D::port_hint(&flow);
                        for first in 0..=255u8 {
                            let out = !D::TRANSPORTS.allows(ip_protocol) || !D::FIRST_BYTES.contains(first) || port_out;
                            if !out {
                                continue;
                            }
                            for len in [1, 2, 3, 4, 5, 6, 8, 9, 12, 16, 20, 24, 32, 48, 64, 92, 148, 300] {
                                for tail in 0..3 {
                                    let mut payload = vec![first; len];
                                    for b in payload.iter_mut().skip(1) {
                                        *b = match tail {
                                            0 => 0,
                                            1 => first,
                                            _ => random(),
                                        };
                                    }
                                    for direction in [Direction::Forward, Direction::Reverse] {
                                        let seq = (ip_protocol == FlowInfo::TCP).then_some(1);
                                        let segment = Segment { direction, tcp_seq: seq, payload: &payload };
                                        assert_eq!(
                                            D::probe_flow(&flow, &segment),
                                            Probe::NotForUs,
                                            "{name} is ruled out on {flow:?} and first byte {first:#04x}, yet probes {payload:02x?}"
                                        );
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        for i in 0..NAMES.len() {
            visit(i, Check);
        }
    }

    #[test]
    fn rule_outs_are_set_when_a_flow_starts() {
        // A TCP flow on no particular port: UDP-only dissectors and those that need their port
        // are ruled out before any payload.
        let mut f = facts(6, 40000, 40001);
        let DissectState::Probing { ruled_out } = DissectState::start(&mut f) else { panic!("not probing") };
        let out = |name: &str| !probed(&ruled_out, 6, name);
        assert!(out("Ntp") && out("Quic") && out("Socks") && !out("Tls") && !out("Http"));
        // SOCKS on its port is probed.
        let mut f = facts(6, 40000, 1080);
        let DissectState::Probing { ruled_out } = DissectState::start(&mut f) else { panic!("not probing") };
        assert!(probed(&ruled_out, 6, "Socks"));
    }

    /// Whether the dissector `name` is still probed on a flow of `ip_protocol` with this
    /// `ruled_out` set: it is in the transport's lane and its bit is clear.
    fn probed(ruled_out: &Mask, ip_protocol: u8, name: &str) -> bool {
        let i = NAMES.iter().position(|n| *n == name).unwrap();
        let t = transport_index(ip_protocol);
        let Some(k) = LANES.members[t][..LANES.len[t]].iter().position(|&m| usize::from(m) == i) else {
            return false;
        };
        let (word, bit) = lane_bit(k);
        ruled_out[word] & bit == 0
    }

    #[test]
    fn each_transport_probes_exactly_the_dissectors_that_allow_it() {
        for (ip_protocol, t) in [(6u8, 0usize), (17, 1), (253, 2)] {
            let mut f = facts(ip_protocol, 40000, 40001);
            let DissectState::Probing { ruled_out } = DissectState::start(&mut f) else { panic!("not probing") };
            for (i, kind) in KINDS.iter().enumerate() {
                let allowed = kind.transports().allows(ip_protocol);
                let needs_port = kind.needs_port();
                if !needs_port {
                    assert_eq!(probed(&ruled_out, ip_protocol, NAMES[i]), allowed, "{} on {ip_protocol}", NAMES[i]);
                } else if !allowed {
                    assert!(!probed(&ruled_out, ip_protocol, NAMES[i]), "{} on {ip_protocol}", NAMES[i]);
                }
            }
            // The lane keeps the registry's probing order.
            let lane = &LANES.members[t][..LANES.len[t]];
            assert!(lane.windows(2).all(|w| w[0] < w[1]));
            // A flow whose every lane member said no is given up: the bits past the lane count
            // as said.
            let all_said: Mask = std::array::from_fn(|w| {
                (0..WORD_BITS).filter(|b| w * WORD_BITS + b < LANES.len[t]).fold(PAST_LANE[t][w], |m, b| m | 1 << b)
            });
            assert!(all_said.iter().all(|&w| w == Word::MAX));
        }
    }

    #[test]
    fn positions_are_the_set_bits_in_order() {
        let mut all = [0; RULED_OUT_WORDS];
        all[RULED_OUT_WORDS - 1] = Word::MAX;
        let mut sparse = [0; RULED_OUT_WORDS];
        sparse[0] = 0b1001_0110;
        sparse[RULED_OUT_WORDS - 1] = 1 << (WORD_BITS - 1) | 1;
        for mask in [[0; RULED_OUT_WORDS], [Word::MAX; RULED_OUT_WORDS], all, sparse] {
            let naive: Vec<usize> =
                (0..RULED_OUT_WORDS * WORD_BITS).filter(|&k| mask[k / WORD_BITS] >> (k % WORD_BITS) & 1 != 0).collect();
            assert_eq!(positions(mask).collect::<Vec<_>>(), naive, "{mask:x?}");
        }
        let mut sparse_positions = positions(sparse);
        assert_eq!(sparse_positions.next(), Some(1));
        let last = (RULED_OUT_WORDS - 1) * WORD_BITS;
        assert_eq!(sparse_positions.nth(3), Some(last));
        assert_eq!(sparse_positions.next(), Some(last + WORD_BITS - 1));
        assert_eq!(sparse_positions.next(), None);
    }

    #[test]
    fn skip_reasons_index_their_counters() {
        for (i, r) in Skip::ALL.iter().enumerate() {
            assert_eq!(*r as usize, i, "{r:?}");
        }
    }

    #[test]
    fn every_kind_has_a_named_protocol() {
        for kind in KINDS {
            assert_ne!(protocol::name_of(kind.protocol()), "Unknown", "{kind:?}");
        }
    }
}
