//! The `flowsieve` command line: parse arguments, call the library, report to the user.

use std::io::{IsTerminal, Write};
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand};

use flowsieve::actions::config::{self, Severity};
use flowsieve::agent::{self, CaptureInterface, CaptureMethod, ReplayOptions, RunOptions};
use flowsieve::classify::categories::CategoryKind;
use flowsieve::classify::{self, Classifier, ClassifierPaths};
use flowsieve::enforce::EnforceMode;
use flowsieve::facts::net::IpNet;
use flowsieve::facts::protocol;
use flowsieve::facts::FlowFacts;
use flowsieve::flow::locality::Locality;
use flowsieve::flow::table::{Flow, TableConfig};
use flowsieve::input::{self, Escaped};
use flowsieve::output::netify;
use flowsieve::output::record::flow_record;

const DEFAULT_CONFIG: &str = "/etc/netifyd/netify-proc-flow-actions.json";

/// `--version`: the package version and the git commit it was built from (build.rs).
const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (git ", env!("FLOWSIEVE_GIT_COMMIT"), ")");

/// Deep-packet inspection that turns Netify flow actions into nftables sets and log files.
#[derive(Parser)]
#[command(name = "flowsieve", version = VERSION, about, long_about = None)]
struct Cli {
    #[command(flatten)]
    log: LogArgs,
    #[command(flatten)]
    signatures: SignatureArgs,
    /// Print the application signatures (ID, tag, category) and exit, as netifyd does.
    #[arg(long)]
    dump_apps: bool,
    /// Print the protocols (Netify ID, name, category) and exit.
    #[arg(long)]
    dump_protos: bool,
    /// Print the application or protocol categories and exit.
    #[arg(long, value_name = "application|protocol")]
    dump_category: Option<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

/// Log verbosity and format, for the commands that log.
#[derive(Args, Clone, Copy, Default)]
struct LogArgs {
    /// More log output: -v debug, -vv trace (default: info). RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Log line format on stderr: text (coloured only on a terminal) or json (one object per
    /// line, for journald or log shippers).
    #[arg(long, value_enum, value_name = "FORMAT")]
    log_format: Option<LogFormat>,
}

impl LogArgs {
    /// The options given after the subcommand, falling back to those given before it.
    fn or(self, outer: LogArgs) -> LogArgs {
        LogArgs { verbose: self.verbose.max(outer.verbose), log_format: self.log_format.or(outer.log_format) }
    }

