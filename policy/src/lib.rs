//! What may leave for the public, decided in one place: the anonymisation policy (`[privacy]`
//! and each dataset's), and the publication policy that the resident pages, the JSON API, the
//! live feed, GeoJSON and the published files all apply. It sits below both the publisher and
//! the dashboards, so that neither has to know the other.

mod formats;
pub mod licence;
mod privacy;
mod public;
pub mod view;

pub use formats::{csv_text, feature_collection, Csv, GeoPoint};
pub use licence::{Licence, LICENCES};
pub use privacy::{
    is_people_count, pseudonym, Coordinates, DatasetPolicy, PrivacyConfig, StationIds,
    PEOPLE_COUNTS,
};
pub use public::{coarsest, PublicPolicy, Publication, QuantityPolicy, DEVICE_QUANTITIES};
