//! LoRaWAN for the node, through `lorawan-device`'s non-blocking state machine behind its
//! radio trait, with ABP and OTAA activation and a frame counter that survives resets.
//!
//! The counter is kept with write-ahead reservation: before the node uses a counter at or past
//! the reserved mark, it stores a new mark [`COUNTER_RESERVE`] ahead; after a reset it starts
//! at the stored mark. A counter is therefore never used twice (the network server would drop
//! the frame as a replay), and non-volatile memory is written once per [`COUNTER_RESERVE`]
//! uplinks instead of on every one.

use lorawan_device::default_crypto::DefaultFactory;
use lorawan_device::mac::Session;
use lorawan_device::nb_device::radio::{self as phy, PhyRxTx, TxConfig};
use lorawan_device::nb_device::{Device, Event, Response};
use lorawan_device::region::{Configuration, Region, DR};
use lorawan_device::{
    AppEui, AppKey, AppSKey, DevAddr, DevEui, JoinMode, NewSKey, RngCore, Timings,
};

use crate::airtime::LoraSettings;

/// Counters reserved per write to non-volatile memory.
pub const COUNTER_RESERVE: u32 = 32;
/// Largest PHY payload the link handles.
pub const MAX_FRAME: usize = 255;

/// How the node joins the network. Byte arrays in the order people write them (MSB first);
/// the link puts them on air little-endian as LoRaWAN wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credentials {
    Abp {
        dev_addr: [u8; 4],
        nwk_s_key: [u8; 16],
        app_s_key: [u8; 16],
    },
    Otaa {
        dev_eui: [u8; 8],
        join_eui: [u8; 8],
        app_key: [u8; 16],
    },
}

/// What the node keeps in non-volatile memory: the session (for OTAA, so that a reset does not
/// need a new join) and the reserved counter mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored {
    pub dev_addr: [u8; 4],
    pub nwk_s_key: [u8; 16],
    pub app_s_key: [u8; 16],
    /// Every counter below this one may have been used.
    pub fcnt_up_mark: u32,
}

/// Non-volatile memory for [`Stored`] (flash, EEPROM, FRAM, a backup register...).
pub trait Persist {
    fn load(&mut self) -> Option<Stored>;
    fn save(&mut self, stored: &Stored);
}

/// What the link needs from a radio beyond `lorawan-device`'s trait: whether a frame arrived
/// in the open receive window, and the settings of the last transmission (for the duty cycle).
pub trait NodeRadio: PhyRxTx + Timings {
    /// The event to hand to the state machine when a frame was received, if one was.
    fn poll(&mut self) -> Option<Self::PhyEvent>;
    fn last_tx(&self) -> Option<TxConfig>;
}

/// wyrand, seeded per node: channel hopping and DevNonces need no more than that.
pub struct Rng(u64);

impl RngCore for Rng {
    fn next_u32(&mut self) -> u32 {
        self.next_u64() as u32
    }
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0xa076_1d64_78bd_642f);
        let t = u128::from(self.0) * u128::from(self.0 ^ 0xe703_7ed1_a0b4_28db);
        (t as u64) ^ ((t >> 64) as u64)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        rand_core::impls::fill_bytes_via_next(self, dest)
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkError {
    NotJoined,
    /// No join accept in either receive window.
    NoJoinAccept,
    /// The frame counter is used up: the node needs a new session.
    SessionExpired,
    /// The state machine or the radio refused (busy, bad state, radio fault).
    Device,
}

/// One uplink as it went on air.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Uplink {
    pub f_cnt: u32,
    pub frequency_hz: u32,
    pub spreading_factor: u8,
    pub airtime_us: u64,
}

pub struct Link<R: NodeRadio, P: Persist> {
    device: Device<R, DefaultFactory, Rng, MAX_FRAME>,
    persist: P,
    mark: u32,
}

impl<R: NodeRadio, P: Persist> Link<R, P> {
    /// A link in EU868 sending at `spreading_factor` (7 to 12).
    pub fn new(radio: R, persist: P, seed: u64, spreading_factor: u8) -> Self {
        let mut device = Device::new(Configuration::new(Region::EU868), radio, Rng(seed));
        device.set_datarate(match spreading_factor {
            12 => DR::_0,
            11 => DR::_1,
            10 => DR::_2,
            9 => DR::_3,
            8 => DR::_4,
            _ => DR::_5,
        });
        Link {
            device,
            persist,
            mark: 0,
        }
    }

    pub fn radio(&mut self) -> &mut R {
        self.device.get_radio()
    }

