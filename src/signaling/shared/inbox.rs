//! A process's inbox: its own pub/sub channel, read by one task.
//!
//! A subscribed Redis connection can do nothing but receive, so the inbox
//! has a connection of its own. When it breaks (Redis restarted, the network
//! dropped) the subscription is gone with it, and whatever was published
//! meanwhile is lost: Redis pub/sub delivers at most once. So the loop
//! subscribes again and then resyncs (`SharedHub::resync`) before it reads
//! on, which tells the pages here the joins and leaves they missed. What it
//! cannot give back are page-to-page messages (offers, candidates, chat)
//! published while nobody listened; the chapter says what that costs a call.

use std::time::Duration;

use futures_util::StreamExt;

use super::envelope;
use super::SharedHub;

/// How long to wait before subscribing again after a failure.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Runs until the Redis thread stops.
pub async fn run(hub: SharedHub) {
    let channel = format!("{}inbox:{}", hub.shared.prefix, hub.shared.node);
    let mut first = true;
    loop {
        match listen(&hub, &channel, first).await {
            Ok(()) => log::warn!("lost the Redis subscription: subscribing again"),
            Err(err) => log::warn!("Redis subscription: {err}; trying again in {RETRY_AFTER:?}"),
        }
        first = false;
        tokio::time::sleep(RETRY_AFTER).await;
    }
}

/// Subscribes, resyncs, and delivers until the connection ends.
async fn listen(hub: &SharedHub, channel: &str, first: bool) -> redis::RedisResult<()> {
    let mut pubsub = hub.shared.client.get_async_pubsub().await?;
    pubsub.subscribe(channel).await?;
    if !first {
        log::info!("subscribed to Redis again");
    }
    // Messages published from now on wait in the subscription while the
    // resync compares: none is delivered in the middle of it.
    hub.resync().await?;
    log::info!("in step with Redis: {} sockets here", hub.peer_count());
    let mut messages = pubsub.on_message();
    loop {
        tokio::select! {
            message = messages.next() => {
                let Some(message) = message else {
                    return Ok(());
                };
                let payload = message.get_payload_bytes();
                match std::str::from_utf8(payload).ok().and_then(envelope::parse) {
                    Some(envelope) => {
                        hub.deliver(envelope);
                        // A page found not reading leaves, as in memory.
                        hub.drop_stalled().await;
                    }
                    None => log::error!("an inbox message that is not an envelope: {} bytes", payload.len()),
                }
            }
            () = hub.shared.resync_wanted.notified() => hub.resync().await?,
        }
    }
}
