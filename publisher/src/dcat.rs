//! DCAT-AP.de's vocabularies as sensorhub uses them: file types and media types as IRIs, the
//! checksum algorithm, political geocoding from a regional key, and the portal profiles
//! (`[publisher.ckan] profile`) that say how a portal wants them.

use serde::{Deserialize, Serialize};

/// How the portal wants the metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Profile {
    /// A CKAN without DCAT-AP.de conventions: formats and media types as plain words.
    Plain,
    /// A portal that supplies GovData (DCAT-AP.de 2.0 "Spezifikation + Konventionen"):
    /// formats, media types and the checksum algorithm as IRIs of their vocabularies.
    #[default]
    Govdata,
    /// The Schleswig-Holstein portal: GovData's rules plus its own (formats as EU file-type
    /// codes it maps, at least one group, `temporal_start` always, its list of regional keys,
    /// dates as it stores them, datasets renamed after their title).
    SchleswigHolstein,
}

impl Profile {
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Plain => "plain",
            Profile::Govdata => "govdata",
            Profile::SchleswigHolstein => "schleswig-holstein",
        }
    }

    /// The contributor id a portal of this profile stands for, when the config names none.
    pub fn default_contributor(self) -> Option<&'static str> {
        match self {
            Profile::SchleswigHolstein => {
                Some("http://dcat-ap.de/def/contributors/schleswigHolstein")
            }
            _ => None,
        }
    }

    /// A resource's `format` as this portal wants it.
    pub fn format(self, format: &str) -> String {
        let code = file_type_code(format);
        match self {
            Profile::Plain => format.to_owned(),
            // The portal maps a format that is an EU code to its IRI, but CKAN first writes
            // known formats its own way (`GEOJSON` becomes `GeoJSON`): only codes CKAN leaves
            // alone go as codes, the rest as IRIs.
            Profile::SchleswigHolstein if matches!(code, "CSV" | "JSON") => code.to_owned(),
            _ => format!("{FILE_TYPE}/{code}"),
        }
    }

    /// A resource's `mimetype` as this portal wants it.
    pub fn media_type(self, mimetype: &str) -> String {
        match self {
            Profile::Plain => mimetype.to_owned(),
            _ => format!("{IANA_MEDIA_TYPES}{mimetype}"),
        }
    }

    /// A date-time as the portal stores it: the Schleswig-Holstein portal keeps
    /// `2026-11-01T00:00:00` (UTC, whole seconds, no zone); the others keep what they got.
    pub fn date(self, rfc3339: &str) -> String {
        match self {
            Profile::SchleswigHolstein => {
                let whole = rfc3339.split('.').next().unwrap_or(rfc3339);
                let whole = whole.trim_end_matches('Z');
                if whole.len() == 10 {
                    format!("{whole}T00:00:00")
                } else {
                    whole.to_owned()
                }
            }
            _ => rfc3339.to_owned(),
        }
    }
}

/// The EU file-type authority table.
pub const FILE_TYPE: &str = "http://publications.europa.eu/resource/authority/file-type";
/// IANA's media-type register, as DCAT-AP.de wants `dcat:mediaType`.
pub const IANA_MEDIA_TYPES: &str = "https://www.iana.org/assignments/media-types/";
/// SHA-256 in DCAT-AP.de's list of checksum algorithms.
pub const SHA_256: &str = "http://dcat-ap.de/def/hashAlgorithms/sha/256";

/// The EU file-type code of a format sensorhub writes.
pub fn file_type_code(format: &str) -> &'static str {
    match format.to_ascii_lowercase().as_str() {
        "csv" => "CSV",
        "geojson" => "GEOJSON",
        "json" => "JSON",
        "rdf" | "rdf/xml" => "RDF_XML",
        "ttl" | "turtle" => "RDF_TURTLE",
        "jsonld" | "json-ld" => "JSON_LD",
        _ => "BIN",
    }
}

/// The area a dataset covers, from an official key (Amtlicher Regionalschlüssel and its
/// parts): 2 digits a state, 5 a district, 9 a municipal association (an Amt), 12 a
/// municipality.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spatial {
    key: String,
}

impl Spatial {
    pub fn parse(key: &str) -> Result<Spatial, String> {
        let key = key.trim();
        if !key.bytes().all(|b| b.is_ascii_digit()) || ![2, 5, 9, 12].contains(&key.len()) {
            return Err(format!(
                "`{key}` is not an official key: 2 digits for a state, 5 for a district, 9 for a \
                 municipal association (Amt), 12 for a municipality (regional key)"
            ));
        }
        Ok(Spatial {
            key: key.to_owned(),
        })
    }