    pub fn persist(&mut self) -> &mut P {
        &mut self.persist
    }

    /// The counter the next uplink uses.
    pub fn f_cnt_up(&self) -> Option<u32> {
        self.device.get_fcnt_up()
    }

    /// Activates the node: resumes a stored session (ABP with the same address, or an earlier
    /// OTAA join), or starts one (ABP at counter 0, or an OTAA join).
    pub fn activate(&mut self, credentials: &Credentials) -> Result<(), LinkError> {
        let stored = self.persist.load();
        match *credentials {
            Credentials::Abp {
                dev_addr,
                nwk_s_key,
                app_s_key,
            } => {
                let mut session = Session::new(
                    NewSKey::from(nwk_s_key),
                    AppSKey::from(app_s_key),
                    on_air_dev_addr(dev_addr),
                );
                if let Some(s) = stored.filter(|s| s.dev_addr == dev_addr) {
                    session.fcnt_up = s.fcnt_up_mark;
                }
                self.mark = session.fcnt_up;
                self.device.set_session(session);
            }
            Credentials::Otaa {
                dev_eui,
                join_eui,
                app_key,
            } => {
                if let Some(s) = stored {
                    let mut session = Session::new(
                        NewSKey::from(s.nwk_s_key),
                        AppSKey::from(s.app_s_key),
                        on_air_dev_addr(s.dev_addr),
                    );
                    session.fcnt_up = s.fcnt_up_mark;
                    self.mark = s.fcnt_up_mark;
                    self.device.set_session(session);
                    return Ok(());
                }
                let mut eui = dev_eui;
                eui.reverse();
                let mut join = join_eui;
                join.reverse();
                let first = self
                    .device
                    .join(JoinMode::OTAA {
                        deveui: DevEui::from(eui),
                        appeui: AppEui::from(join),
                        appkey: AppKey::from(app_key),
                    })
                    .map_err(|_| LinkError::Device)?;
                match self.run(first)? {
                    Response::JoinSuccess => {
                        self.mark = 0;
                        self.reserve(0);
                    }
                    _ => return Err(LinkError::NoJoinAccept),
                }
            }
        }
        Ok(())
    }

    /// Sends an unconfirmed uplink and waits out both receive windows.
    pub fn send(&mut self, f_port: u8, payload: &[u8]) -> Result<Uplink, LinkError> {
        let f_cnt = self.device.get_fcnt_up().ok_or(LinkError::NotJoined)?;
        if f_cnt >= self.mark {
            self.reserve(f_cnt);
        }
        let first = self
            .device
            .send(payload, f_port, false)
            .map_err(|_| LinkError::Device)?;
        match self.run(first)? {
            Response::SessionExpired => return Err(LinkError::SessionExpired),
            Response::RxComplete | Response::DownlinkReceived(_) | Response::NoAck => {}
            _ => return Err(LinkError::Device),
        }
        let tx = self.device.get_radio().last_tx().ok_or(LinkError::Device)?;
        let spreading_factor = tx.rf.bb.sf.factor() as u8;
        let settings = LoraSettings {
            spreading_factor,
            bandwidth_hz: tx.rf.bb.bw.hz(),
            coding_rate: (tx.rf.bb.cr.denom() - 4) as u8,
            ..LoraSettings::eu868_uplink(spreading_factor)
        };
        Ok(Uplink {
            f_cnt,
            frequency_hz: tx.rf.frequency,
            spreading_factor,
            airtime_us: settings.time_on_air_us(FRAME_OVERHEAD_BYTES + payload.len()),
        })
    }

    /// Stores a mark ahead of `f_cnt` before the counter is used.
    fn reserve(&mut self, f_cnt: u32) {
        let Some(keys) = self.device.get_session_keys() else {
            return;
        };
        self.mark = f_cnt.saturating_add(COUNTER_RESERVE);
        let dev_addr = keys.devaddr.as_ref();
        self.persist.save(&Stored {
            dev_addr: [dev_addr[3], dev_addr[2], dev_addr[1], dev_addr[0]],
            nwk_s_key: keys.newskey.inner().0,
            app_s_key: keys.appskey.inner().0,
            fcnt_up_mark: self.mark,
        });
    }

