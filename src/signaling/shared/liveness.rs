//! Which processes are alive, and what happens to the members of one that
//! is not.
//!
//! Every [`ALIVE_EVERY`], each process sets its key `alive:<node>` to expire
//! after [`ALIVE_FOR`] (`alive.lua`), then looks for processes whose key has
//! expired (`reap.lua`): their members leave, announced to their rooms as
//! if their sockets had closed. So the members of a process that is killed
//! (SIGKILL, a power cut, a network split) leave within [`DEAD_PROCESS_NOTICED_WITHIN`].
//!
//! The same call tells a process when the others have forgotten it (its key
//! expired while it could not reach Redis, or Redis restarted empty): it then
//! resyncs, which writes its members back.

use std::time::Duration;

use super::scripts::SCRIPTS;
use super::SharedHub;

/// How often a process says it is alive and looks for dead ones.
pub const ALIVE_EVERY: Duration = Duration::from_secs(1);
/// How long one "alive" lasts: three chances, so that one slow answer from
/// a busy machine does not declare a living process dead.
pub const ALIVE_FOR: Duration = Duration::from_secs(3);
/// The longest a dead process's members stay in their rooms: its last
/// "alive" expires, and the next check (at most one interval later) finds it.
pub const DEAD_PROCESS_NOTICED_WITHIN: Duration = Duration::from_secs(4);

/// Runs until the Redis thread stops.
pub async fn run(hub: SharedHub) {
    let mut every = tokio::time::interval(ALIVE_EVERY);
    // A machine that stalls must not fire a burst of checks afterwards.
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut reachable = true;
    loop {
        every.tick().await;
        match check(&hub).await {
            Ok(()) if !reachable => {
                log::info!("Redis answers again");
                reachable = true;
            }
            Ok(()) => {}
            Err(err) if reachable => {
                log::warn!(
                    "Redis is not answering ({err}): rooms on other processes are out of reach"
                );
                reachable = false;
            }
            Err(_) => {}
        }
    }
}

async fn check(hub: &SharedHub) -> redis::RedisResult<()> {
    let forgotten: i64 = SCRIPTS
        .alive
        .arg(&hub.shared.prefix)
        .arg(&hub.shared.node)
        .arg(ALIVE_FOR.as_millis() as u64)
        .invoke_async(&mut hub.redis())
        .await?;
    if forgotten == 1 && hub.peer_count() > 0 {
        log::warn!("the other processes had forgotten this one: writing its members back");
        hub.shared.resync_wanted.notify_one();
    }
    let dead: Vec<String> = SCRIPTS
        .reap
        .arg(&hub.shared.prefix)
        .invoke_async(&mut hub.redis())
        .await?;
    for node in dead {
        log::warn!("server process {node} stopped answering: its members left their rooms");
    }
    Ok(())
}
