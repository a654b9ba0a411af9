//! standup-bot: runs a team's asynchronous standup in Slack and writes the team's own notes.
//!
//! The core is pure: [`parse`] reads Slack replies, [`notes`] reads existing notes, [`render`]
//! writes them; [`store`] keeps everything in SQLite; [`config`] and [`schedule`] say which teams
//! meet when. See ARCHITECTURE.md for the map.

pub mod app;
pub mod archive;
pub mod calendar;
pub mod cli;
pub mod config;
pub mod document;
pub mod domain;
pub mod error;
pub mod export;
pub mod followthrough;
pub mod notes;
pub mod parse;
pub mod render;
pub mod resolved;
pub mod schedule;
pub mod scheduler;
pub mod service;
pub mod slack;
pub mod stats;
pub mod store;

pub use error::{Error, Result};
