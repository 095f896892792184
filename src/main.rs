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

#[path = "main/args.rs"]
mod args;

use args::*;

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
    match (&f.application.tag, f.application.id) {
        (_, 0) => {}
        (Some(tag), _) => write!(out, " app={tag}")?,
        // An ID a soft dissector set that the loaded list does not name.
        (None, id) => write!(out, " app={id}")?,
    }
    if f.application.soft_dissector {
        write!(out, " soft_dissector")?;
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
