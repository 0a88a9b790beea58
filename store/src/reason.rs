//! Why a message became a dead letter: one closed list, so that the metric labels, the stored
//! reasons, `dead-letters --reason` and the `/admin` page all name the same things.

use serde::{Serialize, Serializer};

macro_rules! reasons {
    ($($variant:ident = $code:literal: $doc:literal,)*) => {
        /// The reason a message was dead-lettered; [`DeadLetterReason::as_str`] is the label
        /// stored, counted in `sensorhub_dead_letters_total{reason}` and shown.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum DeadLetterReason {
            $(#[doc = $doc] $variant,)*
        }

        impl DeadLetterReason {
            /// Every reason, in the order of this list.
            pub const ALL: &'static [DeadLetterReason] = &[$(DeadLetterReason::$variant),*];

            /// The label (`bad_json`).
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(DeadLetterReason::$variant => $code,)*
                }
            }

            /// What the reason means, in one sentence.
            pub const fn description(self) -> &'static str {
                match self {
                    $(DeadLetterReason::$variant => $doc,)*
                }
            }
        }
    };
}

reasons! {
    TooLarge = "too_large": "Larger than `mqtt.max_message_bytes`; never decoded.",
    UnmatchedTopic = "unmatched_topic": "On a topic no subscription's format covers.",
    BadJson = "bad_json": "Not JSON.",
    BadProtobuf = "bad_protobuf": "Not the protobuf the topic's format expects.",
    MissingField = "missing_field": "JSON without a field the format needs, or of the wrong shape.",
    BadBase64 = "bad_base64": "A payload field that is not Base64.",
    BadField = "bad_field": "A field with a value out of its range.",
    BadFrame = "bad_frame": "A raw LoRaWAN frame that cannot be parsed.",
    BadMic = "bad_mic": "A raw frame whose MIC does not match the session keys.",
    Replay = "replay": "A raw frame whose frame counter was already used.",
    FcntGap = "fcnt_gap": "A raw frame whose frame counter jumped further than allowed.",
    UnknownDevice = "unknown_device": "From a DevEUI that is not in the registry.",
    CodecError = "codec_error": "The device's codec failed on the payload.",
    CodecPaused = "codec_paused": "The device's codec is paused after running too long.",
    ImplausibleValue = "implausible_value": "A value outside its quantity's physical range.",
    TimeInFuture = "time_in_future": "Dated further ahead than `mqtt.max_clock_skew`.",
    StoreRejected = "store_rejected": "What the message produced was refused by the store.",
}

impl DeadLetterReason {
    /// The reason with this label.
    pub fn parse(label: &str) -> Option<DeadLetterReason> {
        Self::ALL.iter().copied().find(|r| r.as_str() == label)
    }
}

impl std::fmt::Display for DeadLetterReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// A reason equals its label: `reason == "bad_json"`.
impl PartialEq<&str> for DeadLetterReason {
    fn eq(&self, label: &&str) -> bool {
        self.as_str() == *label
    }
}

impl Serialize for DeadLetterReason {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl rusqlite::ToSql for DeadLetterReason {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(self.as_str().into())
    }
}

impl rusqlite::types::FromSql for DeadLetterReason {
    fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        let label = value.as_str()?;
        DeadLetterReason::parse(label).ok_or_else(|| {
            rusqlite::types::FromSqlError::Other(
                format!("unknown dead-letter reason `{label}`").into(),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_unique_snake_case_and_read_back() {
        for (i, r) in DeadLetterReason::ALL.iter().enumerate() {
            let label = r.as_str();
            assert!(label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'));
            assert_eq!(DeadLetterReason::parse(label), Some(*r));
            assert!(DeadLetterReason::ALL[i + 1..]
                .iter()
                .all(|o| o.as_str() != label));
        }
        assert_eq!(DeadLetterReason::parse("Bad_Json"), None);
    }
}
