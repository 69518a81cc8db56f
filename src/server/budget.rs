//! Sharing out the process's file limit: every connection is a file, and a
//! process out of files cannot even accept the connection that would tell a
//! person "try later".

/// Files the process keeps for itself (standard streams, the listening
/// socket, the event loop, the log, files being served): never used for
/// connections.
const FILES_FOR_THE_PROCESS: u64 = 64;
/// At most this many connections stay free for page loads and
/// `/ice-servers` when the signaling sockets are at their cap.
const CONNECTIONS_KEPT_FOR_PAGES: usize = 256;
/// The file limit `runner::run` raises the process's soft limit to, when the
/// hard limit allows: about 25 KB of memory per held socket makes 65,536
/// sockets some 1.6 GB, a sensible ceiling for one process.
pub const WANTED_FILE_LIMIT: u64 = 65_536;

/// How the process's file limit is shared out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionBudget {
    pub file_limit: u64,
    /// Connections in all.
    pub connections: usize,
    /// Connections each worker accepts before it stops accepting.
    pub connections_per_worker: usize,
    /// Signaling sockets at most: fewer than the connections, so a page
    /// still loads when every socket is taken.
    pub sockets: usize,
}

/// Shares out `file_limit` (the process's soft limit on open files):
/// every connection is a file, and a process out of files cannot even
/// accept the connection that would tell a person "try later".
pub fn connection_budget(file_limit: u64, workers: usize) -> ConnectionBudget {
    let workers = workers.max(1);
    let connections = usize::try_from(file_limit.saturating_sub(FILES_FOR_THE_PROCESS))
        .unwrap_or(usize::MAX)
        .max(2 * workers);
    let kept_for_pages = (connections / 4).min(CONNECTIONS_KEPT_FOR_PAGES);
    ConnectionBudget {
        file_limit,
        connections,
        connections_per_worker: connections / workers,
        sockets: (connections - kept_for_pages).max(1),
    }
}

/// The process's soft limit on open files (a generous guess where it cannot be read).
pub fn file_limit() -> u64 {
    #[cfg(unix)]
    if let Ok((soft, _hard)) = rlimit::getrlimit(rlimit::Resource::NOFILE) {
        return soft;
    }
    WANTED_FILE_LIMIT
}

/// Raises the soft file limit towards [`WANTED_FILE_LIMIT`], as far as the
/// hard limit allows (many systems start processes at 1024).
pub fn raise_file_limit() {
    #[cfg(unix)]
    if let Err(err) = rlimit::increase_nofile_limit(WANTED_FILE_LIMIT) {
        log::warn!(
            "cannot raise the file limit ({err}); keeping {}",
            file_limit()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_limit_leaves_room_for_pages_at_the_socket_cap() {
        let budget = connection_budget(20_000, 2);
        assert_eq!(budget.connections, 20_000 - 64);
        assert_eq!(budget.connections_per_worker * 2, 20_000 - 64);
        assert_eq!(budget.sockets, 20_000 - 64 - 256);
        // A small limit keeps a quarter of its connections for pages.
        let small = connection_budget(264, 4);
        assert_eq!(small.connections_per_worker * 4, 200);
        assert_eq!(small.sockets, 150);
        // Absurdly small limits still allow something.
        assert!(connection_budget(0, 2).sockets >= 1);
    }
}
