//! Files written whole: through a temporary file in the same folder, so a reader never sees half
//! a file and a failed write (a full disk) leaves the old one in place.

use std::io::{Result, Write};
use std::path::Path;

/// Writes through a temporary file in the same directory, so a reader never sees half a file
/// and a failed write (a full disk) leaves the old file in place.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}
