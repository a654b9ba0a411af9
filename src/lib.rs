//! standup-bot: runs a team's asynchronous standup in Slack and writes the team's own notes.

pub mod config;
pub mod domain;
pub mod schedule;
