//! The command line: clap's definitions of every command and option, and the logging they set
//! up. `main.rs` runs the commands.

use super::*;

pub(crate) const DEFAULT_CONFIG: &str = "/etc/netifyd/netify-proc-flow-actions.json";

/// `--version`: the package version and the git commit it was built from (build.rs).
pub(crate) const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (git ", env!("FLOWSIEVE_GIT_COMMIT"), ")");

/// Deep-packet inspection that turns Netify flow actions into nftables sets and log files.
#[derive(Parser)]
#[command(name = "flowsieve", version = VERSION, about, long_about = None)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) log: LogArgs,
    #[command(flatten)]
    pub(crate) signatures: SignatureArgs,
    /// Print the application signatures (ID, tag, category) and exit, as netifyd does.
    #[arg(long)]
    pub(crate) dump_apps: bool,
    /// Print the protocols (Netify ID, name, category) and exit.
    #[arg(long)]
    pub(crate) dump_protos: bool,
    /// Print the application or protocol categories and exit.
    #[arg(long, value_name = "application|protocol")]
    pub(crate) dump_category: Option<String>,
    #[command(subcommand)]
    pub(crate) command: Option<Command>,
}

/// Log verbosity and format, for the commands that log.
#[derive(Args, Clone, Copy, Default)]
pub(crate) struct LogArgs {
    /// More log output: -v debug, -vv trace (default: info). RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,
    /// Log line format on stderr: text (coloured only on a terminal) or json (one object per
    /// line, for journald or log shippers).
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub(crate) log_format: Option<LogFormat>,
}

impl LogArgs {
    /// The options given after the subcommand, falling back to those given before it.
    pub(crate) fn or(self, outer: LogArgs) -> LogArgs {
        LogArgs { verbose: self.verbose.max(outer.verbose), log_format: self.log_format.or(outer.log_format) }
    }

    /// Install the global log subscriber on stderr.
    pub(crate) fn init(self) {
        let default_level = match self.verbose {
            0 => "info",
            1 => "debug",
            _ => "trace",
        };
        let filter = tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
        let json = matches!(self.log_format, Some(LogFormat::Json));
        // journald and files get plain text: escape sequences only for a terminal.
        let ansi = !json && std::io::stderr().is_terminal();
        let builder = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(move || LogWriter { json, ansi })
            .with_ansi(ansi);
        if json {
            builder.json().init();
        } else {
            builder.init();
        }
    }
}

/// The log's stderr. The subscriber hands over each event as one formatted line; every
/// terminal control character in it (names and values from configurations, interfaces and
/// packets) is escaped but the ending newline and, on a terminal, the ESC of the subscriber's own
/// colours (the subscriber escapes ESC in field values itself). JSON lines get `\uXXXX`, which
/// JSON readers turn back into the character.
pub(crate) struct LogWriter {
    pub(crate) json: bool,
    pub(crate) ansi: bool,
}

