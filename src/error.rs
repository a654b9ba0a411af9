//! The crate's error: one variant per boundary, each message saying what is wrong and what to do.

use std::path::PathBuf;

use standup_core::{notes, render};

use crate::{archive, config, store};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error(transparent)]
    Store(#[from] store::Error),
    #[error(transparent)]
    Render(#[from] render::RenderError),
    #[error(transparent)]
    Archive(#[from] archive::Error),
    #[error("{}: {source}", path.display())]
    Notes {
        path: PathBuf,
        source: notes::ReadError,
    },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A mistake in how a command was called.
    #[error("{0}")]
    Usage(String),
}

pub type Result<T> = std::result::Result<T, Error>;
