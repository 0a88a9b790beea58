//! The local folder target: the files a portal would get, written where a web server or a
//! sync job can pick them up.
//!
//! Every file is written to a temporary name and renamed into place, so a reader never sees a
//! half-written file.

use std::path::{Path, PathBuf};

use sensorhub_store::{Store, StoreError};
use serde::{Deserialize, Serialize};

use sensorhub_policy::{feature_collection, Csv, GeoPoint, PublicPolicy};

/// The `[publisher]` config section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FolderConfig {
    /// Where the folder target writes.
    pub folder: String,
    /// Seconds between scheduled publications in `run` and `demo`.
    pub interval_s: u64,
    /// The CKAN portal for datasets with `target = "ckan"`.
    pub ckan: Option<crate::CkanConfig>,
    /// The dashboard's public address (`https://sensoren.example.org`): datasets' landing
    /// pages (`/daten#NAME`) and identifiers (`/datasets/NAME`) are made from it.
    pub public_url: Option<String>,
    /// The DCAT-AP.de contributor of the folder's datasets and the catalog, for a portal that
    /// harvests it (`http://dcat-ap.de/def/contributors/...`); else `[publisher.ckan]`'s.
    pub contributor_id: Option<String>,
}

impl FolderConfig {
    /// The contributor of the folder's datasets: this one, else the portal's.
    pub fn contributor(&self) -> Option<&str> {
        self.contributor_id
            .as_deref()
            .or_else(|| self.ckan.as_ref().and_then(|c| c.contributor()))
    }
}