impl LogWriter {
    /// One formatted event as it is written.
    pub(crate) fn line(&self, buf: &[u8]) -> String {
        let text = String::from_utf8_lossy(buf);
        let (body, end) = text.strip_suffix('\n').map_or((&*text, ""), |body| (body, "\n"));
        let mut out = String::with_capacity(buf.len() + 1);
        for c in body.chars() {
            if self.ansi && c == '\x1b' {
                out.push(c);
            } else if self.json && input::is_unsafe(c) {
                out.push_str(&format!("\\u{:04x}", c as u32));
            } else {
                input::push_escaped(&mut out, c);
            }
        }
        out.push_str(end);
        out
    }
}

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        std::io::stderr().write_all(self.line(buf).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// A path as messages show it: terminal control characters escaped.
pub(crate) fn shown(path: &std::path::Path) -> String {
    input::escape(&path.display().to_string()).into_owned()
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub(crate) enum LogFormat {
    Text,
    Json,
}

/// Where application signatures come from (default: flowsieve's built-in set).
#[derive(Args, Clone, Default)]
pub(crate) struct SignatureArgs {
    /// Netify netify-apps.conf to use instead of the built-in signatures.
    #[arg(long, value_name = "FILE")]
    pub(crate) apps: Option<PathBuf>,
    /// Netify netify-categories.json to use instead of the built-in categories.
    #[arg(long, value_name = "FILE")]
    pub(crate) categories: Option<PathBuf>,
    /// Directory of custom domain lists (<priority>-<category>.txt), as Netify's domains.d.
    #[arg(long, value_name = "DIR")]
    pub(crate) domains_dir: Option<PathBuf>,
}

impl SignatureArgs {
    /// The files given after the subcommand, falling back to those given before it.
    pub(crate) fn or(self, outer: &SignatureArgs) -> SignatureArgs {
        SignatureArgs {
            apps: self.apps.or_else(|| outer.apps.clone()),
            categories: self.categories.or_else(|| outer.categories.clone()),
            domains_dir: self.domains_dir.or_else(|| outer.domains_dir.clone()),
        }
    }

    /// Load the classifier: built-in data unless files are given; bad lines are warnings.
    pub(crate) fn load(&self) -> anyhow::Result<Arc<Classifier>> {
        let paths = ClassifierPaths {
            apps: self.apps.clone(),
            categories: self.categories.clone(),
            domains_dir: self.domains_dir.clone(),
        };
        let (classifier, problems) = Classifier::load(&paths)?;
        for p in problems {
            eprintln!("warning: {}", Escaped(&p.to_string()));
        }
        Ok(Arc::new(classifier))
    }
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Capture live on interfaces and apply the configured flow actions (foreground; SIGHUP
    /// reloads the configuration, SIGINT/SIGTERM stop). Without -I/-E/--nfqueue the interfaces
    /// come from netifyd's configuration (--netifyd-conf).
    #[command(
        override_usage = "flowsieve run [OPTIONS] <-I <IFACE> | -E <IFACE> | --nfqueue <lan|wan=FIRST[:COUNT]>>...\n       \
                                flowsieve run [OPTIONS] [--netifyd-conf <FILE>]   (capture-interface-* sections)"
    )]
    Run(RunArgs),
    /// Run capture files through the same pipeline and print each flow and what its actions do.
    Replay(ReplayArgs),
    /// Validate a configuration: print every problem with its JSON path; exit 1 on errors.
    Check(ConfigArg),
    /// Show a running agent's counters: per worker, per target, reloads.
    Status(StatusArgs),
    /// Say which application and categories a host name or address maps to, and why.
    Lookup {
        #[command(flatten)]
        signatures: SignatureArgs,
        /// A host name (www.youtube.com) or an IP address.
        #[arg(value_name = "HOST-OR-IP")]
        query: String,
    },
    /// Replay captures and show, for each flow, each action's result and the value of every
    /// comparison that decided it (against the flow's final facts).
    Explain(ExplainArgs),
    /// Write the man pages (into a directory) or shell completions (to stdout), for packaging.
    #[command(hide = true)]
    Generate {
        #[command(subcommand)]
        what: Generate,
    },
}

#[derive(Subcommand)]
pub(crate) enum Generate {
    /// The man pages flowsieve.8 and flowsieve-<command>.8 (roff), written into DIR.
    Man { dir: PathBuf },
    /// Completions for a shell.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Args)]
pub(crate) struct ExplainArgs {
    #[command(flatten)]
    pub(crate) job: JobArgs,
    #[command(flatten)]
    pub(crate) table: FlowTableArgs,
    /// Only flows that matched at least one action.
    #[arg(long)]
    pub(crate) matched: bool,
    /// pcap or pcapng files, replayed in order.
    #[arg(required = true, value_name = "CAPTURE")]
    pub(crate) captures: Vec<String>,
}

/// In a directory of its own, so a service can run as a user that may create files only there
/// (systemd's RuntimeDirectory=flowsieve).
pub(crate) const DEFAULT_CONTROL_SOCKET: &str = "/run/flowsieve/flowsieve.sock";

#[derive(Args)]
pub(crate) struct StatusArgs {
    /// The agent's control socket.
    #[arg(long, default_value = DEFAULT_CONTROL_SOCKET)]
    pub(crate) control_socket: PathBuf,
    /// Print the raw JSON document.
    #[arg(long)]
    pub(crate) json: bool,
}

/// What every command that runs flows through a configuration takes: `run`, `replay`, `explain`.
#[derive(Args)]
pub(crate) struct JobArgs {
    #[command(flatten)]
    pub(crate) config: ConfigArg,
    #[command(flatten)]
    pub(crate) signatures: SignatureArgs,
    #[command(flatten)]
    pub(crate) log: LogArgs,
}

#[derive(Args)]
pub(crate) struct ConfigArg {
    /// Netify flow-actions configuration (netify-proc-flow-actions.json).
    #[arg(short, long, default_value = DEFAULT_CONFIG)]
    pub(crate) config: PathBuf,
    /// Netify address groups for `@name` in criteria (default: /etc/netifyd/address-groups.json
    /// when it exists).
    #[arg(long, value_name = "FILE")]
    pub(crate) address_groups: Option<PathBuf>,
}

pub(crate) const DEFAULT_ADDRESS_GROUPS: &str = "/etc/netifyd/address-groups.json";

impl ConfigArg {
    /// The groups file to read: the one given, or Netify's default path if present.
    pub(crate) fn groups(&self) -> Option<PathBuf> {
        self.address_groups.clone().or_else(|| {
            let default = PathBuf::from(DEFAULT_ADDRESS_GROUPS);
            default.exists().then_some(default)
        })
    }
}

#[derive(Args)]
pub(crate) struct FlowTableArgs {
    /// Extra local network (address or CIDR), as netifyd's -A; repeatable.
    #[arg(short = 'A', long = "local-net", value_name = "CIDR")]
    pub(crate) local_nets: Vec<IpNet>,
    /// Largest number of flows tracked at once by the whole agent (shared out among the
    /// workers; about 500 bytes each). A full table evicts flows not established yet, then
    /// flows still in detection, then the oldest.
    #[arg(long, default_value_t = 262_144)]
    pub(crate) max_flows: usize,
    /// Seconds a TCP flow without a completed handshake (a SYN, maybe answered) is kept idle.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub(crate) unestablished_timeout: u64,
    /// Packets with payload after which detection gives up (Netify's max_detection_pkts).
    #[arg(long, default_value_t = 32)]
    pub(crate) max_detection_pkts: u16,
}

#[derive(Args)]
pub(crate) struct RunArgs {
    #[command(flatten)]
    pub(crate) job: JobArgs,
    /// Internal (LAN) interface to capture on; repeatable.
    #[arg(short = 'I', long = "internal", value_name = "IFACE")]
    pub(crate) internal: Vec<String>,
    /// External (WAN) interface to capture on; repeatable.
    #[arg(short = 'E', long = "external", value_name = "IFACE")]
    pub(crate) external: Vec<String>,
    /// Without -I/-E: take the interfaces from netifyd's configuration, this file and the
    /// interfaces.d directory it names (capture-interface-* sections: role, filter, address).
    #[arg(long, value_name = "FILE", default_value = flowsieve::netifyd::DEFAULT_CONF)]
    pub(crate) netifyd_conf: PathBuf,
    /// BPF filter (tcpdump syntax) for every capture: attached to the AF_PACKET sockets (run by
    /// the kernel) or set through libpcap with --capture pcap.
    #[arg(long)]
    pub(crate) filter: Option<String>,
    /// Capture method: AF_PACKET rings with hash fanout, or libpcap.
    #[arg(long, value_enum, default_value_t = CaptureArg::Afpacket)]
    pub(crate) capture: CaptureArg,
    /// Workers per interface with AF_PACKET (default: available cores). Each worker has its own
    /// ring socket, thread and flow-table shard; the kernel keeps each flow on one worker.
    #[arg(long)]
    pub(crate) workers: Option<usize>,
    /// AF_PACKET ring layout: v2 hands each packet over as soon as it is written (lowest
    /// latency from packet to firewall state); v3 hands over blocks of packets, full or after
    /// --ring-timeout (fewer wake-ups at high rates, whole packets however long).
    #[arg(long, value_enum, default_value_t = RingArg::V2)]
    pub(crate) ring: RingArg,
    /// With --ring v3: block retire timeout in milliseconds, the longest a packet waits in a
    /// half-empty ring block before the worker sees it (the kernel rounds it up to a jiffy).
    #[arg(long, value_name = "MS", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub(crate) ring_timeout: u32,
    /// Keep running when a target cannot be set up (a set the kernel refuses, an unwritable log
    /// directory), enforcing with the others; without it `run` exits non-zero naming it.
    #[arg(long)]
    pub(crate) degraded_ok: bool,
    /// AF_PACKET data ring per worker, in MiB (1–1024). The whole ring is resident memory. Each
    /// worker also has a ring for bare TCP SYNs, a quarter of this size (1–8 MiB), so that a
    /// SYN flood overruns only that one.
    /// Default by the interface's link speed: up to 100 Mb/s 1, virtual devices (bridge, VLAN,
    /// PPP, veth) and unknown speeds 2, 1 Gb/s 4, 10 Gb/s 16, faster 32.
    #[arg(long, value_name = "MIB", value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub(crate) ring_size: Option<u32>,
    /// Where `flowsieve status` reaches the agent ("none" serves no status).
    #[arg(long, default_value = DEFAULT_CONTROL_SOCKET)]
    pub(crate) control_socket: PathBuf,
    /// Group (name or number) given to the control socket, whose mode is 0660: its members may
    /// run `flowsieve status` (default: the agent's own group).
    #[arg(long, value_name = "GROUP", value_parser = group_id)]
    pub(crate) control_socket_group: Option<u32>,
    /// Serve Prometheus metrics at http://ADDR:PORT/metrics (e.g. 127.0.0.1:9464); off by default.
    #[arg(long, value_name = "ADDR:PORT")]
    pub(crate) metrics_listen: Option<std::net::SocketAddr>,
    #[command(flatten)]
    pub(crate) table: FlowTableArgs,
    #[command(flatten)]
    pub(crate) nfqueue: NfqueueArgs,
}

#[derive(Args)]
pub(crate) struct NfqueueArgs {
    /// Read packets the firewall queues to NFQUEUE numbers FIRST … FIRST+COUNT-1 (COUNT 1 by
    /// default) under role lan or wan, one worker per queue (as NethSecurity's
    /// `capture_type = nfqueue`, e.g. `lan=50:4`); repeatable; needs no -I/-E.
    #[arg(long = "nfqueue", value_name = "ROLE=FIRST[:COUNT]")]
    pub(crate) queues: Vec<flowsieve::agent::nfqueue::QueueSpec>,
    /// tap: accept every queued packet at once (as netifyd); inline: give a packet its verdict
    /// only after the worker processed it and, when it made an action match, after the
    /// action's kernel state is in place (bounded by --nfqueue-hold-timeout).
    #[arg(long = "nfqueue-mode", value_enum, default_value_t = QueueModeArg::Tap)]
    pub(crate) mode: QueueModeArg,
    /// Inline: longest time a packet waits for the enforcer before it is released anyway
    /// (counted as a fail-open release), in milliseconds.
    #[arg(long = "nfqueue-hold-timeout", value_name = "MS", default_value_t = 100,
          value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub(crate) hold_timeout: u64,
    /// Bytes of each queued packet copied to flowsieve (what dissection sees).
    #[arg(long = "nfqueue-copy-range", value_name = "BYTES", default_value_t = 4096,
          value_parser = clap::value_parser!(u32).range(64..=65_535))]
    pub(crate) copy_range: u32,
    /// Packets each queue keeps waiting for verdicts before the kernel lets more pass
    /// unseen (fail-open).
    #[arg(long = "nfqueue-max-len", value_name = "PACKETS", default_value_t = 4096,
          value_parser = clap::value_parser!(u32).range(1..=1_048_576))]
    pub(crate) max_len: u32,
    /// Inline: once a flow's detection is complete, set this conntrack mark (MARK or MARK/MASK,
    /// decimal or 0x hex) in the verdict, so a rule before the queue (`ct mark and MASK ==
    /// MARK accept`) lets the rest of the connection bypass flowsieve.
    #[arg(long = "nfqueue-bypass-mark", value_name = "MARK[/MASK]", value_parser = parse_mark)]
    pub(crate) bypass_mark: Option<(u32, u32)>,
}

