//! How nDPI's names and values map onto flowsieve's: the targeted protocols, nDPI's
//! application names against our tags, nDPI's protocol IDs against Netify's, and reading
//! values out of nDPI's and our records.

use super::*;

/// Protocols the detection work targets; the summary line reports agreement over these.
pub(crate) const TARGETED: &[&str] = &[
    "HTTP",
    "DNS",
    "MDNS",
    "LLMNR",
    "TLS",
    "SSH",
    "DHCP",
    "NTP",
    "SNMP",
    "Syslog",
    "NetBIOS",
    "SSDP",
    "STUN",
    "SIP",
    "BitTorrent",
    "SMTP",
    "IMAP",
    "POP3",
    "FTP_CONTROL",
    "MySQL",
    "PostgreSQL",
    "RDP",
    "WireGuard",
    "OpenVPN",
    "IPSec",
    "ICMP",
    "ICMPV6",
    "IGMP",
    "Service_Location_Protocol",
    "QUIC",
    "DTLS",
    "Kerberos",
    "LDAP",
    "Radius",
    "SMBv23",
    "MsSQL-TDS",
    "SMTPS",
    "IMAPS",
    "POPS",
    "FTPS",
    "SMBv1",
    "RTP",
    "RTCP",
    "Gnutella",
];

