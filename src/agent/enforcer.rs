//! The enforcer thread of a live agent: applies the workers' matches to the targets.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use super::live::lock;
use super::worker::Dispatch;
use crate::actions::config::TargetSpec;
use crate::enforce::{EnforceMode, Enforcer};
use crate::status::SharedStatus;

pub(super) enum EnforcerMsg {
    Match(Dispatch),
    /// New targets; the outcome goes back on the channel (failures: the reload was rolled back).
    Reload(Vec<TargetSpec>, crossbeam_channel::Sender<Result<(), Vec<String>>>),
    /// Confirm the number once everything sent before it is in the kernel (inline NFQUEUE:
    /// the worker holds a packet until then).
    Ack(Arc<super::nfqueue::AckSignal>, u64),
}

/// The running configuration's targets, set up; `Err` names those that could not be (the
/// others shut down again), unless `degraded_ok` keeps them running without.
pub(super) fn start_enforcer(targets: &[TargetSpec], degraded_ok: bool) -> anyhow::Result<Enforcer> {
    let mut enforcer = Enforcer::new(targets, EnforceMode::Apply).measure_latency();
    let failures = enforcer.setup_failures();
    if failures.is_empty() {
        return Ok(enforcer);
    }
    if degraded_ok {
        tracing::error!("running without enforcement by {} (--degraded-ok)", failures.join("; "));
        return Ok(enforcer);
    }
    enforcer.shutdown();
    anyhow::bail!(
        "{} could not be set up, not running without enforcement (--degraded-ok would): {}",
        if failures.len() == 1 { "a target" } else { "targets" },
        failures.join("; ")
    )
}

type Acks = Vec<(Arc<super::nfqueue::AckSignal>, u64)>;

pub(super) fn enforcer_loop(
    mut enforcer: Enforcer,
    rx: Receiver<EnforcerMsg>,
    stop: Arc<AtomicBool>,
    status: SharedStatus,
    ready: Sender<()>,
) {
    let _ = ready.send(());
    let mut next_tick = Instant::now();
    let mut acks: Acks = Vec::with_capacity(256);
    loop {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(msg) => {
                handle_msg(&mut enforcer, msg, &mut acks);
                // Drain what is queued, then send it as one batch.
                while let Ok(msg) = rx.try_recv() {
                    handle_msg(&mut enforcer, msg, &mut acks);
                    if enforcer.pending() >= 4096 {
                        enforcer.flush();
                    }
                }
                enforcer.flush();
                // The flush waited for the kernel's acknowledgements: what came before these
                // acks is in place.
                for (signal, value) in acks.drain(..) {
                    signal.confirm(value);
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        if Instant::now() >= next_tick {
            next_tick = Instant::now() + Duration::from_millis(250);
            enforcer.tick(SystemTime::now());
            let buckets = enforcer.latency_buckets();
            let mut s = lock(&status);
            s.targets = enforcer.status();
            if let Some([total, to_enforcer, in_enforcer]) = enforcer.latency() {
                s.match_to_kernel = total;
                s.match_to_enforcer = to_enforcer;
                s.enforcer_to_kernel = in_enforcer;
            }
            if let Some(buckets) = buckets {
                s.match_to_kernel_buckets = buckets;
            }
        }
        if stop.load(Ordering::Relaxed) && rx.is_empty() {
            break;
        }
    }
    enforcer.shutdown();
    for (name, c) in enforcer.counters() {
        tracing::info!(target_name = %name, applied = c.applied, refreshed = c.refreshed, failures = c.failures, "target totals");
    }
}

fn handle_msg(enforcer: &mut Enforcer, msg: EnforcerMsg, acks: &mut Acks) {
    match msg {
        EnforcerMsg::Match(d) => enforcer.handle(&d.targets, &d.event, d.refresh, None),
        EnforcerMsg::Reload(specs, reply) => {
            let _ = reply.send(enforcer.reload(&specs));
        }
        EnforcerMsg::Ack(signal, value) => acks.push((signal, value)),
    }
}
