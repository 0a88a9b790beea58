//! The published open data for the dashboard (`sensorhub_dashboards::OpenData`): the
//! DCAT-AP.de catalog of what the folder target wrote, the datasets for the data page (with
//! their portal pages for CKAN datasets), and the files.

use std::path::PathBuf;

use sensorhub_publisher::catalog::{self, CatalogFormat, CatalogInfo, Published};
use sensorhub_publisher::{CkanConfig, DatasetConfig, Target};
use sensorhub_store::Store;

use crate::config::Config;

pub struct OpenDataFiles {
    folder: PathBuf,
    info: CatalogInfo,
    datasets: Vec<DatasetConfig>,
    ckan: Option<CkanConfig>,
    store: Store,
}

impl OpenDataFiles {
    pub fn new(config: &Config, store: Store) -> OpenDataFiles {
        let base = config
            .publisher
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", config.http.listen));
        let site = config.http.site_name.clone();
        let publisher = config
            .datasets
            .iter()
            .map(|d| d.publisher.clone())
            .find(|p| !p.is_empty())
            .unwrap_or_else(|| site.clone());
        OpenDataFiles {
            folder: PathBuf::from(&config.publisher.folder),
            info: CatalogInfo {
                base,
                description: format!("Offene Messdaten: {site}"),
                title: site,
                publisher,
                version_3: false,
            },
            datasets: config.datasets.clone(),
            ckan: config.publisher.ckan.clone(),
            store,
        }
    }

    /// What the folder target published of the configured datasets (reads files: call it
    /// off the async workers).
    fn published(&self) -> Vec<Published> {
        published_in(&self.folder, &self.datasets)
    }
}

fn published_in(folder: &std::path::Path, datasets: &[DatasetConfig]) -> Vec<Published> {
    catalog::published(folder)
        .into_iter()
        .filter(|p| {
            datasets
                .iter()
                .any(|d| d.name == p.name && d.target == Target::Folder)
        })
        .collect()
}

/// A file's media type by its extension.
fn media_type(file: &str) -> &'static str {
    match file.rsplit('.').next() {
        Some("csv") => "text/csv; charset=utf-8",
        Some("geojson") => "application/geo+json",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

impl sensorhub_dashboards::OpenData for OpenDataFiles {
    fn catalog(
        &self,
        ext: &str,
        version_3: bool,
    ) -> Option<Result<(Vec<u8>, &'static str), String>> {
        let format = CatalogFormat::from_extension(ext)?;
        let info = CatalogInfo {
            version_3,
            ..self.info.clone()
        };
        let triples = catalog::triples(&info, &self.published());
        Some(
            catalog::serialize(&triples, format)
                .map(|bytes| (bytes, format.media_type()))
                .map_err(|e| e.to_string()),
        )
    }

    fn datasets(&self) -> sensorhub_dashboards::DatasetsFuture<'_> {
        Box::pin(async move {
            let (folder, datasets) = (self.folder.clone(), self.datasets.clone());
            let published = tokio::task::spawn_blocking(move || published_in(&folder, &datasets))
                .await
                .unwrap_or_default();
            let mut out = Vec::new();
            for d in &self.datasets {
                let here = published.iter().find(|p| p.name == d.name);
                let mut summary = sensorhub_dashboards::DatasetSummary {
                    name: d.name.clone(),
                    title: d.title.clone(),
                    description: d.description.clone(),
                    licence_title: d.licence.title.to_owned(),
                    licence_url: d.licence.url.to_owned(),
                    frequency: d.frequency.clone(),
                    ..Default::default()
                };
                if let Some(p) = here {
                    if let (Some(from), Some(until)) =
                        (p.extra("temporal_start"), p.extra("temporal_end"))
                    {
                        summary.period = Some((from.to_owned(), until.to_owned()));
                    }
                    summary.files = p
                        .resources()
                        .iter()
                        .filter_map(|r| {
                            let name = r["name"].as_str()?.to_owned();
                            let path = format!("/opendata/{}/{name}", d.name);
                            Some((name, r["size"].as_u64().unwrap_or(0), path))
                        })
                        .collect();
                }
                if let (Target::Ckan, Some(ckan)) = (d.target, &self.ckan) {
                    let id = self
                        .store
                        .state()
                        .portal_dataset_id(&ckan.url, &d.name)
                        .await
                        .ok()
                        .flatten();
                    let url = ckan.url.trim_end_matches('/');
                    summary.portal_page = Some(format!(
                        "{url}/dataset/{}",
                        id.as_deref().unwrap_or(&d.name)
                    ));
                }
                // A folder dataset not written yet has nothing to offer.
                if d.target == Target::Ckan || here.is_some() {
                    out.push(summary);
                }
            }
            out
        })
    }

    fn file(&self, dataset: &str, file: &str) -> Option<(Vec<u8>, &'static str)> {
        let safe = |s: &str| {
            !s.is_empty()
                && !s.starts_with('.')
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        };
        if !safe(dataset) || !safe(file) {
            return None;
        }
        let published = self.published();
        let p = published.iter().find(|p| p.name == dataset)?;
        if !p.has_file(file) {
            return None;
        }
        let bytes = std::fs::read(self.folder.join(dataset).join(file)).ok()?;
        Some((bytes, media_type(file)))
    }
}
