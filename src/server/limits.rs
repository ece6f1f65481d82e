//! The open-files limit: raised from soft to hard at start, and the default
//! cap on concurrent connections derived from it.

/// File descriptors kept back from connections: the store (sled's files and
/// its flusher), the journal, the listener, epoll, stdio, files read on
/// reload, with room to spare.
pub const FDS_RESERVED: u64 = 256;

/// The smallest default cap, even under a tiny limit.
const MIN_CONNECTIONS: u64 = 16;

/// Raises this process's soft `RLIMIT_NOFILE` to its hard limit and returns
/// the limit now in force. Where there is no such limit, `None`.
pub fn raise_open_files() -> std::io::Result<Option<u64>> {
    #[cfg(unix)]
    {
        rlimit::increase_nofile_limit(u64::MAX).map(Some)
    }
    #[cfg(not(unix))]
    {
        Ok(None)
    }
}

/// The default connection cap for an open-files limit: the limit less
/// [`FDS_RESERVED`] and a tenth (each TLS or plain connection is one
/// descriptor; a new connection past the cap is closed at once, so the
/// server never runs out of descriptors for the store).
pub fn default_max_connections(open_files: Option<u64>) -> usize {
    let cap = match open_files {
        Some(limit) => limit.saturating_sub(FDS_RESERVED).saturating_sub(limit / 10).max(MIN_CONNECTIONS),
        None => 10_000,
    };
    usize::try_from(cap).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_leaves_room_for_the_store() {
        assert_eq!(default_max_connections(Some(1024)), 1024 - 256 - 102);
        assert_eq!(default_max_connections(Some(1_048_576)), 1_048_576 - 256 - 104_857);
        assert_eq!(default_max_connections(Some(100)), MIN_CONNECTIONS as usize);
    }

    #[test]
    fn raising_gives_the_hard_limit() {
        let got = raise_open_files().unwrap();
        #[cfg(unix)]
        {
            let (soft, hard) = rlimit::Resource::NOFILE.get().unwrap();
            assert_eq!(got, Some(soft));
            assert_eq!(soft, hard);
        }
        #[cfg(not(unix))]
        assert_eq!(got, None);
    }
}