pub(crate) fn parse_mark(s: &str) -> Result<(u32, u32), String> {
    let number = |t: &str| {
        let t = t.trim();
        match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
            Some(hex) => u32::from_str_radix(hex, 16),
            None => t.parse(),
        }
        .map_err(|_| format!("'{s}': expected MARK or MARK/MASK (decimal or 0x hex)"))
    };
    let (mark, mask) = match s.split_once('/') {
        Some((m, k)) => (number(m)?, number(k)?),
        None => (number(s)?, u32::MAX),
    };
    if mark == 0 || mark & !mask != 0 {
        return Err(format!("'{s}': the mark must be non-zero and inside its mask"));
    }
    Ok((mark, mask))
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub(crate) enum QueueModeArg {
    Tap,
    Inline,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub(crate) enum CaptureArg {
    Afpacket,
    Pcap,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub(crate) enum RingArg {
    V2,
    V3,
}

/// `replay --json --format`.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum JsonFormat {
    /// flowsieve's flow record (README, "replay --json flow record").
    Flowsieve,
    /// Netify's v5 flow telemetry record (docs/FLOW-ACTIONS.md, "Netify records").
    Netify,
}

#[derive(Args)]
pub(crate) struct ReplayArgs {
    #[command(flatten)]
    pub(crate) job: JobArgs,
    /// Perform the target operations for real (nftables, log files). Default: only print them.
    #[arg(long)]
    pub(crate) apply: bool,
    /// Print one JSON object per flow instead of text (the summary goes to stderr).
    #[arg(long)]
    pub(crate) json: bool,
    /// The JSON record of --json: flowsieve's own, or Netify's v5 flow telemetry record.
    #[arg(long, value_enum, default_value = "flowsieve", requires = "json", value_name = "FORMAT")]
    pub(crate) format: JsonFormat,
    /// Replay the captures N times; each round after the first puts its packets on VLAN
    /// <round>, so every round is new flows (for benchmarks).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=4094))]
    pub(crate) repeat: u16,
    /// Stop after L2–L4 decoding and the flow lookup: measure the baseline the full pipeline
    /// is compared with. No dissection, no actions.
    #[arg(long)]
    pub(crate) decode_only: bool,
    /// Print no per-flow output, only the summary (for benchmarks).
    #[arg(short, long)]
    pub(crate) quiet: bool,
    /// Worker threads (default 1). Each flow is handled by the worker its symmetric flow hash
    /// picks; every worker reads the same shared, parsed captures and skips other workers'
    /// packets. Each file's flows are printed when the file is done, ordered by first packet
    /// time. Same flows and matches as with one worker.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub(crate) workers: u16,
    /// BPF filter (tcpdump syntax): only frames it accepts are replayed.
    #[arg(long, value_name = "BPF")]
    pub(crate) filter: Option<String>,
    #[command(flatten)]
    pub(crate) table: FlowTableArgs,
    /// pcap or pcapng files, replayed in order.
    #[arg(required = true, value_name = "CAPTURE")]
    pub(crate) captures: Vec<String>,
}
