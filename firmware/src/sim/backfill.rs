//! The simulator's history before it goes live (`SimConfig::backfill`).

use std::time::Duration;

use rumqttc::{AsyncClient, QoS};

use super::environment::Environment;
use super::{
    chirpstack, gateway_bridge, now_ms, tts, Rng, SimConfig, SimError, SimFormat, SimNode,
    MAX_REPORT_LEN,
};

/// The nodes' history of the last `span`, in simulated time: every node measures every
/// `config.backfill_every` and sends each measurement (no change detection), the frames in
/// time order and dated by their gateways (or network server), so that the gateway stores them
/// at their own times. Frame counters go on from there into the live run.
pub(super) async fn backfill(
    client: &AsyncClient,
    config: &SimConfig,
    nodes: &mut [SimNode],
    env: &mut Environment,
    rng: &mut Rng,
    span: Duration,
) -> Result<(), SimError> {
    let step = config.backfill_every.as_millis().max(60_000) as i64;
    let now = now_ms();
    let mut t = now - span.as_millis() as i64;
    let mut sent = 0usize;
    while t < now - step / 2 {
        for node in nodes.iter_mut() {
            let world_ms = t + node.index as i64 * 7_000;
            let report = node.measure(env, rng, world_ms);
            let mut buffer = [0u8; MAX_REPORT_LEN];
            let len = report.encode(&mut buffer).unwrap_or(0);
            let Ok(uplink) = node.link.send(1, &buffer[..len]) else {
                continue;
            };
            let events = match config.format {
                SimFormat::Chirpstack => vec![chirpstack::up_event(
                    &node.device,
                    &uplink,
                    &buffer[..len],
                    world_ms,
                    rng,
                )],
                SimFormat::Tts => vec![tts::up_event(
                    &node.device,
                    &uplink,
                    &buffer[..len],
                    world_ms,
                    rng,
                )],
                SimFormat::ChirpstackGateway => gateway_bridge::up_events_at(
                    node.link.radio().last_frame(),
                    &uplink,
                    rng,
                    Some(world_ms),
                ),
            };
            for (topic, body) in events {
                client.publish(topic, QoS::AtLeastOnce, false, body).await?;
            }
            sent += 1;
        }
        t += step;
    }
    tracing::info!(uplinks = sent, "simulator sent its history");
    Ok(())
}