/// nDPI application names → what flowsieve calls the same thing: application tags
/// (`netify.…`, from Netify's list or flowsieve's catalogue) or, prefixed `proto:`, a protocol
/// name of flowsieve's (Netify's taxonomy names some of nDPI's applications as protocols, e.g.
/// `WhatsApp/Call`, `DoT`). A flow agrees when its application tag or its protocol is one of
/// the entry's. An nDPI name without an entry maps to flowsieve's application or protocol of the
/// same name (letters and digits compared without case: `Dazn` is `netify.dazn`, `Psiphon`
/// `netify.psiphon`, `TeamViewer` the protocol `TeamViewer`); one with neither counts as not
/// agreeing (listed as "unmapped" in the report).
///
/// nDPI names one application where Netify has several finer ones (nDPI `Google` covers
/// Netify's `google`, `google-hosted`, `google-cloud` …): every one of them is accepted.
pub(crate) const NDPI_APPS: &[(&str, &[&str])] = &[
    // Netify's list files Alexa's service names (pitangui.amazon.com …) under amazon-alexa; nDPI
    // calls the Alexa app's traffic to them Amazon.
    (
        "Amazon",
        &[
            "netify.amazon",
            "netify.amazon-devices",
            "netify.amazon-advertising",
            "netify.amazon-cloudfront",
            "netify.amazon-alexa",
        ],
    ),
    ("AmazonAWS", &["netify.amazon-aws", "netify.aws", "netify.amazon-cloudfront"]),
    ("AmazonAlexa", &["netify.amazon-alexa"]),
    ("AmazonVideo", &["netify.amazon-prime", "netify.primevideo"]),
    (
        "Google",
        &[
            "netify.google",
            "netify.google-hosted",
            "netify.google-cloud",
            "netify.google-ads",
            "netify.google-authentication",
            "netify.android",
            "netify.firebase",
            "netify.crashlytics",
        ],
    ),
    (
        "GoogleServices",
        &[
            "netify.google",
            "netify.google-hosted",
            "netify.google-cloud",
            "netify.google-authentication",
            "netify.android",
            "netify.firebase",
        ],
    ),
    ("DataSaver", &["netify.google", "netify.google-hosted"]),
    ("GoogleCall", &["netify.google-meet", "netify.google-chat", "netify.google-messages"]),
    ("GoogleMeet", &["netify.google-meet"]),
    ("GoogleChat", &["netify.google-chat"]),
    ("GoogleMaps", &["netify.google-maps"]),
    ("GoogleDrive", &["netify.google-drive"]),
    ("GoogleClassroom", &["netify.google-classroom"]),
    ("GMail", &["netify.gmail"]),
    ("PlayStore", &["netify.google-play"]),
    ("YouTube", &["netify.youtube"]),
    ("YouTubeUpload", &["netify.youtube"]),
    ("WhatsApp", &["netify.whatsapp", "proto:WhatsApp"]),
    ("WhatsAppCall", &["netify.whatsapp", "proto:WhatsApp/Call"]),
    ("WhatsAppFiles", &["netify.whatsapp"]),
    ("1kxun", &["netify.1kxun"]),
    ("NetFlix", &["netify.netflix"]),
    ("Webex", &["netify.webex"]),
    ("Facebook", &["netify.facebook"]),
    ("FacebookMessenger", &["netify.messenger", "netify.facebook"]),
    ("FacebookVoip", &["netify.messenger", "netify.facebook"]),
    ("FbookReelStory", &["netify.facebook", "netify.instagram"]),
    ("Instagram", &["netify.instagram"]),
    ("Threads", &["netify.threads"]),
    ("Apple", &["netify.apple", "netify.apple-id", "netify.apple-updates"]),
    ("AppleiTunes", &["netify.apple-itunes", "netify.itunes", "netify.apple-music"]),
    ("AppleiCloud", &["netify.apple-icloud", "netify.icloud", "netify.icloud-private-relay"]),
    ("AppleSiri", &["netify.apple-siri"]),
    ("AppleStore", &["netify.app-store", "netify.apple"]),
    ("ApplePush", &["netify.apple-push", "netify.apple"]),
    ("ntop", &["netify.ntop"]),
    ("Signal", &["netify.signal"]),
    ("SignalVoip", &["netify.signal", "proto:SignalCall"]),
    ("Zoom", &["netify.zoom", "proto:ZOOM"]),
    ("Reddit", &["netify.reddit"]),
    ("Waze", &["netify.waze"]),
    ("Microsoft", &["netify.microsoft", "netify.microsoft-365", "netify.office-365", "netify.windows", "netify.bing"]),
    ("Outlook", &["netify.outlook", "netify.microsoft-365", "netify.office-365"]),
    ("Teams", &["netify.microsoft-teams", "proto:Skype/Teams"]),
    ("Skype_TeamsCall", &["netify.microsoft-teams", "netify.skype", "proto:Skype/Teams/Call"]),
    ("MS_OneDrive", &["netify.microsoft-onedrive", "netify.onedrive"]),
    ("Azure", &["netify.azure", "netify.azure-front-door"]),
    ("WindowsUpdate", &["netify.windows-update"]),
    ("Xbox", &["netify.xbox", "netify.xbox-live"]),
    ("KakaoTalk", &["netify.kakaotalk", "netify.kakao"]),
    ("Telegram", &["netify.telegram", "proto:Telegram"]),
    ("TelegramVoip", &["netify.telegram", "proto:Telegram/VoIP"]),
    ("TunnelBear", &["netify.tunnelbear"]),
    ("QQ", &["netify.qq", "netify.tencent"]),
    ("Sina", &["netify.sina"]),
    ("SinaWeibo", &["netify.weibo", "netify.sina"]),
    ("DoH_DoT", &["proto:DoT", "proto:DoH", "proto:DoQ"]),
    ("DNScrypt", &["proto:DNSCrypt", "netify.dnscrypt"]),
    ("Pinterest", &["netify.pinterest"]),
    ("Pluralsight", &["netify.pluralsight"]),
    ("FortiClient", &["netify.forticlient", "netify.fortinet"]),
    ("Cloudflare", &["netify.cloudflare"]),
    ("CloudflareWarp", &["netify.cloudflare-warp", "netify.cloudflare"]),
    ("Nintendo", &["netify.nintendo"]),
    ("Line", &["netify.line"]),
    // Aliyun is Alibaba Cloud's Chinese name (v2fly lists it apart from alibabacloud).
    ("Alibaba", &["netify.alibaba", "netify.alibaba-cloud", "netify.alibabacloud", "netify.aliyun"]),
    ("Snapchat", &["netify.snapchat"]),
    ("SnapchatCall", &["netify.snapchat"]),
    ("Steam", &["netify.steam", "proto:Steam"]),
    ("Dota2", &["netify.steam", "netify.dota2"]),
    ("BitTorrent", &["netify.bittorrent", "proto:BitTorrent"]),
    ("Gnutella", &["proto:Gnutella"]),
    // nDPI's class of advertising, analytics and tracking services, not one application: no
    // flowsieve name is that class; flows are compared through `APP_GRANULARITY`.
    ("ADS_Analytic_Track", &[]),
    ("Wikipedia", &["netify.wikipedia", "netify.wikimedia"]),
    ("Twitter", &["netify.twitter"]),
    ("HuaweiCloud", &["netify.huaweicloud", "netify.huawei"]),
    ("Huawei", &["netify.huawei"]),
    ("Bluesky", &["netify.bluesky"]),
    ("iQIYI", &["netify.iqiyi"]),
    ("WorldOfWarcraft", &["netify.blizzard", "netify.activision-blizzard"]),
    ("Tor", &["netify.tor"]),
    ("Slack", &["netify.slack"]),
    ("Discord", &["netify.discord", "proto:Discord"]),
    ("GaijinEntertainment", &["netify.gaijin", "proto:GaijinEntertainment"]),
    ("GeForceNow", &["netify.geforce-now"]),
    ("Mullvad", &["netify.mullvad"]),
    ("NetEaseGames", &["netify.netease", "proto:NetEaseGames"]),
    ("NordVPN", &["netify.nordvpn"]),
    ("Xiaomi", &["netify.xiaomi", "netify.miui", "proto:Xiaomi"]),
    ("Bloomberg", &["netify.bloomberg"]),
    ("Playstation", &["netify.playstation"]),
    ("ElectronicArts", &["netify.electronic-arts"]),
    ("Tumblr", &["netify.tumblr"]),
    ("Yandex", &["netify.yandex"]),
    ("YandexCloud", &["netify.yandex"]),
    ("YandexDisk", &["netify.yandex"]),
    ("YandexMetrika", &["netify.yandex-metrica", "netify.yandex"]),
    ("YandexDirect", &["netify.yandex"]),
    ("YandexMusic", &["netify.yandex"]),
    ("YandexMarket", &["netify.yandex"]),
    ("YandexMail", &["netify.yandex"]),
    ("Zattoo", &["netify.zattoo"]),
    ("Github", &["netify.github"]),
    ("GitLab", &["netify.gitlab"]),
    ("DingTalk", &["netify.dingtalk"]),
    ("PrivateInternetAccess", &["netify.private-internet-access"]),
    ("ProtonVPN", &["netify.proton-vpn"]),
    ("Spotify", &["netify.spotify", "proto:Spotify"]),
    ("RiotGames", &["netify.riot-games", "netify.riot"]),
    ("Roblox", &["netify.roblox"]),
    ("Likee", &["netify.likee"]),
    ("SurfShark", &["netify.surfshark"]),
    ("TikTok", &["netify.tiktok", "netify.bytedance"]),
    ("DisneyPlus", &["netify.disney-plus"]),
    ("AccuWeather", &["netify.accuweather"]),
    ("Vimeo", &["netify.vimeo"]),
    ("Activision", &["netify.activision", "netify.activision-blizzard", "proto:Activision"]),
    ("CoD_Mobile", &["netify.activision", "netify.activision-blizzard", "proto:CoD_Mobile"]),
    ("EpicGames", &["netify.epic-games", "netify.epicgames", "proto:EpicGames"]),
    ("TencentGames", &["netify.tencent-games", "proto:TencentGames"]),
    ("Heroes_of_the_Storm", &["netify.blizzard", "netify.activision-blizzard", "proto:Heroes_of_the_Storm"]),
    ("TES_Online", &["netify.bethesda", "proto:TES_Online"]),
    ("SteamDatagramRelay", &["netify.steam", "proto:SteamDatagramRelay"]),
    ("PathofExile", &["proto:PathofExile"]),
    ("GenshinImpact", &["netify.hoyoverse", "netify.mihoyo-cn", "proto:Genshin/Impact"]),
    ("LinkedIn", &["netify.linkedin"]),
    ("Mastodon", &["netify.mastodon"]),
    ("Pandora", &["netify.pandora"]),
    ("AdobeConnect", &["netify.adobe"]),
    ("eBay", &["netify.ebay"]),
    ("UbuntuONE", &["netify.ubuntu"]),
    ("CNN", &["netify.cnn"]),
    ("Hulu", &["netify.hulu"]),
    ("Pastebin", &["netify.pastebin"]),
    ("Deezer", &["netify.deezer"]),
    ("SoundCloud", &["netify.soundcloud"]),
    ("LastFM", &["netify.last-fm"]),
    ("Badoo", &["netify.badoo"]),
    ("Twitch", &["netify.twitch"]),
    ("Softether", &["netify.softether"]),
    ("Sonos", &["netify.sonos"]),
    ("Dropbox", &["netify.dropbox", "proto:Dropbox"]),
    ("AnyDesk", &["netify.anydesk"]),
    ("Yahoo", &["netify.yahoo", "netify.yahoo-mail"]),
    ("Windscribe", &["netify.windscribe"]),
    ("OCSP", &["proto:OCSP"]),
    ("HLS", &["proto:HLS"]),
    ("WebDAV", &["proto:WebDAV"]),
    ("MS-RPCH", &["proto:MS-RPCH"]),
    ("PROFINET_IO", &["proto:PROFINET_IO"]),
    ("SOAP", &["proto:SOAP"]),
    ("MpegDash", &["proto:MPEG/Dash"]),
    ("IPP", &["proto:IPP"]),
    ("SMBv1", &["proto:SMBv1"]),
    ("SMBv23", &["proto:SMBv23"]),
    ("RTP", &["proto:RTP", "proto:SRTP"]),
    ("RDP", &["proto:RDP"]),
    ("GTP_PRIME", &["proto:GTP", "proto:GTP/P"]),
    ("Mumble", &["netify.mumble", "proto:Mumble"]),
    ("IFLIX", &["netify.iflix"]),
    ("Fuze", &["netify.fuze"]),
    ("Cybersec", &["netify.cybersec"]),
    // Names that differ only beyond spelling (same names are matched by `same_name`).
    ("AliCloud", &["netify.alibaba-cloud", "proto:Alibaba/Cloud"]),
    ("Ookla", &["netify.ookla-speedtest", "proto:OOKLA"]),
    ("ViberVoip", &["netify.viber", "proto:Viber"]),
    ("SiriusXMRadio", &["netify.siriusxm"]),
    ("TeslaServices", &["netify.tesla"]),
    ("AppleTVPlus", &["netify.apple-tv"]),
    ("Showtime", &["netify.showtimeanytime"]),
];

