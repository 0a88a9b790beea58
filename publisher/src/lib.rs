//! Store -> anonymise -> export -> publish: the open-data side of sensorhub.
//!
//! - `dataset`: dataset definitions (`[[datasets]]`) and their checks.
//! - `policy`: the anonymisation policies every public output goes through.
//! - `export`: aggregated rows under the policy, and the files made of them.
//! - `public_policy`: the same policies as the pages, API and live feed apply them.
//! - `guard`: the last check of every file against its policy before it leaves.
//! - `catalog`: the DCAT-AP.de catalog of the published datasets (Turtle, RDF/XML, JSON-LD).
//! - `ckan`: the CKAN Action API client.
//! - `dcat`: DCAT-AP.de vocabularies, political geocoding and the portal profiles.
//! - `publish`: delivery to the local folder or CKAN, uploading only what changed.
//! - `folder`: the embedded default target's `latest.csv` and `stations.geojson`.

pub mod catalog;
pub mod ckan;
pub mod dataset;
pub mod dcat;
pub mod export;
pub mod folder;
pub mod guard;
pub mod public_policy;
pub mod publish;
pub mod schedule;

pub use ckan::{Ckan, CkanConfig, CkanError};
pub use dataset::{DatasetConfig, Target};
pub use folder::{publish_to_folder, FolderConfig, PublishError, PublishReport};
pub use public_policy::public_policy;
pub use publish::{publish_all, Outcome, Prepared, RunOptions};
pub use schedule::run;
pub use sensorhub_policy::{
    Coordinates, DatasetPolicy, PrivacyConfig, PublicPolicy, QuantityPolicy, StationIds,
    DEVICE_QUANTITIES, PEOPLE_COUNTS,
};

/// The `[publisher]` section: the folder target, its schedule, and the CKAN portal.
pub type PublisherConfig = FolderConfig;
