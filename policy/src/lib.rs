//! What may leave for the public, decided in one place: the anonymisation policy (`[privacy]`
//! and each dataset's), and the publication policy that the resident pages, the JSON API, the
//! live feed, GeoJSON and the published files all apply. It sits below both the publisher and
//! the dashboards, so that neither has to know the other.

pub mod licence;
mod privacy;
mod public;
pub mod view;

pub use licence::{Licence, LICENCES};
pub use privacy::{
    is_people_count, pseudonym, Coordinates, DatasetPolicy, PrivacyConfig, StationIds,
    PEOPLE_COUNTS,
};
pub use public::{coarsest, PublicPolicy, Publication, QuantityPolicy, DEVICE_QUANTITIES};

/// A text cell of every CSV sensorhub writes (published files, downloads): quoted when it holds
/// a comma, quote or line break (RFC 4180), and a cell a spreadsheet would run as a formula
/// (starting with `=`, `+`, `-`, `@`, a tab or a carriage return) neutralised with a leading `'`,
/// as OWASP recommends against CSV injection. Numbers are written as numbers, not through here.
pub fn csv_text(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}
