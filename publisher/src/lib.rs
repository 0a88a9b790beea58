//! Store -> anonymise -> export: the open-data side of sensorhub.
//!
//! - `policy`: the anonymisation policy every public output goes through.
//! - `folder`: the embedded default target, files under `sensorhub-data/opendata/`.

pub mod folder;
mod policy;

pub use folder::{publish_to_folder, FolderConfig, PublishReport};
pub use policy::PrivacyConfig;
