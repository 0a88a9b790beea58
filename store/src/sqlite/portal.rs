//! The ids portals gave the published datasets: a dataset is found by the id CKAN returned
//! when it was created, whatever the portal did to its name since.

use rusqlite::params;

use super::{optional, SqliteStore};
use crate::error::Context;
use crate::StoreError;

impl SqliteStore {
    /// The CKAN id of dataset `name` on the portal at `portal` (its URL), if one was stored.
    pub async fn portal_dataset_id(
        &self,
        portal: &str,
        name: &str,
    ) -> Result<Option<String>, StoreError> {
        let (portal, name) = (portal.to_owned(), name.to_owned());
        self.read(move |conn| {
            optional(
                conn.prepare_cached(
                    "SELECT ckan_id FROM portal_datasets WHERE portal = ?1 AND name = ?2",
                )
                .during("find portal dataset")?
                .query_row(params![portal, name], |row| row.get(0)),
            )
            .during("find portal dataset")
        })
        .await
    }

    /// Remembers the CKAN id of dataset `name` on `portal`.
    pub async fn put_portal_dataset_id(
        &self,
        portal: &str,
        name: &str,
        ckan_id: &str,
    ) -> Result<(), StoreError> {
        let (portal, name, id) = (portal.to_owned(), name.to_owned(), ckan_id.to_owned());
        self.write(move |conn| {
            conn.execute(
                "INSERT INTO portal_datasets (portal, name, ckan_id) VALUES (?1, ?2, ?3)
                 ON CONFLICT (portal, name) DO UPDATE SET ckan_id = excluded.ckan_id",
                params![portal, name, id],
            )
            .during("remember portal dataset")?;
            Ok(())
        })
        .await
    }
}
