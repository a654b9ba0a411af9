//! Side traffic during a burst: what must stay fast while the bot is busy or its database is
//! locked, because none of it needs a write. Clicks on a prompt's *Answer in a form* (the bot
//! only opens the form with `views.open`, whose `trigger_id` lasts 3 s), `GET /healthz` probes,
//! and the emulator's websocket Pings on the Socket Mode connection (as Slack's servers send).
//!
//! Clicks and probes are sent open-loop at a fixed interval from the burst's start until
//! [`Probes::finish`]; each is timed where its sender would see it: a click from the envelope
//! leaving the emulator to its ack (the ack Slack waits 3 s for) and to the form's `views.open`
//! reaching the emulator, a probe from connecting to the whole response, a Ping from being
//! written to its Pong being read.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use slack_emulator::Emulator;

use super::bot;
use super::stats::{Report, Row, Verdict, fmt_duration, percentile};

/// The prompt button that only opens a form (`standup_bot::app::messages::ANSWER_FORM`).
const ANSWER_FORM: &str = standup_bot::app::messages::ANSWER_FORM;

/// What a burst sends beside its DMs and commands.
#[derive(Debug, Clone, Copy, Default)]
pub struct SideParams {
    /// Clicks a second on *Answer in a form* (Socket Mode only); 0: none.
    pub clicks: f64,
    /// A `/healthz` probe this often; `None`: none.
    pub health_every: Option<Duration>,
    /// The emulator pings the Socket Mode connection this often; `None`: no pings.
    pub ping_every: Option<Duration>,
}

impl SideParams {
    /// What applies in `mode`: clicks and Pings go over Socket Mode only.
    pub fn for_mode(self, mode: bot::Mode) -> SideParams {
        match mode {
            bot::Mode::Socket => self,
            bot::Mode::Http => SideParams {
                clicks: 0.0,
                ping_every: None,
                ..self
            },
        }
    }

    pub fn any(&self) -> bool {
        self.clicks > 0.0 || self.health_every.is_some() || self.ping_every.is_some()
    }
}

/// A prompt's *Answer in a form* button, to click.
#[derive(Debug, Clone)]
pub struct Button {
    user: String,
    channel: String,
    ts: String,
}

