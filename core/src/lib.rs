//! standup-core: what standup-bot knows about standups, with no I/O.
//!
//! [`parse`] reads a Slack reply into an [`domain::Update`], [`notes`] reads a team's notes
//! document, [`render`] writes a [`domain::Meeting`] back as the team's Markdown from template
//! text, [`schedule`] turns crontab lines into fire times, [`calendar`] knows working days and
//! time off, [`followthrough`] compares plans with what was done, and [`stats`] measures
//! participation. Nothing here reads the clock, the disk, the network or a database: callers
//! pass instants and text in. The crate's dependencies keep it so (no tokio, SQL or Slack crate).

pub mod calendar;
pub mod domain;
pub mod followthrough;
pub mod notes;
pub mod parse;
pub mod render;
pub mod schedule;
pub mod stats;