    /// Drives the state machine through the receive windows until it settles.
    fn run(&mut self, mut response: Response) -> Result<Response, LinkError> {
        for _ in 0..16 {
            let Response::TimeoutRequest(_) = response else {
                return Ok(response);
            };
            let event = match self.device.get_radio().poll() {
                Some(received) => Event::RadioEvent(phy::Event::Phy(received)),
                None => Event::TimeoutFired,
            };
            response = self
                .device
                .handle_event(event)
                .map_err(|_| LinkError::Device)?;
        }
        Err(LinkError::Device)
    }
}

/// MHDR, FHDR without options, FPort, MIC.
const FRAME_OVERHEAD_BYTES: usize = crate::node::FRAME_OVERHEAD;

fn on_air_dev_addr(dev_addr: [u8; 4]) -> DevAddr<[u8; 4]> {
    DevAddr::from([dev_addr[3], dev_addr[2], dev_addr[1], dev_addr[0]])
}

/// A radio without hardware: it keeps the last frame sent and delivers a queued downlink in
/// the next receive window. The simulator uses it; on a board, a `lora-phy` based radio
/// implements [`NodeRadio`] instead.
#[derive(Debug)]
pub struct VirtualRadio {
    tx: [u8; MAX_FRAME],
    tx_len: usize,
    tx_config: Option<TxConfig>,
    rx: [u8; MAX_FRAME],
    rx_len: usize,
    downlink: [u8; MAX_FRAME],
    downlink_len: usize,
    listening: bool,
}

impl Default for VirtualRadio {
    fn default() -> Self {
        VirtualRadio {
            tx: [0; MAX_FRAME],
            tx_len: 0,
            tx_config: None,
            rx: [0; MAX_FRAME],
            rx_len: 0,
            downlink: [0; MAX_FRAME],
            downlink_len: 0,
            listening: false,
        }
    }
}

impl VirtualRadio {
    /// The last frame sent.
    pub fn last_frame(&self) -> &[u8] {
        &self.tx[..self.tx_len]
    }

    /// Queues a frame for the next receive window (a join accept, say).
    pub fn queue_downlink(&mut self, frame: &[u8]) {
        let len = frame.len().min(MAX_FRAME);
        self.downlink[..len].copy_from_slice(&frame[..len]);
        self.downlink_len = len;
    }
}

impl PhyRxTx for VirtualRadio {
    type PhyEvent = ();
    type PhyError = ();
    type PhyResponse = ();
    const MAX_RADIO_POWER: u8 = 14;

    fn get_mut_radio(&mut self) -> &mut Self {
        self
    }

    fn get_received_packet(&mut self) -> &mut [u8] {
        &mut self.rx[..self.rx_len]
    }

    fn handle_event(&mut self, event: phy::Event<Self>) -> Result<phy::Response<Self>, ()> {
        match event {
            phy::Event::TxRequest(config, frame) => {
                let len = frame.len().min(MAX_FRAME);
                self.tx[..len].copy_from_slice(&frame[..len]);
                self.tx_len = len;
                self.tx_config = Some(config);
                Ok(phy::Response::TxDone(0))
            }
            phy::Event::RxRequest(_) => {
                self.listening = true;
                Ok(phy::Response::Rxing)
            }
            phy::Event::CancelRx => {
                self.listening = false;
                Ok(phy::Response::Idle)
            }
            phy::Event::Phy(()) => {
                if !self.listening || self.downlink_len == 0 {
                    return Ok(phy::Response::Idle);
                }
                self.rx[..self.downlink_len].copy_from_slice(&self.downlink[..self.downlink_len]);
                self.rx_len = self.downlink_len;
                self.downlink_len = 0;
                self.listening = false;
                Ok(phy::Response::RxDone(phy::RxQuality::new(-90, 7)))
            }
        }
    }
}

impl Timings for VirtualRadio {
    fn get_rx_window_offset_ms(&self) -> i32 {
        -10
    }
    fn get_rx_window_duration_ms(&self) -> u32 {
        50
    }
}

impl NodeRadio for VirtualRadio {
    fn poll(&mut self) -> Option<()> {
        (self.listening && self.downlink_len > 0).then_some(())
    }
    fn last_tx(&self) -> Option<TxConfig> {
        self.tx_config
    }
}

/// Non-volatile memory in RAM, for the simulator and tests (a reset keeps it, as flash would).
#[derive(Debug, Default, Clone)]
pub struct RamPersist {
    pub stored: Option<Stored>,
    pub writes: u32,
}

impl Persist for RamPersist {
    fn load(&mut self) -> Option<Stored> {
        self.stored
    }
    fn save(&mut self, stored: &Stored) {
        self.stored = Some(*stored);
        self.writes += 1;
    }
}

#[cfg(test)]
mod tests;