/// A name's letters and digits in lower case, without a `netify.` prefix: how an nDPI name is
/// compared with flowsieve's when [`NDPI_APPS`] has no entry for it.
fn name_key(name: &str) -> String {
    let name = name.strip_prefix("netify.").unwrap_or(name);
    name.chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_ascii_lowercase()
}

/// The keys of every name flowsieve has: the built-in list's application tags and the
/// protocol table's names.
fn our_name_keys() -> &'static std::collections::HashSet<String> {
    static KEYS: std::sync::OnceLock<std::collections::HashSet<String>> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| {
        let tags = flowsieve::classify::DEFAULT_APPS
            .lines()
            .filter_map(|l| l.strip_prefix("app:")?.split_once(':').map(|(_, tag)| name_key(tag)));
        tags.chain(protocol::PROTOCOLS.iter().map(|p| name_key(p.name))).collect()
    })
}

/// Whether nDPI's application `app` has a counterpart in flowsieve's names: an entry in
/// [`NDPI_APPS`] or a name of flowsieve's spelled the same.
pub(crate) fn has_mapping(app: &str) -> bool {
    NDPI_APPS.iter().any(|(n, _)| *n == app) || our_name_keys().contains(&name_key(app))
}

/// Whether flowsieve's flow bears nDPI's name `app` itself (`Dazn` and `netify.dazn`, `Psiphon`
/// and `netify.psiphon`, `TeamViewer` and the protocol `TeamViewer`); `None` when no name of
/// flowsieve's is spelled as `app`.
fn same_name(app: &str, r: &Value) -> Option<bool> {
    let key = name_key(app);
    if key.is_empty() || !our_name_keys().contains(&key) {
        return None;
    }
    let (tag, proto) = our_names(r);
    Some(tag.is_some_and(|t| name_key(t) == key) || name_key(proto) == key)
}

