//! standup-bot: runs a team's asynchronous standup in Slack and writes the team's own notes.
//!
//! The crate is layered; each layer uses only the layers below it (ARCHITECTURE.md has the map,
//! and `tests/it/layers.rs` fails on an import that points up):
//!
//! 1. `standup_core` (its own crate): the domain, reply parser, notes reader, renderer,
//!    schedules, time off, follow-through and participation, with no I/O;
//! 2. [`files`]: whole-file writes; [`metrics`]: the Prometheus metrics every layer above counts
//!    into;
//! 3. [`config`]: the TOML config, typed and checked;
//! 4. the edges: [`store`] (SQLite), [`slack`] (Web API, Socket Mode, HTTP endpoints) and
//!    [`archive`] (the notes archive on disk and in git), which never use each other;
//! 5. [`error`]: the crate error, wrapping the edges' own errors;
//! 6. [`app`]: the use cases, from prompting a member to compiling a document;
//! 7. [`bot`]: the running bot (inbound handling, the scheduler, `run`);
//! 8. [`cli`]: what each sub-command does; `main.rs` only parses arguments and reports errors.

pub mod app;
pub mod archive;
pub mod bot;
pub mod cli;
pub mod config;
pub mod error;
pub mod files;
pub mod metrics;
pub mod slack;
pub mod store;

pub use error::{Error, Result};