    fn kind(&self) -> (&'static str, &'static str) {
        match self.key.len() {
            2 => ("stateKey", "state"),
            5 => ("districtKey", "administrativeDistrict"),
            9 => ("municipalAssociationKey", "municipality"),
            _ => ("regionalKey", "municipality"),
        }
    }

    /// `dcatde:politicalGeocodingURI` (also CKAN's `spatial_uri`).
    pub fn uri(&self) -> String {
        format!(
            "http://dcat-ap.de/def/politicalGeocoding/{}/{}",
            self.kind().0,
            self.key
        )
    }

    /// `dcatde:politicalGeocodingLevelURI`.
    pub fn level_uri(&self) -> String {
        format!(
            "http://dcat-ap.de/def/politicalGeocoding/Level/{}",
            self.kind().1
        )
    }
}

/// The `spatial_uri` values the Schleswig-Holstein portal accepts (the state, its districts
/// and its municipalities; from the portal's own mapping, `tests/dcat/sh-portal/`), with names.
const SH_SPATIAL: &str = include_str!("../assets/sh-spatial-keys.tsv");

/// Whether the Schleswig-Holstein portal knows `uri`; and if not, what it knows nearby.
pub fn sh_spatial_known(uri: &str) -> bool {
    SH_SPATIAL
        .lines()
        .any(|l| l.split('\t').next() == Some(uri))
}

/// The name the Schleswig-Holstein portal gives `uri`.
pub fn sh_spatial_name(uri: &str) -> Option<&'static str> {
    SH_SPATIAL.lines().find_map(|l| {
        let (key, name) = l.split_once('\t')?;
        (key == uri).then_some(name)
    })
}

/// Keys of the Schleswig-Holstein list under a municipal association (its municipalities).
pub fn sh_spatial_members(association: &str) -> Vec<&'static str> {
    let prefix = format!("http://dcat-ap.de/def/politicalGeocoding/regionalKey/{association}");
    SH_SPATIAL
        .lines()
        .filter_map(|l| l.split('\t').next())
        .filter(|k| k.starts_with(&prefix))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_become_geocoding_iris_by_their_length() {
        let amt = Spatial::parse("010545488").unwrap();
        assert_eq!(
            amt.uri(),
            "http://dcat-ap.de/def/politicalGeocoding/municipalAssociationKey/010545488"
        );
        let wyk = Spatial::parse("010545488164").unwrap();
        assert_eq!(
            wyk.level_uri(),
            "http://dcat-ap.de/def/politicalGeocoding/Level/municipality"
        );
        assert!(Spatial::parse("01054541").is_err());
        assert!(Spatial::parse("01x54").is_err());
        assert_eq!(
            Spatial::parse("01").unwrap().level_uri(),
            "http://dcat-ap.de/def/politicalGeocoding/Level/state"
        );
    }

    #[test]
    fn the_portal_list_knows_wyk_but_not_the_amt() {
        let wyk = Spatial::parse("010545488164").unwrap().uri();
        assert!(sh_spatial_known(&wyk));
        assert_eq!(sh_spatial_name(&wyk), Some("Stadt Wyk auf Föhr"));
        assert!(!sh_spatial_known(
            &Spatial::parse("010545417000").unwrap().uri()
        ));
        assert!(!sh_spatial_known(
            &Spatial::parse("010545488").unwrap().uri()
        ));
        let members = sh_spatial_members("010545488");
        assert!(members.len() >= 10, "{members:?}");
    }

    #[test]
    fn profiles_write_formats_and_dates_their_way() {
        assert_eq!(
            Profile::Govdata.format("GeoJSON"),
            "http://publications.europa.eu/resource/authority/file-type/GEOJSON"
        );
        assert_eq!(Profile::SchleswigHolstein.format("CSV"), "CSV");
        assert_eq!(
            Profile::SchleswigHolstein.format("GeoJSON"),
            "http://publications.europa.eu/resource/authority/file-type/GEOJSON"
        );
        assert_eq!(Profile::Plain.format("GeoJSON"), "GeoJSON");
        assert_eq!(
            Profile::Govdata.media_type("text/csv"),
            "https://www.iana.org/assignments/media-types/text/csv"
        );
        assert_eq!(
            Profile::SchleswigHolstein.date("2026-11-01T10:00:00.000Z"),
            "2026-11-01T10:00:00"
        );
        assert_eq!(
            Profile::SchleswigHolstein.date("2026-11-01"),
            "2026-11-01T00:00:00"
        );
        assert_eq!(Profile::Govdata.date("2026-11-01"), "2026-11-01");
    }
}
