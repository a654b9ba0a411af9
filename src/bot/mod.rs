//! The running bot: Slack's events, commands and clicks turned into use cases ([`inbound`]), the
//! one scheduler task ([`scheduler`]), and [`run`], which starts both beside the Slack connection
//! and stops them on shutdown; replicas on PostgreSQL take turns at the scheduler ([`leader`])
//! and keep Slack's rate limits together ([`pacing`]).

pub mod inbound;
pub mod leader;
pub mod pacing;
pub mod reload;
pub mod replays;
pub mod run;
pub mod scheduler;
