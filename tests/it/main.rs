//! The integration tests, one binary: each file is a module, and they share [`support`] (the
//! emulated workspace, the in-process bot on a test clock, the real binary for the few tests
//! that need a process, and one copy of each helper). One binary links the crate once instead
//! of once per file.

mod support;

mod archive;
mod cli;
mod clock_rule;
mod crash;
mod dm_shapes;
mod follow;
mod fuzz;
mod home;
mod layers;
mod limits;
mod load_smoke;
mod manifest_scopes;
mod reliability;
mod sends;
mod slack;
mod threads;
mod timeoff;
