//! Store -> anonymise -> export -> publish: the open-data side of sensorhub.
//!
//! - `dataset`: dataset definitions (`[[datasets]]`) and their checks.
//! - `policy`: the anonymisation policies every public output goes through.
//! - `export`: aggregated rows under the policy, and the files made of them.
//! - `public_policy`: the same policies as the pages, API and live feed apply them.
//! - `guard`: the last check of every file against its policy before it leaves.
//! - `ckan`: the CKAN Action API client.
//! - `publish`: delivery to the local folder or CKAN, uploading only what changed.
//! - `folder`: the embedded default target's `latest.csv` and `stations.geojson`.

pub mod ckan;
pub mod dataset;
pub mod export;
pub mod folder;
pub mod guard;
mod policy;
pub mod public_policy;
pub mod publish;

pub use ckan::{Ckan, CkanConfig, CkanError};
pub use dataset::{DatasetConfig, Target};
pub use folder::{publish_to_folder, FolderConfig, PublishError, PublishReport};
pub use policy::{Coordinates, DatasetPolicy, PrivacyConfig, StationIds, PEOPLE_COUNTS};
pub use public_policy::{PublicPolicy, QuantityPolicy, DEVICE_QUANTITIES};
pub use publish::{publish_all, Outcome, Prepared, RunOptions};

/// The `[publisher]` section: the folder target, its schedule, and the CKAN portal.
pub type PublisherConfig = FolderConfig;