/// Waits for the click team's prompts (one per member, in their DM); `Err` lists who got none.
pub async fn prompts(
    emu: &Emulator,
    team: &bot::ClickTeam,
    timeout: Duration,
) -> Result<Vec<Button>, String> {
    let deadline = Instant::now() + timeout;
    let users: Vec<String> = team.users().map(bot::user_id).collect();
    loop {
        let mut found = Vec::new();
        let mut missing = Vec::new();
        for user in &users {
            let channel = emu.dm_channel(user);
            let prompt = emu.messages(&channel).into_iter().find(|m| {
                m.blocks
                    .as_ref()
                    .is_some_and(|b| b.to_string().contains(ANSWER_FORM))
            });
            match prompt {
                Some(m) => found.push(Button {
                    user: user.clone(),
                    channel,
                    ts: m.ts,
                }),
                None => missing.push(user.clone()),
            }
        }
        if missing.is_empty() {
            return Ok(found);
        }
        if Instant::now() >= deadline {
            return Err(format!("no prompt with {ANSWER_FORM} for {missing:?}"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One click sent.
#[derive(Debug, Clone)]
struct Click {
    at: Instant,
    envelope: String,
    trigger: String,
}

/// One `/healthz` probe: when it started, and how long until the whole 200 response
/// (`None`: refused, failed or not 200).
#[derive(Debug, Clone, Copy)]
struct Probe {
    at: Instant,
    took: Option<Duration>,
}

/// One measure's label, its samples (when each was sent, how long it took) and whether it was
/// sent at all.
type Measure<'a> = (&'a str, &'a Vec<(Instant, Duration)>, bool);

/// The senders running beside a burst.
pub struct Probes {
    stop: Arc<AtomicBool>,
    clicks: Option<tokio::task::JoinHandle<Vec<Click>>>,
    health: Option<tokio::task::JoinHandle<Vec<Probe>>>,
    began: Instant,
}

/// Starts the clicks (on `buttons`, round-robin) and the `/healthz` probes (on `health`) at
/// `start`.
pub fn start(
    emu: &Emulator,
    buttons: Vec<Button>,
    health: Option<String>,
    p: SideParams,
    start: Instant,
) -> Probes {
    let stop = Arc::new(AtomicBool::new(false));
    let clicks = (p.clicks > 0.0 && !buttons.is_empty()).then(|| {
        let (emu, stop) = (emu.clone(), stop.clone());
        let every = Duration::from_secs_f64(1.0 / p.clicks);
        tokio::spawn(async move {
            let mut sent = Vec::new();
            let mut next = start;
            // At least one, however short the burst.
            loop {
                tokio::time::sleep_until(next.into()).await;
                let button = &buttons[sent.len() % buttons.len()];
                let payload = emu
                    .click(&button.user, &button.channel, &button.ts, ANSWER_FORM)
                    .expect("the prompt's button");
                let trigger = payload["trigger_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                let at = Instant::now();
                let handle = emu.send_interaction(payload);
                sent.push(Click {
                    at,
                    envelope: handle.envelope_id().to_string(),
                    trigger,
                });
                next += every;
                if stop.load(Ordering::Relaxed) {
                    break;
                }
            }
            sent
        })
    });
    let health = match (health, p.health_every) {
        (Some(addr), Some(every)) => {
            let stop = stop.clone();
            Some(tokio::spawn(async move {
                let mut probes = Vec::new();
                let mut next = start;
                loop {
                    tokio::time::sleep_until(next.into()).await;
                    let at = Instant::now();
                    let ok = bot::health_ok(&addr).await;
                    probes.push(Probe {
                        at,
                        took: ok.then(|| at.elapsed()),
                    });
                    next += every;
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                }
                probes
            }))
        }
        _ => None,
    };
    Probes {
        stop,
        clicks,
        health,
        began: start,
    }
}

impl Probes {
    /// Stops sending, waits (up to 10 s) for the clicks' acks and forms and the pings' Pongs,
    /// and adds the figures to `report`: every measure over the whole burst and, if another
    /// process held the write lock (`locked`: from, to), over that time alone.
    pub async fn finish(
        self,
        emu: &Emulator,
        p: SideParams,
        locked: Option<(Instant, Instant)>,
        report: &mut Report,
    ) {
        self.stop.store(true, Ordering::Relaxed);
        let ended = Instant::now();
        let clicks = match self.clicks {
            Some(task) => task.await.unwrap_or_default(),
            None => Vec::new(),
        };
        let probes = match self.health {
            Some(task) => task.await.unwrap_or_default(),
            None => Vec::new(),
        };
        // Every click acked and its form opened, every Ping of the burst answered: or 10 s.
        let pinged = |e: &Emulator| -> Vec<slack_emulator::Ping> {
            e.pings()
                .into_iter()
                .filter(|ping| ping.sent_at >= self.began && ping.sent_at < ended)
                .collect()
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let acks = emu.acks();
            let views = emu.views();
            let done = clicks.iter().all(|c| {
                acks.iter().any(|a| a.envelope_id == c.envelope)
                    && views
                        .iter()
                        .any(|v| v.trigger_id.as_deref() == Some(&c.trigger))
            }) && pinged(emu).iter().all(|ping| ping.round_trip.is_some());
            if done || Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let acks = emu.acks();
        let views = emu.views();
        let period = ended.saturating_duration_since(self.began);
        let during = |at: Instant| locked.is_none_or(|(from, to)| at >= from && at < to);
        let scopes: Vec<(&str, bool)> = match locked {
            Some(_) => vec![("", false), (" (lock held)", true)],
            None => vec![("", false)],
        };

        // Clicks.
        let mut click_ack = Vec::new();
        let mut click_form = Vec::new();
        let (mut unacked, mut unopened) = (0, 0);
        for c in &clicks {
            // The first ack: a late one was sent again by the emulator, as Slack would.
            match acks.iter().find(|a| a.envelope_id == c.envelope) {
                Some(a) => click_ack.push((c.at, a.at.saturating_duration_since(c.at))),
                None => unacked += 1,
            }
            match views
                .iter()
                .find(|v| v.trigger_id.as_deref() == Some(&c.trigger))
            {
                Some(v) => click_form.push((c.at, v.at.saturating_duration_since(c.at))),
                None => unopened += 1,
            }
        }
        // Probes.
        let failed = probes.iter().filter(|p| p.took.is_none()).count();
        let health: Vec<(Instant, Duration)> = probes
            .iter()
            .filter_map(|p| p.took.map(|took| (p.at, took)))
            .collect();
        // Pings.
        let pings = pinged(emu);
        let unanswered = pings
            .iter()
            .filter(|ping| ping.round_trip.is_none())
            .count();
        let pongs: Vec<(Instant, Duration)> = pings
            .iter()
            .filter_map(|ping| ping.round_trip.map(|rtt| (ping.sent_at, rtt)))
            .collect();

        let measures: [Measure; 4] = [
            (
                "click *Answer in a form*: envelope → ack",
                &click_ack,
                p.clicks > 0.0,
            ),
            ("click → its views.open", &click_form, p.clicks > 0.0),
            (
                "/healthz: connect → response",
                &health,
                p.health_every.is_some(),
            ),
            ("Socket Mode Ping → Pong", &pongs, p.ping_every.is_some()),
        ];
        for (scope, only_locked) in &scopes {
            for (what, samples, on) in &measures {
                if !on {
                    continue;
                }
                let chosen: Vec<Duration> = samples
                    .iter()
                    .filter(|(at, _)| !only_locked || during(*at))
                    .map(|(_, d)| *d)
                    .collect();
                let span = match (only_locked, locked) {
                    (true, Some((from, to))) => to.saturating_duration_since(from),
                    _ => period,
                };
                report.rows.push(Row::new(
                    &format!("{what}{scope}"),
                    chosen.len(),
                    span,
                    chosen,
                ));
            }
        }

        if p.clicks > 0.0 {
            report.verdicts.push(Verdict::invariant(
                "every click acked",
                unacked == 0 && !clicks.is_empty(),
                format!(
                    "{} of {} clicks acked",
                    clicks.len() - unacked,
                    clicks.len()
                ),
            ));
            report.verdicts.push(Verdict::target(
                "every click's form opened (its trigger_id lasts 3 s)",
                unopened == 0,
                format!(
                    "{} of {} forms opened",
                    clicks.len() - unopened,
                    clicks.len()
                ),
            ));
        }
        if p.health_every.is_some() {
            report.verdicts.push(Verdict::invariant(
                "every /healthz probe answered 200",
                failed == 0 && !probes.is_empty(),
                format!(
                    "{} of {} probes answered 200",
                    probes.len() - failed,
                    probes.len()
                ),
            ));
        }
        if p.ping_every.is_some() {
            report.verdicts.push(Verdict::invariant(
                "every Ping answered",
                unanswered == 0,
                format!(
                    "{} of {} Pings of the burst answered",
                    pings.len() - unanswered,
                    pings.len()
                ),
            ));
        }
        // The target: none of this waits for the lock (or for a backlog of events).
        if let Some((from, to)) = locked {
            let target = Duration::from_millis(5);
            for (what, samples, on) in &measures {
                if !on {
                    continue;
                }
                let mut chosen: Vec<Duration> = samples
                    .iter()
                    .filter(|(at, _)| *at >= from && *at < to)
                    .map(|(_, d)| *d)
                    .collect();
                chosen.sort_unstable();
                let p99 = percentile(&chosen, 99.0);
                report.verdicts.push(Verdict::target(
                    &format!("{what} p99 ≤ 5 ms while the lock is held"),
                    p99.is_some_and(|p| p <= target),
                    match p99 {
                        Some(p) => format!("p99 {} over {} samples", fmt_duration(p), chosen.len()),
                        None => "no samples while the lock was held".to_string(),
                    },
                ));
            }
        }
    }
}