/// Application disagreements that are a matter of granularity, where the flow's own host name
/// proves flowsieve's name right: `(nDPI's application, flowsieve's tag, host names (each
/// with every name under it), why)`. A flow is in the class only when flowsieve named the
/// application from the flow's own host name (not a DNS hint), that name is the one nDPI read
/// (both engines saw it on the wire), and it is one of the listed names, each of which carries
/// flowsieve's application in its own labels. Counted as *explained*, never as agreement.
pub(crate) const APP_GRANULARITY: &[(&str, &str, &[&str], &str)] = &[
    (
        "PlayStore",
        "netify.android",
        &["android.clients.google.com"],
        "granularity: android.clients.google.com, the endpoint of Android's Google clients (check-in, push, Play), is Android's in Netify's list; nDPI names it PlayStore",
    ),
    (
        "QQ",
        "netify.wechat",
        &["weixin.qq.com"],
        "granularity: *.weixin.qq.com is WeChat's (Weixin, its Chinese name; the HTTP flows' user agent is WeChat's MicroMessenger client); nDPI names Tencent's QQ",
    ),
    (
        "Google",
        "netify.amp",
        &["cdn.ampproject.org"],
        "granularity: cdn.ampproject.org is the AMP Project's cache (v2fly's amp list); nDPI names its operator, Google",
    ),
    (
        "Google",
        "netify.google-play",
        &["play.google.com"],
        "granularity: play.google.com is Google Play (the HTTP flow asks for /store/apps/details); nDPI names Google",
    ),
    (
        "GoogleServices",
        "netify.google-play",
        &["play.googleapis.com"],
        "granularity: play.googleapis.com is Google Play's API; nDPI names GoogleServices",
    ),
    (
        "GoogleServices",
        "netify.crashlytics",
        &["crashlyticsreports-pa.googleapis.com"],
        "granularity: crashlyticsreports-pa.googleapis.com is Crashlytics' report upload (Firebase Crashlytics); nDPI names GoogleServices",
    ),
    (
        "Google",
        "netify.youtube",
        &["wide-youtube.l.google.com"],
        "granularity: wide-youtube.l.google.com is YouTube's front end on Google's network; nDPI names Google",
    ),
    (
        "Microsoft",
        "netify.microsoft-onedrive",
        &["onedrive.com"],
        "granularity: onedrive.com is OneDrive's own domain; nDPI names Microsoft",
    ),
    (
        "AppleStore",
        "netify.apple-itunes",
        &["itunes.apple.com"],
        "granularity: *.itunes.apple.com is the iTunes store's (p53-buy: its purchase service, App Store purchases too); nDPI names it AppleStore",
    ),
    (
        "ADS_Analytic_Track",
        "netify.new-relic",
        &["newrelic.com"],
        "granularity: nDPI's ADS_Analytic_Track is a class of trackers; flowsieve names the service, New Relic (its own domain; the TLS 1.2 certificates say O=New Relic, Inc.)",
    ),
];