    /// Install the global log subscriber on stderr.
    fn init(self) {
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
struct LogWriter {
    json: bool,
    ansi: bool,
}

impl LogWriter {
    /// One formatted event as it is written.
    fn line(&self, buf: &[u8]) -> String {
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
fn shown(path: &std::path::Path) -> String {
    input::escape(&path.display().to_string()).into_owned()
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

/// Where application signatures come from (default: flowsieve's built-in set).
#[derive(Args, Clone, Default)]
struct SignatureArgs {
    /// Netify netify-apps.conf to use instead of the built-in signatures.
    #[arg(long, value_name = "FILE")]
    apps: Option<PathBuf>,
    /// Netify netify-categories.json to use instead of the built-in categories.
    #[arg(long, value_name = "FILE")]
    categories: Option<PathBuf>,
    /// Directory of custom domain lists (<priority>-<category>.txt), as Netify's domains.d.
    #[arg(long, value_name = "DIR")]
    domains_dir: Option<PathBuf>,
}

impl SignatureArgs {
    /// The files given after the subcommand, falling back to those given before it.
    fn or(self, outer: &SignatureArgs) -> SignatureArgs {
        SignatureArgs {
            apps: self.apps.or_else(|| outer.apps.clone()),
            categories: self.categories.or_else(|| outer.categories.clone()),
            domains_dir: self.domains_dir.or_else(|| outer.domains_dir.clone()),
        }
    }

    /// Load the classifier: built-in data unless files are given; bad lines are warnings.
    fn load(&self) -> anyhow::Result<Arc<Classifier>> {
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
enum Command {
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
enum Generate {
    /// The man pages flowsieve.8 and flowsieve-<command>.8 (roff), written into DIR.
    Man { dir: PathBuf },
    /// Completions for a shell.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Args)]
struct ExplainArgs {
    #[command(flatten)]
    job: JobArgs,
    #[command(flatten)]
    table: FlowTableArgs,
    /// Only flows that matched at least one action.
    #[arg(long)]
    matched: bool,
    /// pcap or pcapng files, replayed in order.
    #[arg(required = true, value_name = "CAPTURE")]
    captures: Vec<String>,
}

/// In a directory of its own, so a service can run as a user that may create files only there
/// (systemd's RuntimeDirectory=flowsieve).
const DEFAULT_CONTROL_SOCKET: &str = "/run/flowsieve/flowsieve.sock";

#[derive(Args)]
struct StatusArgs {
    /// The agent's control socket.
    #[arg(long, default_value = DEFAULT_CONTROL_SOCKET)]
    control_socket: PathBuf,
    /// Print the raw JSON document.
    #[arg(long)]
    json: bool,
}

/// What every command that runs flows through a configuration takes: `run`, `replay`, `explain`.
#[derive(Args)]
struct JobArgs {
    #[command(flatten)]
    config: ConfigArg,
    #[command(flatten)]
    signatures: SignatureArgs,
    #[command(flatten)]
    log: LogArgs,
}

#[derive(Args)]
struct ConfigArg {
    /// Netify flow-actions configuration (netify-proc-flow-actions.json).
    #[arg(short, long, default_value = DEFAULT_CONFIG)]
    config: PathBuf,
    /// Netify address groups for `@name` in criteria (default: /etc/netifyd/address-groups.json
    /// when it exists).
    #[arg(long, value_name = "FILE")]
    address_groups: Option<PathBuf>,
}

const DEFAULT_ADDRESS_GROUPS: &str = "/etc/netifyd/address-groups.json";

impl ConfigArg {
    /// The groups file to read: the one given, or Netify's default path if present.
    fn groups(&self) -> Option<PathBuf> {
        self.address_groups.clone().or_else(|| {
            let default = PathBuf::from(DEFAULT_ADDRESS_GROUPS);
            default.exists().then_some(default)
        })
    }
}

#[derive(Args)]
struct FlowTableArgs {
    /// Extra local network (address or CIDR), as netifyd's -A; repeatable.
    #[arg(short = 'A', long = "local-net", value_name = "CIDR")]
    local_nets: Vec<IpNet>,
    /// Largest number of flows tracked at once by the whole agent (shared out among the
    /// workers; about 500 bytes each). A full table evicts flows not established yet, then
    /// flows still in detection, then the oldest.
    #[arg(long, default_value_t = 262_144)]
    max_flows: usize,
    /// Seconds a TCP flow without a completed handshake (a SYN, maybe answered) is kept idle.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    unestablished_timeout: u64,
    /// Packets with payload after which detection gives up (Netify's max_detection_pkts).
    #[arg(long, default_value_t = 32)]
    max_detection_pkts: u16,
}

#[derive(Args)]
struct RunArgs {
    #[command(flatten)]
    job: JobArgs,
    /// Internal (LAN) interface to capture on; repeatable.
    #[arg(short = 'I', long = "internal", value_name = "IFACE")]
    internal: Vec<String>,
    /// External (WAN) interface to capture on; repeatable.
    #[arg(short = 'E', long = "external", value_name = "IFACE")]
    external: Vec<String>,
    /// Without -I/-E: take the interfaces from netifyd's configuration, this file and the
    /// interfaces.d directory it names (capture-interface-* sections: role, filter, address).
    #[arg(long, value_name = "FILE", default_value = flowsieve::netifyd::DEFAULT_CONF)]
    netifyd_conf: PathBuf,
    /// BPF filter (tcpdump syntax) for every capture: attached to the AF_PACKET sockets (run by
    /// the kernel) or set through libpcap with --capture pcap.
    #[arg(long)]
    filter: Option<String>,
    /// Capture method: AF_PACKET rings with hash fanout, or libpcap.
    #[arg(long, value_enum, default_value_t = CaptureArg::Afpacket)]
    capture: CaptureArg,
    /// Workers per interface with AF_PACKET (default: available cores). Each worker has its own
    /// ring socket, thread and flow-table shard; the kernel keeps each flow on one worker.
    #[arg(long)]
    workers: Option<usize>,
    /// AF_PACKET ring layout: v2 hands each packet over as soon as it is written (lowest
    /// latency from packet to firewall state); v3 hands over blocks of packets, full or after
    /// --ring-timeout (fewer wake-ups at high rates, whole packets however long).
    #[arg(long, value_enum, default_value_t = RingArg::V2)]
    ring: RingArg,
    /// With --ring v3: block retire timeout in milliseconds, the longest a packet waits in a
    /// half-empty ring block before the worker sees it (the kernel rounds it up to a jiffy).
    #[arg(long, value_name = "MS", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    ring_timeout: u32,
    /// Keep running when a target cannot be set up (a set the kernel refuses, an unwritable log
    /// directory), enforcing with the others; without it `run` exits non-zero naming it.
    #[arg(long)]
    degraded_ok: bool,
    /// AF_PACKET ring per worker socket, in MiB (1–1024). The whole ring is resident memory.
    /// Default by the interface's link speed: up to 100 Mb/s 1, virtual devices (bridge, VLAN,
    /// PPP, veth) and unknown speeds 2, 1 Gb/s 4, 10 Gb/s 16, faster 32.
    #[arg(long, value_name = "MIB", value_parser = clap::value_parser!(u32).range(1..=1024))]
    ring_size: Option<u32>,
    /// Where `flowsieve status` reaches the agent ("none" serves no status).
    #[arg(long, default_value = DEFAULT_CONTROL_SOCKET)]
    control_socket: PathBuf,
    /// Group (name or number) given to the control socket, whose mode is 0660: its members may
    /// run `flowsieve status` (default: the agent's own group).
    #[arg(long, value_name = "GROUP", value_parser = group_id)]
    control_socket_group: Option<u32>,
    /// Serve Prometheus metrics at http://ADDR:PORT/metrics (e.g. 127.0.0.1:9464); off by default.
    #[arg(long, value_name = "ADDR:PORT")]
    metrics_listen: Option<std::net::SocketAddr>,
    #[command(flatten)]
    table: FlowTableArgs,
    #[command(flatten)]
    nfqueue: NfqueueArgs,
}

#[derive(Args)]
struct NfqueueArgs {
    /// Read packets the firewall queues to NFQUEUE numbers FIRST … FIRST+COUNT-1 (COUNT 1 by
    /// default) under role lan or wan, one worker per queue (as NethSecurity's
    /// `capture_type = nfqueue`, e.g. `lan=50:4`); repeatable; needs no -I/-E.
    #[arg(long = "nfqueue", value_name = "ROLE=FIRST[:COUNT]")]
    queues: Vec<flowsieve::agent::nfqueue::QueueSpec>,
    /// tap: accept every queued packet at once (as netifyd); inline: give a packet its verdict
    /// only after the worker processed it and, when it made an action match, after the
    /// action's kernel state is in place (bounded by --nfqueue-hold-timeout).
    #[arg(long = "nfqueue-mode", value_enum, default_value_t = QueueModeArg::Tap)]
    mode: QueueModeArg,
    /// Inline: longest time a packet waits for the enforcer before it is released anyway
    /// (counted as a fail-open release), in milliseconds.
    #[arg(long = "nfqueue-hold-timeout", value_name = "MS", default_value_t = 100,
          value_parser = clap::value_parser!(u64).range(1..=10_000))]
    hold_timeout: u64,
    /// Bytes of each queued packet copied to flowsieve (what dissection sees).
    #[arg(long = "nfqueue-copy-range", value_name = "BYTES", default_value_t = 4096,
          value_parser = clap::value_parser!(u32).range(64..=65_535))]
    copy_range: u32,
    /// Packets each queue keeps waiting for verdicts before the kernel lets more pass
    /// unseen (fail-open).
    #[arg(long = "nfqueue-max-len", value_name = "PACKETS", default_value_t = 4096,
          value_parser = clap::value_parser!(u32).range(1..=1_048_576))]
    max_len: u32,
    /// Inline: once a flow's detection is complete, set this conntrack mark (MARK or MARK/MASK,
    /// decimal or 0x hex) in the verdict, so a rule before the queue (`ct mark and MASK ==
    /// MARK accept`) lets the rest of the connection bypass flowsieve.
    #[arg(long = "nfqueue-bypass-mark", value_name = "MARK[/MASK]", value_parser = parse_mark)]
    bypass_mark: Option<(u32, u32)>,
}

fn parse_mark(s: &str) -> Result<(u32, u32), String> {
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
enum QueueModeArg {
    Tap,
    Inline,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum CaptureArg {
    Afpacket,
    Pcap,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum RingArg {
    V2,
    V3,
}

/// `replay --json --format`.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum JsonFormat {
    /// flowsieve's flow record (README, "replay --json flow record").
    Flowsieve,
    /// Netify's v5 flow telemetry record (docs/FLOW-ACTIONS.md, "Netify records").
    Netify,
}

#[derive(Args)]
struct ReplayArgs {
    #[command(flatten)]
    job: JobArgs,
    /// Perform the target operations for real (nftables, log files). Default: only print them.
    #[arg(long)]
    apply: bool,
    /// Print one JSON object per flow instead of text (the summary goes to stderr).
    #[arg(long)]
    json: bool,
    /// The JSON record of --json: flowsieve's own, or Netify's v5 flow telemetry record.
    #[arg(long, value_enum, default_value = "flowsieve", requires = "json", value_name = "FORMAT")]
    format: JsonFormat,
    /// Replay the captures N times; each round after the first puts its packets on VLAN
    /// <round>, so every round is new flows (for benchmarks).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=4094))]
    repeat: u16,
    /// Stop after L2–L4 decoding and the flow lookup: measure the baseline the full pipeline
    /// is compared with. No dissection, no actions.
    #[arg(long)]
    decode_only: bool,
    /// Print no per-flow output, only the summary (for benchmarks).
    #[arg(short, long)]
    quiet: bool,
    /// Worker threads (default 1). Each flow is handled by the worker its symmetric flow hash
    /// picks; every worker reads the same shared, parsed captures and skips other workers'
    /// packets. Each file's flows are printed when the file is done, ordered by first packet
    /// time. Same flows and matches as with one worker.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=256))]
    workers: u16,
    /// BPF filter (tcpdump syntax): only frames it accepts are replayed.
    #[arg(long, value_name = "BPF")]
    filter: Option<String>,
    #[command(flatten)]
    table: FlowTableArgs,
    /// pcap or pcapng files, replayed in order.
    #[arg(required = true, value_name = "CAPTURE")]
    captures: Vec<String>,
}

/// `print!` that ends the program quietly when the reader went away (`flowsieve status | head
/// -1`): a closed pipe is not an error to panic over.
macro_rules! out {
    ($($arg:tt)*) => { write_stdout(format_args!($($arg)*), false) };
}

/// `println!`, as [`out!`].
macro_rules! outln {
    ($($arg:tt)*) => { write_stdout(format_args!($($arg)*), true) };
}

fn write_stdout(args: std::fmt::Arguments<'_>, newline: bool) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let result = stdout.write_fmt(args).and_then(|()| if newline { stdout.write_all(b"\n") } else { Ok(()) });
    if let Err(e) = result {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("flowsieve: writing output: {e}");
        std::process::exit(1);
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let log = match &cli.command {
        Some(Command::Run(a)) => a.job.log.or(cli.log),
        Some(Command::Replay(a)) => a.job.log.or(cli.log),
        Some(Command::Explain(a)) => a.job.log.or(cli.log),
        _ => cli.log,
    };
    log.init();
    let result = dispatch(cli);
    match result {
        Ok(code) => code,
        // The reader of the output went away (`| head -1`): not a failure of ours.
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("flowsieve: {}", Escaped(&format!("{e:#}")));
            ExitCode::FAILURE
        }
    }
}

fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    if cli.dump_apps || cli.dump_protos || cli.dump_category.is_some() {
        let classifier = cli.signatures.load()?;
        if cli.dump_apps {
            out!("{}", classify::dump_apps(&classifier));
        }
        if cli.dump_protos {
            out!("{}", classify::dump_protos(&classifier));
        }
        if let Some(kind) = &cli.dump_category {
            let kind: CategoryKind = kind
                .parse()
                .map_err(|_| anyhow::anyhow!("--dump-category takes 'application' or 'protocol', not '{kind}'"))?;
            out!("{}", classify::dump_category(&classifier, kind));
        }
        return Ok(ExitCode::SUCCESS);
    }
    let Some(command) = cli.command else {
        bail!("no command given: try `flowsieve --help`");
    };
    let outer = &cli.signatures;
    match command {
        Command::Run(mut args) => {
            let classifier = std::mem::take(&mut args.job.signatures).or(outer).load()?;
            run(args, classifier)
        }
        Command::Replay(mut args) => {
            let classifier = std::mem::take(&mut args.job.signatures).or(outer).load()?;
            replay(args, classifier)
        }
        Command::Check(args) => check(args, &*outer.load()?),
        Command::Status(args) => status(args),
        Command::Explain(mut args) => {
            let classifier = std::mem::take(&mut args.job.signatures).or(outer).load()?;
            explain(args, classifier)
        }
        Command::Lookup { signatures, query } => {
            for line in signatures.or(outer).load()?.explain_lookup(&query).lines() {
                outln!("{}", Escaped(line));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Generate { what } => generate(what),
    }
}

/// `flowsieve generate`: the man pages or a shell's completions, from the clap definitions.
fn generate(what: Generate) -> anyhow::Result<ExitCode> {
    use clap::CommandFactory;
    let mut command = Cli::command();
    let mut out = std::io::stdout().lock();
    match what {
        Generate::Man { dir } => {
            command.build();
            let mut pages = vec![command.clone()];
            pages.extend(command.get_subcommands().filter(|s| !s.is_hide_set() && s.get_name() != "help").cloned());
            for page in pages {
                // After build() a subcommand's display name is "flowsieve-<name>", the page
                // name the main page's SUBCOMMANDS section refers to.
                let name = page.get_display_name().unwrap_or(page.get_name()).to_string();
                let path = dir.join(format!("{name}.8"));
                let mut file = std::io::BufWriter::new(
                    std::fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?,
                );
                clap_mangen::Man::new(page).section("8").render(&mut file)?;
                file.flush().with_context(|| format!("writing {}", path.display()))?;
                writeln!(out, "{}", path.display())?;
            }
        }
        Generate::Completions { shell } => clap_complete::generate(shell, &mut command, "flowsieve", &mut out),
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn table_config(args: &FlowTableArgs) -> TableConfig {
    TableConfig {
        max_flows: args.max_flows,
        max_detection_packets: args.max_detection_pkts,
        unestablished_idle: std::time::Duration::from_secs(args.unestablished_timeout),
        ..TableConfig::default()
    }
}

/// Load a configuration, printing warnings; on errors print them all and fail.
fn load_config(args: &ConfigArg) -> anyhow::Result<config::FlowActionsConfig> {
    let path = shown(&args.config);
    match config::load_files(&args.config, args.groups().as_deref()) {
        Ok(c) => {
            for w in &c.warnings {
                eprintln!("{path}: {w}");
            }
            Ok(c)
        }
        Err(e) => {
            for p in &e.problems {
                eprintln!("{path}: {p}");
            }
            bail!("{e}")
        }
    }
}

fn check(args: ConfigArg, classifier: &Classifier) -> anyhow::Result<ExitCode> {
    let path = shown(&args.config);
    match config::load_files(&args.config, args.groups().as_deref()) {
        Ok(mut c) => {
            c.warnings.extend(unknown_applications(&c.actions, classifier));
            for w in &c.warnings {
                outln!("{path}: {w}");
            }
            outln!(
                "{path}: OK: {} action(s), {} target(s), {} warning(s)",
                c.actions.actions.len(),
                c.targets.len(),
                c.warnings.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            for p in &e.problems {
                outln!("{path}: {p}");
            }
            let errors = e.problems.iter().filter(|p| p.severity == Severity::Error).count();
            outln!("{path}: {errors} error(s)");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// `check`'s warnings for applications the criteria name that the loaded list lacks.
fn unknown_applications(actions: &flowsieve::actions::ActionSet, classifier: &Classifier) -> Vec<config::Problem> {
    let mut out = Vec::new();
    let mut add = |path: String, criteria: &flowsieve::criteria::Criteria| {
        for w in classifier.unknown_applications(criteria) {
            out.push(config::Problem {
                severity: Severity::Warning,
                path: format!("{path}, column {}", w.column),
                message: w.message,
                detail: Some(format!("{}\n{}^", criteria.source(), " ".repeat(w.column.saturating_sub(1)))),
            });
        }
    };
    let exemptions = |list: &[flowsieve::actions::Exemption]| -> Vec<(usize, flowsieve::criteria::Criteria)> {
        let expr = |(i, e): (usize, &flowsieve::actions::Exemption)| match e {
            flowsieve::actions::Exemption::Expression(c) => Some((i, c.clone())),
            flowsieve::actions::Exemption::Network(_) => None,
        };
        list.iter().enumerate().filter_map(expr).collect()
    };
    for action in &actions.actions {
        let many = action.criteria.len() > 1;
        for (i, criteria) in action.criteria.iter().enumerate() {
            let index = if many { format!("[{i}]") } else { String::new() };
            add(format!("$.actions.{}.criteria{index}", action.name), criteria);
        }
        for (i, criteria) in exemptions(&action.exemptions) {
            add(format!("$.actions.{}.exemptions[{i}]", action.name), &criteria);
        }
    }
    for (i, criteria) in exemptions(&actions.exemptions) {
        add(format!("$.exemptions[{i}]"), &criteria);
    }
    out
}

fn explain(args: ExplainArgs, classifier: Arc<Classifier>) -> anyhow::Result<ExitCode> {
    let config = load_config(&args.job.config)?;
    let options = ReplayOptions {
        mode: EnforceMode::DryRun,
        table: table_config(&args.table),
        locality: Arc::new(Locality::new(args.table.local_nets.clone(), Vec::new())),
        progress: false,
        repeat: 1,
        decode_only: false,
        classifier: Some(classifier),
        workers: 1,
        filter: None,
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut write_error = None;
    let summary = agent::replay(&config, &args.captures, &options, |_, flow| {
        if args.matched && flow.verdicts.actions.is_empty() {
            return;
        }
        let result = write_flow_text(&mut out, flow).and_then(|()| explain_flow(&mut out, &config.actions, flow));
        if let Err(e) = result {
            write_error.get_or_insert(e);
        }
    })?;
    if let Err(e) = out.flush() {
        write_error.get_or_insert(e);
    }
    match write_error {
        Some(e) if e.kind() != std::io::ErrorKind::BrokenPipe => return Err(e).context("writing output"),
        _ => {}
    }
    for (file, why) in &summary.truncated {
        eprintln!("{file}: stopped early: {why}");
    }
    Ok(if summary.unreadable > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// Why each action did or did not match `flow` (its final facts, at its last packet's time).
fn explain_flow(out: &mut impl Write, actions: &flowsieve::actions::ActionSet, flow: &Flow) -> std::io::Result<()> {
    let facts = &flow.facts;
    let at = agent::packet_time(flow.last_seen.as_duration());
    if let Some(e) = actions.exemptions.iter().find(|e| e.exempts(facts)) {
        writeln!(out, "  every action: exempt by the global exemption {}", exemption_text(e))?;
        return writeln!(out);
    }
    for action in &actions.actions {
        let matched = flow.verdicts.actions.contains(&action.name);
        writeln!(out, "  action {}: {}", Escaped(&action.name), if matched { "MATCHED" } else { "no match" })?;
        if !action.interface.matches(facts) {
            writeln!(out, "    interface {:?} does not cover {}", action.interface, facts.iface)?;
        }
        if let Some(e) = action.exemptions.iter().find(|e| e.exempts(facts)) {
            writeln!(out, "    exempt by {}", exemption_text(e))?;
        }
        if !action.schedule.active(at) {
            writeln!(out, "    outside its time_of_day")?;
        }
        for criteria in &action.criteria {
            writeln!(out, "    criteria {}", Escaped(criteria.source().trim()))?;
            for line in criteria.explain(facts).to_string().lines() {
                writeln!(out, "    {}", Escaped(line))?;
            }
        }
    }
    writeln!(out)
}

fn exemption_text(e: &flowsieve::actions::Exemption) -> String {
    match e {
        flowsieve::actions::Exemption::Network(net) => net.to_string(),
        flowsieve::actions::Exemption::Expression(c) => format!("'{}'", Escaped(c.source().trim())),
    }
}

fn status(args: StatusArgs) -> anyhow::Result<ExitCode> {
    let status = flowsieve::status::query(&args.control_socket)?;
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&status)?);
    } else {
        out!("{status}");
    }
    Ok(ExitCode::SUCCESS)
}

/// The interfaces and NFQUEUE queues `run` captures: `-I`/`-E`/`--nfqueue`, else netifyd's
/// capture-interface-* sections (their `address` entries are added to `local_nets`; an
/// `nfqueue` section becomes a queue spec like `--nfqueue ROLE=QUEUE_ID:INSTANCES`).
fn run_interfaces(
    args: &RunArgs,
    local_nets: &mut Vec<IpNet>,
) -> anyhow::Result<(Vec<CaptureInterface>, Vec<flowsieve::agent::nfqueue::QueueSpec>)> {
    use flowsieve::netifyd::{self, Role, SourceKind};
    if !args.internal.is_empty() || !args.external.is_empty() || !args.nfqueue.queues.is_empty() {
        let mut interfaces: Vec<CaptureInterface> =
            args.internal.iter().map(|n| CaptureInterface { name: n.clone(), external: false, filter: None }).collect();
        interfaces.extend(args.external.iter().map(|n| CaptureInterface {
            name: n.clone(),
            external: true,
            filter: None,
        }));
        return Ok((interfaces, args.nfqueue.queues.clone()));
    }
    let conf = &args.netifyd_conf;
    if !conf.exists() {
        bail!(
            "nothing to capture: give at least one -I (LAN) or -E (WAN) interface or --nfqueue, or \
             configure capture-interface-* sections for netifyd ({} does not exist)",
            conf.display()
        );
    }
    let sources = netifyd::load(conf)?;
    for w in &sources.warnings {
        tracing::warn!("{w}");
    }
    let mut interfaces = Vec::new();
    let mut queues = Vec::new();
    for source in sources.sources {
        match &source.kind {
            SourceKind::Live { .. } => {}
            SourceKind::Nfqueue { queue_id, instances, .. } => {
                let spec = flowsieve::agent::nfqueue::QueueSpec {
                    external: source.role == Role::Wan,
                    first: *queue_id,
                    count: (*instances).max(1),
                };
                tracing::info!(section = %source.name, queues = %spec, from = %source.origin(), "NFQUEUE queues from netifyd's configuration");
                queues.push(spec);
                continue;
            }
            SourceKind::File(file) => bail!(
                "{}: reads the capture file {}: replay files with `flowsieve replay`",
                source.origin(),
                file.display()
            ),
        }
        tracing::info!(
            iface = %source.name,
            role = if source.role == Role::Wan { "wan" } else { "lan" },
            from = %source.origin(),
            "interface from netifyd's configuration"
        );
        local_nets.extend(source.addresses.iter().copied());
        interfaces.push(CaptureInterface {
            name: source.name,
            external: source.role == Role::Wan,
            filter: source.filter,
        });
    }
    if interfaces.is_empty() && queues.is_empty() {
        bail!(
            "no interface to capture on: no usable capture-interface-* section in {} (files read: {})",
            conf.display(),
            sources.files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(", ")
        );
    }
    Ok((interfaces, queues))
}

fn run(args: RunArgs, classifier: Arc<Classifier>) -> anyhow::Result<ExitCode> {
    if args.nfqueue.bypass_mark.is_some() && !matches!(args.nfqueue.mode, QueueModeArg::Inline) {
        bail!("--nfqueue-bypass-mark needs --nfqueue-mode inline (tap mode accepts packets before looking at them)");
    }
    let mut local_nets = args.table.local_nets.clone();
    let (interfaces, nfqueues) = run_interfaces(&args, &mut local_nets)?;
    let config = load_config(&args.job.config)?;
    let locality = Arc::new(if nfqueues.is_empty() {
        interface_locality(&interfaces, &local_nets)?
    } else {
        // Queued packets come from any interface: every interface's networks are local.
        let every: Vec<CaptureInterface> = pcap::Device::list()
            .context("listing network interfaces")?
            .into_iter()
            .filter(|d| !d.flags.is_loopback())
            .map(|d| CaptureInterface { name: d.name, external: false, filter: None })
            .chain(interfaces.iter().cloned())
            .collect();
        interface_locality(&every, &local_nets)?
    });
    tracing::info!(
        local_networks = ?locality.local_networks().iter().map(|n| n.to_string()).collect::<Vec<_>>(),
        broadcast = ?locality.broadcast_addresses(),
        "local networks"
    );
    let options = RunOptions {
        config_path: args.job.config.config.clone(),
        address_groups: args.job.config.groups(),
        interfaces,
        table: table_config(&args.table),
        locality,
        filter: args.filter,
        queue_capacity: 65_536,
        control_socket: control_socket(args.control_socket)?,
        control_socket_group: args.control_socket_group,
        metrics_listen: args.metrics_listen,
        capture: match args.capture {
            CaptureArg::Afpacket => CaptureMethod::AfPacket,
            CaptureArg::Pcap => CaptureMethod::Pcap,
        },
        classifier: Some(classifier),
        workers: args.workers.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
        ring: flowsieve::capture::ring::RingConfig {
            version: match args.ring {
                RingArg::V2 => flowsieve::capture::ring::RingVersion::V2,
                RingArg::V3 => flowsieve::capture::ring::RingVersion::V3,
            },
            block_timeout_ms: args.ring_timeout,
            ..Default::default()
        },
        degraded_ok: args.degraded_ok,
        ring_bytes: args.ring_size.map(|mib| mib as usize * (1 << 20)),
        notifier: flowsieve::sdnotify::Notifier::from_env(),
        nfqueues,
        nfqueue: flowsieve::agent::nfqueue::QueueOptions {
            mode: match args.nfqueue.mode {
                QueueModeArg::Tap => flowsieve::agent::nfqueue::QueueMode::Tap,
                QueueModeArg::Inline => flowsieve::agent::nfqueue::QueueMode::Inline,
            },
            config: flowsieve::capture::nfqueue::QueueConfig {
                copy_range: args.nfqueue.copy_range,
                max_len: args.nfqueue.max_len,
            },
            hold_timeout: std::time::Duration::from_millis(args.nfqueue.hold_timeout),
            bypass_mark: args.nfqueue.bypass_mark,
        },
    };
    agent::run(config, options)?;
    Ok(ExitCode::SUCCESS)
}

/// The control socket to serve (`None` for "none"); its directory is created when missing.
fn control_socket(path: PathBuf) -> anyhow::Result<Option<PathBuf>> {
    if path.as_os_str() == "none" {
        return Ok(None);
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {} for the control socket", dir.display()))?;
    }
    Ok(Some(path))
}

/// `--control-socket-group`: a group number, or a name the system's group database has.
fn group_id(group: &str) -> Result<u32, String> {
    if let Ok(gid) = group.parse() {
        return Ok(gid);
    }
    match nix::unistd::Group::from_name(group) {
        Ok(Some(g)) => Ok(g.gid.as_raw()),
        Ok(None) => Err(format!("no group named '{}'", Escaped(group))),
        Err(e) => Err(format!("looking up group '{}': {e}", Escaped(group))),
    }
}

/// Local networks: the addresses of the capture interfaces, as the kernel reports them, plus -A.
fn interface_locality(interfaces: &[CaptureInterface], extra: &[IpNet]) -> anyhow::Result<Locality> {
    let devices = pcap::Device::list().context("listing network interfaces")?;
    let mut local = extra.to_vec();
    let mut broadcast = Vec::new();
    for iface in interfaces {
        let Some(device) = devices.iter().find(|d| d.name == iface.name) else {
            // Waited for by the AF_PACKET capture (libpcap refuses it when opening). Its
            // addresses are not known, so only -A and the built-in private ranges say what is local.
            tracing::warn!(iface = %iface.name, "no network interface of that name (yet): its addresses are not local networks; add them with -A");
            continue;
        };
        for a in &device.addresses {
            let prefix = a.netmask.map_or(if a.addr.is_ipv4() { 32 } else { 128 }, prefix_len);
            let network = IpNet::new(a.addr, prefix);
            local.push(network);
            // Without a configured broadcast address (`ip addr add` without `brd`) libpcap
            // reports the interface's own address here: that must stay a local address.
            if let Some(b) = a.broadcast_addr.filter(|b| *b != a.addr && network.contains(*b)) {
                broadcast.push(b);
            }
        }
    }
    Ok(Locality::new(local, broadcast))
}

fn prefix_len(mask: IpAddr) -> u8 {
    match mask {
        IpAddr::V4(m) => u32::from(m).leading_ones() as u8,
        IpAddr::V6(m) => u128::from(m).leading_ones() as u8,
    }
}

fn replay(args: ReplayArgs, classifier: Arc<Classifier>) -> anyhow::Result<ExitCode> {
    let config = load_config(&args.job.config)?;
    let options = ReplayOptions {
        mode: if args.apply { EnforceMode::Apply } else { EnforceMode::DryRun },
        table: table_config(&args.table),
        locality: Arc::new(Locality::new(args.table.local_nets.clone(), Vec::new())),
        progress: std::io::stderr().is_terminal() && !args.json,
        repeat: args.repeat,
        decode_only: args.decode_only,
        classifier: Some(classifier),
        workers: usize::from(args.workers),
        filter: args.filter.clone(),
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut write_error = None;
    let mut record = Vec::new();
    let summary = agent::replay(&config, &args.captures, &options, |capture, flow| {
        let result = if args.quiet {
            Ok(())
        } else if args.json && args.format == JsonFormat::Netify {
            record.clear();
            netify::write_record(&mut record, netify::telemetry_type(&flow.facts), &[], &flow.facts, &flow.times());
            record.push(b'\n');
            out.write_all(&record)
        } else if args.json {
            serde_json::to_writer(&mut out, &flow_record(capture, flow))
                .map_err(std::io::Error::from)
                .and_then(|_| writeln!(out))
        } else {
            write_flow_text(&mut out, flow)
        };
        if let Err(e) = result {
            write_error.get_or_insert(e);
        }
    })?;
    out.flush()?;
    drop(out);
    if let Some(e) = write_error {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            return Err(e).context("writing output");
        }
    }
    let secs = summary.elapsed.as_secs_f64();
    let text = format!(
        "replayed {} file(s): {} packets, {} flows ({} matched an action), {} bytes in {:.3} s, {:.0} packets/s\n\
         skipped: {} malformed, {} non-IP, {} IP fragments, {} unsupported link type; {} flows refused, {} evicted (max_flows; evicted flows are reported as they go)",
        summary.files,
        summary.table.packets,
        summary.flows,
        summary.matched_flows,
        summary.table.bytes,
        secs,
        summary.table.packets as f64 / secs.max(1e-9),
        summary.decode.malformed,
        summary.decode.not_ip,
        summary.decode.fragments,
        summary.decode.unsupported_link,
        summary.table.flows_refused,
        summary.table.evicted_unestablished + summary.table.evicted_undetected + summary.table.evicted_oldest,
    );
    let mut lines = vec![text];
    if args.filter.is_some() {
        lines.push(format!("{} frames rejected by --filter", summary.filtered));
    }
    if args.workers > 1 {
        lines.push(format!(
            "{} workers; the reader waited {} times for a full worker queue",
            args.workers, summary.reader_waits
        ));
    }
    for (file, why) in &summary.truncated {
        lines.push(format!("{file}: stopped early: {why}"));
    }
    if args.apply {
        for (name, c) in &summary.target_counters {
            lines.push(format!(
                "target {name}: {} applied, {} refreshed, {} failed",
                c.applied, c.refreshed, c.failures
            ));
        }
    }
    for line in lines {
        if args.json {
            eprintln!("{line}");
        } else {
            outln!("{line}");
        }
    }
    // A file that is not a capture at all is an error (one cut short is reported only).
    Ok(if summary.unreadable > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

fn ip_protocol_name(p: u8) -> String {
    match p {
        1 => "ICMP".into(),
        6 => "TCP".into(),
        17 => "UDP".into(),
        58 => "ICMPv6".into(),
        other => format!("IP/{other}"),
    }
}

fn tls_version_name(v: u16) -> String {
    match v {
        0x0300 => "SSL3.0".into(),
        0x0301 => "TLS1.0".into(),
        0x0302 => "TLS1.1".into(),
        0x0303 => "TLS1.2".into(),
        0x0304 => "TLS1.3".into(),
        other => format!("0x{other:04x}"),
    }
}

fn endpoint(ip: IpAddr, port: u16) -> String {
    match ip {
        IpAddr::V4(a) => format!("{a}:{port}"),
        IpAddr::V6(a) => format!("[{a}]:{port}"),
    }
}

fn write_flow_text(out: &mut impl Write, flow: &Flow) -> std::io::Result<()> {
    let f: &FlowFacts = &flow.facts;
    let arrow = if f.local_origin { "->" } else { "<-" };
    write!(
        out,
        "{} {} {} {} {}",
        ip_protocol_name(f.ip_protocol),
        endpoint(f.local_ip, f.local_port),
        arrow,
        endpoint(f.other_ip, f.other_port),
        protocol::name_of(f.protocol)
    )?;
    if f.vlan_id != 0 {
        write!(out, " vlan={}", f.vlan_id)?;
    }
    if f.tls.version != 0 {
        write!(out, " tls={}", tls_version_name(f.tls.version))?;
    }
    if let Some(host) = f.detected_hostname() {
        write!(out, " host={host}")?;
    }
    if let (Some(tag), true) = (&f.application.tag, f.application.id != 0) {
        write!(out, " app={tag}")?;
    }
    write!(out, " packets={} bytes={}", f.packets(), f.bytes())?;
    if !flow.verdicts.actions.is_empty() {
        let names: Vec<&str> = flow.verdicts.actions.iter().map(|a| &**a).collect();
        write!(out, " actions=[{}]", names.join(","))?;
    }
    writeln!(out)?;
    for op in &flow.verdicts.ops {
        writeln!(out, "    {op}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::LogWriter;

    #[test]
    fn log_lines_escape_terminal_controls_but_their_end_and_own_colours() {
        let text = LogWriter { json: false, ansi: false };
        assert_eq!(text.line(b"WARN iface=ev\x1b]0;x\x07il\nFORGED\n"), "WARN iface=ev\\x1b]0;x\\x07il\\x0aFORGED\n");
        let terminal = LogWriter { json: false, ansi: true };
        assert_eq!(terminal.line("\x1b[33mWARN\x1b[0m \u{202e}x\n".as_bytes()), "\x1b[33mWARN\x1b[0m \\u{202e}x\n");
        let json = LogWriter { json: true, ansi: false };
        let line = json.line("{\"iface\":\"ev\u{202e}il\u{85}\"}\n".as_bytes());
        assert_eq!(line, "{\"iface\":\"ev\\u202eil\\u0085\"}\n");
        let back: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(back["iface"], "ev\u{202e}il\u{85}", "JSON readers get the characters back");
    }
}
