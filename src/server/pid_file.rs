//! The pid file: written when the server listens, so scripts can signal it
//! (`kill -HUP "$(cat DATA/cashdesk.pid)"`), removed when it exits — unless
//! another process has written its own pid there since.

use std::path::{Path, PathBuf};

/// The file's default name inside the data directory.
pub const DEFAULT_NAME: &str = "cashdesk.pid";

/// Removes the file on drop if it still holds this process's pid.
#[derive(Debug)]
pub struct PidFile {
    path: PathBuf,
    pid: u32,
}

impl PidFile {
    /// Writes this process's pid (and a newline) to `path`, replacing what
    /// was there: the store's lock, not this file, keeps two servers apart.
    pub fn write(path: &Path) -> std::io::Result<PidFile> {
        let pid = std::process::id();
        let tmp = path.with_extension("pid.tmp");
        std::fs::write(&tmp, format!("{pid}\n"))?;
        std::fs::rename(&tmp, path)?;
        Ok(PidFile { path: path.to_path_buf(), pid })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        let ours = std::fs::read_to_string(&self.path).is_ok_and(|t| t.trim() == self.pid.to_string());
        if ours {
            if let Err(e) = std::fs::remove_file(&self.path) {
                tracing::warn!(file = %self.path.display(), error = %e, "cannot remove the pid file");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_with_our_pid_and_removed_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DEFAULT_NAME);
        let f = PidFile::write(&path).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), format!("{}\n", std::process::id()));
        drop(f);
        assert!(!path.exists());
    }

    #[test]
    fn another_process_s_pid_is_left_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DEFAULT_NAME);
        let f = PidFile::write(&path).unwrap();
        std::fs::write(&path, "999999\n").unwrap();
        drop(f);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "999999\n");
    }
}