impl Default for FolderConfig {
    fn default() -> Self {
        FolderConfig {
            folder: "sensorhub-data/opendata".into(),
            interval_s: 300,
            ckan: None,
            public_url: None,
            contributor_id: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Config(String),
    #[error(transparent)]
    Privacy(#[from] crate::guard::Violation),
    #[error(transparent)]
    Ckan(#[from] crate::ckan::CkanError),
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// What one publication wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct PublishReport {
    pub stations: usize,
    pub values: usize,
    pub files: Vec<PathBuf>,
}

/// Writes `latest.csv` (the newest value of every public series) and `stations.geojson`
/// (public stations at the policy's precision) into `config.folder`: the same values and
/// positions as the pages and the JSON API show ([`sensorhub_policy::view::stations`]).
pub async fn publish_to_folder(
    store: &Store,
    config: &FolderConfig,
    policy: &PublicPolicy,
) -> Result<PublishReport, PublishError> {
    let now = sensorhub_store::time::now_ms();
    // A file has no "outdated" mark to show; staleness does not matter here.
    let stations = sensorhub_policy::view::stations(store, policy, i64::MAX, now).await?;
    let mut csv = Csv::new(&["station", "quantity", "time", "value", "unit"]);
    let mut values = 0;
    for s in &stations {
        for v in &s.latest {
            values += 1;
            csv.text(&s.id)
                .text(&v.quantity)
                .value(&v.time)
                .value(v.value)
                .text(&v.unit)
                .end_row();
        }
    }
    let points = stations.iter().filter_map(|s| {
        Some(GeoPoint {
            id: None,
            lat: s.lat?,
            lon: s.lon?,
            properties: crate::export::station_property(&s.id),
        })
    });
    let geojson = feature_collection(points);

    let folder = Path::new(&config.folder);
    let files = vec![
        write_atomically(folder, "latest.csv", csv.into_string().as_bytes())?,
        write_atomically(
            folder,
            "stations.geojson",
            serde_json::to_string_pretty(&geojson)
                .unwrap_or_default()
                .as_bytes(),
        )?,
    ];
    Ok(PublishReport {
        stations: stations.len(),
        values,
        files,
    })
}

pub(crate) fn write_atomically(
    folder: &Path,
    name: &str,
    bytes: &[u8],
) -> Result<PathBuf, PublishError> {
    let path = folder.join(name);
    let fail = |source| PublishError::Write {
        path: path.clone(),
        source,
    };
    std::fs::create_dir_all(folder).map_err(fail)?;
    let tmp = folder.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, bytes).map_err(fail)?;
    std::fs::rename(&tmp, &path).map_err(fail)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PrivacyConfig;
    use sensorhub_store::{Device, Reading, TimeSeries};

    #[tokio::test]
    async fn only_public_stations_leave_and_coordinates_are_coarsened() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&sensorhub_store::StoreConfig {
            path: dir.path().join("s.db").display().to_string(),
            ..Default::default()
        })
        .unwrap();
        let device = |eui: &str, station: &str, public: bool| Device {
            dev_eui: eui.parse().unwrap(),
            name: "n".into(),
            station: station.into(),
            device_type: "cayenne-lpp".parse().unwrap(),
            lat: Some(54.123456),
            lon: Some(8.654321),
            public,
            dev_addr: None,
            nwk_s_key: None,
            app_s_key: None,
        };
        store
            .state()
            .put_devices(vec![
                device("0000000000000001", "pegel, wyk", true),
                device("0000000000000002", "garten-7", false),
            ])
            .await
            .unwrap();
        let reading = |station: &str| Reading {
            station: station.into(),
            quantity: "water_level".into(),
            unit: "m".into(),
            time_ms: 1_658_136_855_775,
            value: 1.25,
        };
        store
            .write(vec![reading("pegel, wyk"), reading("garten-7")])
            .await
            .unwrap();
        let config = FolderConfig {
            folder: dir.path().join("out").display().to_string(),
            interval_s: 60,
            ckan: None,
            public_url: None,
            contributor_id: None,
        };
        let policy = crate::public_policy(&PrivacyConfig::default(), &[]);
        let report = publish_to_folder(&store, &config, &policy).await.unwrap();
        assert_eq!((report.stations, report.values), (1, 1));
        let csv = std::fs::read_to_string(dir.path().join("out/latest.csv")).unwrap();
        assert_eq!(
            csv,
            "station,quantity,time,value,unit\n\"pegel, wyk\",water_level,2022-07-18T09:34:15.775Z,1.25,m\n"
        );
        let geo = std::fs::read_to_string(dir.path().join("out/stations.geojson")).unwrap();
        assert!(geo.contains("54.123") && !geo.contains("54.1234"));
        assert!(!geo.contains("garten"));
    }

    /// The folder is a public surface like the pages: no device health, no small counts of
    /// people, positions as coarse as the strictest series of the station needs.
    #[tokio::test]
    async fn the_folder_applies_the_same_publication_policy_as_the_pages() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&sensorhub_store::StoreConfig {
            path: dir.path().join("s.db").display().to_string(),
            ..Default::default()
        })
        .unwrap();
        store
            .state()
            .put_devices(vec![Device {
                dev_eui: "0000000000000001".parse().unwrap(),
                name: "n".into(),
                station: "strand-nord".into(),
                device_type: "cayenne-lpp".parse().unwrap(),
                lat: Some(54.123456),
                lon: Some(8.654321),
                public: true,
                dev_addr: None,
                nwk_s_key: None,
                app_s_key: None,
            }])
            .await
            .unwrap();
        // Two visitors in one hour, long enough ago that the hour is complete.
        let hour = 1_658_134_800_000;
        let reading = |quantity: &str, unit: &str, time_ms: i64, value: f64| Reading {
            station: "strand-nord".into(),
            quantity: quantity.into(),
            unit: unit.into(),
            time_ms,
            value,
        };
        store
            .write(vec![
                reading("battery_voltage", "V", hour + 60_000, 3.61),
                reading("visitor_count", "", hour + 60_000, 2.0),
                reading("air_temperature", "°C", hour + 60_000, 17.5),
            ])
            .await
            .unwrap();
        let privacy = PrivacyConfig::default();
        let visitors = crate::DatasetConfig {
            quantities: vec!["visitor_count".into()],
            privacy: sensorhub_policy::DatasetPolicy {
                grid_m: Some(1000),
                ..Default::default()
            },
            ..Default::default()
        };
        let policy = crate::public_policy(&privacy, &[visitors]);
        let config = FolderConfig {
            folder: dir.path().join("out").display().to_string(),
            interval_s: 60,
            ckan: None,
            public_url: None,
            contributor_id: None,
        };
        publish_to_folder(&store, &config, &policy).await.unwrap();
        let csv = std::fs::read_to_string(dir.path().join("out/latest.csv")).unwrap();
        assert!(csv.contains("air_temperature"), "{csv}");
        assert!(
            !csv.contains("battery_voltage"),
            "device health left: {csv}"
        );
        assert!(
            !csv.contains("visitor_count"),
            "a count of 2 people left: {csv}"
        );
        let geo = std::fs::read_to_string(dir.path().join("out/stations.geojson")).unwrap();
        // The visitor counts' 1 km grid, not the default three decimals.
        assert!(!geo.contains("54.123"), "{geo}");
    }
}
