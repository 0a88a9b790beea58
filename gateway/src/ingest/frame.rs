//! Raw frames from gateways: the network server's checks (session, MIC, counters, copies
//! heard by several gateways), then the same decoding as any uplink.

use super::*;

impl Ingest {
    /// A raw frame from a gateway: network-server checks, then the same decoding as uplinks.
    pub(super) async fn frame(
        &mut self,
        topic: &str,
        raw: &[u8],
        received_ms: i64,
        batch: &mut IngestBatch,
    ) -> Result<Handled, StoreError> {
        let mut frame = match formats::gateway_frame::parse(topic, raw) {
            Ok(frame) => frame,
            Err(e) => {
                return Ok(
                    dead_letter(batch, topic, raw, received_ms, e.reason(), e.to_string()).into(),
                )
            }
        };
        // A gateway whose clock runs ahead must not date a valid frame into the future (nor
        // every later frame of the device, which must follow it): its time is not used.
        if let Some(t) = frame
            .time_ms
            .filter(|t| *t > received_ms.saturating_add(self.max_clock_skew_ms))
        {
            tracing::warn!(gateway = %frame.gateway_id, time = %sensorhub_store::time::format_rfc3339(t), "gateway time ahead of this clock; the receipt time is used");
            frame.time_ms = None;
        }
        // The PHYPayload is read here, once; everything after works on what it says.
        let (dev_addr, uplink) = match crate::network::read_phy(&frame.phy_payload) {
            Ok(Phy::Uplink(uplink)) => (uplink.dev_addr, Some(uplink)),
            Ok(Phy::Downlink { dev_addr }) => (dev_addr, None),
            Ok(Phy::Join(kind)) => {
                tracing::debug!(topic, kind, "frame without readings");
                return Ok(Outcome::Skipped.into());
            }
            Err(detail) => {
                return Ok(dead_letter(
                    batch,
                    topic,
                    raw,
                    received_ms,
                    DeadLetterReason::BadFrame,
                    detail,
                )
                .into())
            }
        };
        let candidates = self.registry.by_dev_addr(dev_addr, received_ms).await?;
        if candidates.is_empty() {
            let detail = format!("DevAddr {dev_addr} has no ABP session in the registry");
            return Ok(dead_letter(
                batch,
                topic,
                raw,
                received_ms,
                DeadLetterReason::UnknownDevice,
                detail,
            )
            .into());
        }
        let Some(uplink) = uplink else {
            tracing::debug!(topic, kind = "downlink", "frame without readings");
            return Ok(Outcome::Skipped.into());
        };
        let verdict = self.sessions.check(
            &frame,
            uplink,
            &candidates,
            received_ms,
            self.dedup_window_ms,
        );
        let accepted = match verdict {
            Verdict::Accepted(a) => a,
            Verdict::Copy(r) => {
                tracing::debug!(dev_eui = %r.dev_eui, gateways = r.gateway_count, "merged a copy of an uplink");
                batch.uplinks.push(reception_record(&r, heard(&frame)));
                return Ok(Outcome::Skipped.into());
            }
            Verdict::Duplicate => return Ok(Outcome::Skipped.into()),
            Verdict::Rejected { reason, detail } => {
                return Ok(dead_letter(batch, topic, raw, received_ms, reason, detail).into());
            }
        };
        if let Some(state) = self.sessions.state(&accepted.dev_eui) {
            batch.sessions.push((accepted.dev_eui.clone(), state));
        }
        let dev_eui = match accepted.dev_eui.parse() {
            Ok(eui) => eui,
            Err(e) => {
                let detail = format!("registry DevEUI {}: {e}", accepted.dev_eui);
                return Ok(dead_letter(
                    batch,
                    topic,
                    raw,
                    received_ms,
                    DeadLetterReason::BadField,
                    detail,
                )
                .into());
            }
        };
        let uplink = Uplink {
            dev_eui,
            device_name: None,
            time_ms: accepted.reception.time_ms,
            time_source: accepted.reception.time_source,
            f_cnt: Some(accepted.f_cnt),
            f_port: accepted.f_port,
            payload: accepted.payload,
            dedup_id: None,
            rssi: accepted.reception.rssi,
            snr: accepted.reception.snr,
            gateway_count: 1,
            gateways: heard(&frame),
            decoded: None,
            normalized: None,
        };
        self.uplink(topic, raw, received_ms, uplink, batch).await
    }
}

/// The gateway a raw frame came through, with its signal.
fn heard(frame: &crate::formats::gateway_frame::Frame) -> Vec<sensorhub_store::Heard> {
    crate::formats::heard(std::iter::once((
        Some(frame.gateway_id.clone()),
        frame.rssi,
        frame.snr,
    )))
}

/// The uplink metadata record of a merged reception (it replaces the first copy's record;
/// its gateway joins the ones the store has for the uplink).
fn reception_record(
    r: &crate::network::Reception,
    gateways: Vec<sensorhub_store::Heard>,
) -> UplinkRecord {
    UplinkRecord {
        dev_eui: r.dev_eui.clone(),
        time_ms: r.time_ms,
        time_source: r.time_source,
        f_cnt: Some(r.f_cnt),
        f_port: r.f_port,
        dedup_id: None,
        rssi: r.rssi,
        snr: r.snr,
        gateway_count: r.gateway_count,
        gateways,
    }
}