/// The [`APP_GRANULARITY`] class of a flow where nDPI names `app`, if it is in one.
pub(crate) fn explain_application(app: &str, t: &Value, r: &Value) -> Option<&'static str> {
    let theirs = t["hostname"].as_str()?.to_ascii_lowercase();
    let ours = text_at(r, &["detected_hostname"]).or_else(|| text_at(r, &["tls", "sni"]))?.to_ascii_lowercase();
    let (tag, _) = our_names(r);
    if ours != theirs || r["application"]["from_dns_hint"].as_bool() != Some(false) {
        return None;
    }
    let under = |name: &str| ours == name || ours.strip_suffix(name).is_some_and(|p| p.ends_with('.'));
    APP_GRANULARITY
        .iter()
        .find(|(a, our_tag, names, _)| *a == app && tag == Some(*our_tag) && names.iter().any(|n| under(n)))
        .map(|&(_, _, _, why)| why)
}

/// What flowsieve's flow `r` is called, for [`NDPI_APPS`]: its application tag and protocol name.
pub(crate) fn our_names(r: &Value) -> (Option<&str>, &'static str) {
    let tag = r["application"]["tag"].as_str();
    let id = protocol::ProtocolId(r["protocol"]["id"].as_u64().and_then(|p| u16::try_from(p).ok()).unwrap_or(0));
    (tag, protocol::name_of(id))
}

/// Whether flowsieve's flow names what nDPI's application `app` is: by its entry in
/// [`NDPI_APPS`], else by the same name (`same_name`); `None` when neither maps `app`.
pub(crate) fn same_application(app: &str, r: &Value) -> Option<bool> {
    let Some((_, accepted)) = NDPI_APPS.iter().find(|(name, _)| *name == app) else { return same_name(app, r) };
    let (tag, proto) = our_names(r);
    Some(accepted.iter().any(|a| match a.strip_prefix("proto:") {
        Some(p) => p == proto,
        None => Some(*a) == tag,
    }))
}

