//! Files written whole: through a temporary file in the same folder, so a reader never sees half
//! a file and a failed write (a full disk) leaves the old one in place.

use std::io::{Error, ErrorKind, Result, Write};
use std::path::Path;

/// Writes through a temporary file in the same directory, so a reader never sees half a file
/// and a failed write (a full disk) leaves the old file in place.
///
/// A missing folder is named in the error; errors never name the temporary file (a name the
/// user never chose).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = existing_folder_of(path)?;
    let plain = |e: Error| Error::new(e.kind(), io_reason(&e));
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(plain)?;
    tmp.write_all(bytes).map_err(plain)?;
    tmp.as_file().sync_all().map_err(plain)?;
    tmp.persist(path).map_err(|e| plain(e.error))?;
    Ok(())
}

/// The folder a file at `path` goes in (`.` for a bare name), or an error naming it when it
/// does not exist: a temporary file made there would fail with tempfile's words and its name.
pub fn existing_folder_of(path: &Path) -> Result<&Path> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if dir.is_dir() {
        Ok(dir)
    } else {
        Err(Error::new(
            ErrorKind::NotFound,
            format!(
                "the folder {} does not exist; create it first",
                dir.display()
            ),
        ))
    }
}

/// An I/O error in words, without the path `tempfile` appends ("… at path /x/.tmpAbC12").
pub fn io_reason(e: &Error) -> String {
    let text = e.to_string();
    match text.find(" at path ") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}
