//! The emulator driven by slack-morphism's real client and listener, and by raw HTTP.

mod common;
mod faults;
mod history;
mod home_events;
mod http_mode;
mod interactions;
mod names;
mod socket_frames;
mod socket_mode;
mod strict;
mod web_api;