/// Prints, for every capture named after an application nDPI names in it (the longest such
/// name the file name contains, letters and digits compared without case), the share of the
/// capture's bytes each engine attributes to that application, and how many captures
/// flowsieve's share is at least nDPI's in.
///
/// Both shares weigh each flow by nDPI's byte count (its frames' lengths, link header
/// included, where flowsieve counts IP lengths): the two shares then differ only where the two
/// engines name a flow differently, not by how each counts a packet's bytes. A flow flowsieve
/// did not pair counts in the total only.
pub(crate) fn service_shares(truth: &HashMap<FlowId, Vec<Value>>, ours: &HashMap<FlowId, Value>) {
    let norm = |s: &str| s.chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_ascii_lowercase();
    // pcap → (nDPI's bytes, nDPI's bytes per application, each nDPI flow's bytes with its pair).
    type Capture<'a> = (u64, BTreeMap<&'a str, u64>, Vec<(u64, Option<&'a Value>)>);
    let mut theirs: BTreeMap<&str, Capture<'_>> = BTreeMap::new();
    for (id, records) in truth {
        for t in records {
            let pcap = t["pcap"].as_str().unwrap_or_default();
            let bytes = t["c2s_bytes"].as_u64().unwrap_or(0) + t["s2c_bytes"].as_u64().unwrap_or(0);
            let entry = theirs.entry(pcap).or_default();
            entry.0 += bytes;
            entry.2.push((bytes, ours.get(id)));
            let (app, master) = (t["app_id"].as_u64().unwrap_or(0), t["master_id"].as_u64().unwrap_or(0));
            if app != 0 && app != master {
                *entry.1.entry(t["app_name"].as_str().unwrap_or_default()).or_default() += bytes;
            }
        }
    }
    let mut rows = Vec::new();
    for (pcap, (total, apps, flows)) in &theirs {
        let stem = norm(pcap.trim_end_matches(".pcap").trim_end_matches(".pcapng"));
        let service = apps
            .iter()
            .filter(|(name, _)| norm(name).len() >= 3 && stem.contains(&norm(name)))
            .max_by_key(|(name, bytes)| (norm(name).len(), **bytes));
        let Some((&service, &service_bytes)) = service else { continue };
        let our_service: u64 = flows
            .iter()
            .filter(|(_, r)| r.is_some_and(|r| same_application(service, r) == Some(true)))
            .map(|(bytes, _)| bytes)
            .sum();
        let share = |a: u64, b: u64| if b == 0 { 0.0 } else { 100.0 * a as f64 / b as f64 };
        rows.push((*pcap, service, share(service_bytes, *total), share(our_service, *total)));
    }
    // Shares are compared to a tenth of a percent.
    let ok = |(_, _, theirs, ours): &(&str, &str, f64, f64)| ours + 0.05 >= *theirs;
    println!(
        "service captures: flowsieve's byte share of the capture's own application ≥ nDPI's in {} of {}",
        rows.iter().filter(|r| ok(r)).count(),
        rows.len()
    );
    for row in rows.iter().filter(|r| !ok(r)) {
        println!("  {:<40} {:<18} nDPI {:>5.1}%  flowsieve {:>5.1}%", row.0, row.1, row.2, row.3);
    }
}

/// A flow identity both sides can compute: IP protocol, sorted endpoints, VLAN.
pub(crate) type FlowId = (String, u8, [(String, u16); 2], u16);

pub(crate) fn flow_id(pcap: &str, ip_protocol: u8, a: (String, u16), b: (String, u16), vlan: u16) -> FlowId {
    let mut ends = [a, b];
    ends.sort();
    (pcap.to_string(), ip_protocol, ends, vlan)
}

/// Canonical spelling of an address (nDPI and Rust may write IPv6 differently).
pub(crate) fn addr(text: &str) -> String {
    text.parse::<IpAddr>().map_or_else(|_| text.to_string(), |ip| ip.to_string())
}

/// nDPI's L4 column as an IP protocol number.
pub(crate) fn l4_number(l4: &str) -> Option<u8> {
    Some(match l4 {
        "TCP" => 6,
        "UDP" => 17,
        "ICMP" => 1,
        "ICMPV6" => 58,
        "IGMP" => 2,
        "VRRP" => 112,
        "ESP" => 50,
        "SCTP" => 132,
        "OSPF" => 89,
        "PGM" => 113,
        "PIM" => 103,
        other => return other.parse().ok(),
    })
}

/// nDPI master protocol → flowsieve/Netify protocol ID (see the module docs).
pub(crate) fn ndpi_protocol(id: u64, name: &str) -> protocol::ProtocolId {
    match name {
        "DoH_DoT" => protocol::TLS,
        "DTLS" => protocol::DTLS,
        "IP_PIM" => protocol::IP_PIM,
        "Service_Location_Protocol" => protocol::SLP,
        "FTPS" => protocol::FTPS,
        "SD-RTN" => protocol::SD_RTN,
        "Munin" => protocol::MUNIN,
        "Xiaomi" => protocol::XIAOMI,
        "FastCGI" => protocol::FASTCGI,
        "ETHEREUM" => protocol::ETHEREUM,
        "Discord" => protocol::DISCORD,
        "OICQ" => protocol::OICQ,
        "Zabbix" => protocol::ZABBIX,
        "TocaBoca" => protocol::TOCABOCA,
        "Source_Engine" => protocol::SOURCE_ENGINE,
        "TuyaLP" => protocol::TUYA_LP,
        "BACnet" => protocol::BACNET,
        "DNP3" => protocol::DNP3,
        "Controller_Area_Network" => protocol::CAN,
        "RipeAtlas" => protocol::RIPE_ATLAS,
        "KCP" => protocol::KCP,
        "DCERPC" => protocol::DCERPC,
        "RMCP" => protocol::RMCP,
        "HSRP" => protocol::HSRP,
        "MongoDB" => protocol::MONGODB,
        "BITCOIN" => protocol::BITCOIN,
        "Kafka" => protocol::KAFKA,
        "NAT-PMP" => protocol::NAT_PMP,
        "Elasticsearch" => protocol::ELASTICSEARCH,
        "Syncthing" => protocol::SYNCTHING,
        "JRMI" => protocol::JRMI,
        "HiSLIP" => protocol::HISLIP,
        "Monero" => protocol::MONERO,
        "Ceph" => protocol::CEPH,
        "Cassandra" => protocol::CASSANDRA,
        "LDP" => protocol::LDP,
        "BFD" => protocol::BFD,
        "EthernetIP" => protocol::ETHERNET_IP,
        "TiVoConnect" => protocol::TIVO_CONNECT,
        "HART-IP" => protocol::HART_IP,
        "PTPv2" => protocol::PTPV2,
        "UFTP" => protocol::UFTP,
        "TRDP" => protocol::TRDP,
        "DNScrypt" => protocol::DNSCRYPT,
        "RakNet" => protocol::RAKNET,
        "CAPWAP" => protocol::CAPWAP,
        "KNXnet_IP" => protocol::KNXNET_IP,
        "RTPS" => protocol::RTPS,
        "OPC-UA" => protocol::OPC_UA,
        "STOMP" => protocol::STOMP,
        "Gearman" => protocol::GEARMAN,
        "HL7" => protocol::HL7,
        "Nats" => protocol::NATS,
        "OpenFlow" => protocol::OPENFLOW,
        "Z3950" => protocol::Z39_50,
        "S7Comm" => protocol::S7COMM,
        "SOAP" => protocol::SOAP,
        "MpegDash" => protocol::MPEG_DASH,
        "HLS" => protocol::HLS,
        "OCSP" => protocol::OCSP,
        "Mumble" => protocol::MUMBLE,
        "S7CommPlus" => protocol::S7COMM_PLUS,
        "ISO9506-1-MMS" => protocol::MMS,
        "CIP" => protocol::CIP,
        "IEC62056" => protocol::IEC62056,
        "ANSI_C1222" => protocol::ANSI_C1222,
        "ATG" => protocol::ATG,
        "BeckhoffADS" => protocol::BECKHOFF_ADS,
        "OpenWire" => protocol::OPENWIRE,
        "PFCP" => protocol::PFCP,
        "FLUTE" => protocol::FLUTE,
        "RSH" => protocol::RSH,
        "TargusDataspeed" => protocol::TARGUS_DATASPEED,
        "AmongUs" => protocol::AMONG_US,
        "CPHA" => protocol::CHECKPOINT_HA,
        "MerakiCloud" => protocol::MERAKI_CLOUD,
        "Nintendo" => protocol::NINTENDO,
        "Threema" => protocol::THREEMA,
        "GenshinImpact" => protocol::GENSHIN_IMPACT,
        "Zoom" => protocol::ZOOM,
        "Citrix" => protocol::CITRIX,
        "NoMachine" => protocol::NOMACHINE,
        "Radmin" => protocol::RADMIN,
        "Roughtime" => protocol::ROUGHTIME,
        "LotusNotes" => protocol::LOTUS_NOTES,
        "VMware" => protocol::VMWARE,
        "CiscoVPN" => protocol::CISCO_VPN,
        "TPLINK_SHP" => protocol::TPLINK_SHP,
        "GTP" => protocol::GTP,
        "iSCSI" => protocol::ISCSI,
        "FTP_DATA" => protocol::FTP_DATA,
        "PGM" => protocol::PGM,
        "WorldOfWarcraft" => protocol::WOW,
        "PPTP" => protocol::PPTP,
        "MPEG_TS" => protocol::MPEG_TS,
        "Megaco" => protocol::MEGACO,
        "HAProxy" => protocol::HAPROXY,
        "HTTP2" => protocol::HTTP2,
        "NetFlow" => protocol::NETFLOW,
        "sFlow" => protocol::SFLOW,
        "AVAST" => protocol::AVAST,
        "WebSocket" => protocol::WEBSOCKET,
        "Tailscale" => protocol::TAILSCALE,
        "EpicGames" => protocol::EPIC_GAMES,
        "Activision" => protocol::ACTIVISION,
        "TencentGames" => protocol::TENCENT_GAMES,
        "GaijinEntertainment" => protocol::GAIJIN,
        "NetEaseGames" => protocol::NETEASE_GAMES,
        "Heroes_of_the_Storm" => protocol::HOTS,
        "CoD_Mobile" => protocol::COD_MOBILE,
        "TES_Online" => protocol::TES_ONLINE,
        "SteamDatagramRelay" => protocol::STEAM_DATAGRAM_RELAY,
        "PathofExile" => protocol::PATH_OF_EXILE,
        "Sonos" => protocol::SONOS,
        "HP_VIRTGRP" => protocol::HP_VIRTGRP,
        "RiotGames" => protocol::RIOT_GAMES,
        "CryNetwork" => protocol::CRYNETWORK,
        "Protobuf" => protocol::PROTOBUF,
        "Softether" => protocol::SOFTETHER,
        "Raft" => protocol::RAFT,
        "ZUG" => protocol::ZUG,
        "BFCP" => protocol::BFCP,
        "EtherSIO" => protocol::ETHERSIO,
        "Ether-S-Bus" => protocol::ETHER_S_BUS,
        "CNP-IP" => protocol::CNP_IP,
        "Nano" => protocol::NANO,
        "AliCloud" => protocol::ALIBABA_CLOUD,
        "NestLogSink" => protocol::NEST_LOG,
        "WorldOfKungFu" => protocol::WOKUNGFU,
        "IEC60870" => protocol::IEC60870_5_104,
        "ZeroMQ" => protocol::ZMQ,
        // Netify's protocol of the same name (`collectd` is `Collectd` (171), `SRTP` is `SRTP`
        // (321)), else Netify's of nDPI's number: the two tables share their first IDs only.
        _ => {
            let key = name_key(name);
            protocol::PROTOCOLS
                .iter()
                .find(|p| name_key(p.name) == key)
                .map_or(protocol::ProtocolId(u16::try_from(id).unwrap_or(u16::MAX)), |p| p.id)
        }
    }
}

/// Display name of an nDPI-side protocol ID: ours when we name it, else nDPI's.
pub(crate) fn tls_version_name(v: u64) -> Option<&'static str> {
    Some(match v {
        0x0300 => "SSLv3",
        0x0301 => "TLSv1",
        0x0302 => "TLSv1.1",
        0x0303 => "TLSv1.2",
        0x0304 => "TLSv1.3",
        0xfeff => "DTLSv1.0",
        0x0100 => "TLS (0100)",
        0xfefd => "DTLSv1.2",
        0xfefc => "DTLSv1.3",
        _ => return None,
    })
}
