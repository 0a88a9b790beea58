//! The licences open data may carry, in one table: the config's short id, the DCAT-AP.de URI,
//! the title (as GovData's licence vocabulary names it), the text, and whether users must name
//! the source. The CKAN metadata, the data package and the resident pages all read it here.

/// One licence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Licence {
    /// The short id used in the config (`dl-by-de/2.0`).
    pub id: &'static str,
    pub title: &'static str,
    /// Where the licence text is.
    pub url: &'static str,
    /// Whether the licence requires naming the source (an attribution).
    pub attribution: bool,
}

/// Every licence a dataset or the pages may name.
pub const LICENCES: [Licence; 4] = [
    Licence {
        id: "dl-by-de/2.0",
        title: "Datenlizenz Deutschland – Namensnennung – Version 2.0",
        url: "https://www.govdata.de/dl-de/by-2-0",
        attribution: true,
    },
    Licence {
        id: "dl-zero-de/2.0",
        title: "Datenlizenz Deutschland – Zero – Version 2.0",
        url: "https://www.govdata.de/dl-de/zero-2-0",
        attribution: false,
    },
    Licence {
        id: "cc-by/4.0",
        title: "Creative Commons Namensnennung – 4.0 International (CC BY 4.0)",
        url: "https://creativecommons.org/licenses/by/4.0/",
        attribution: true,
    },
    Licence {
        id: "cc-zero",
        title: "Creative Commons CC Zero License (cc-zero)",
        url: "https://creativecommons.org/publicdomain/zero/1.0/",
        attribution: false,
    },
];

impl Licence {
    /// Datenlizenz Deutschland – Namensnennung – 2.0, the licence German open data usually
    /// carries.
    pub const DEFAULT: &'static Licence = &LICENCES[0];

    /// The licence with this short id.
    pub fn by_id(id: &str) -> Option<&'static Licence> {
        LICENCES.iter().find(|l| l.id == id)
    }

    /// The DCAT-AP.de URI (`http://dcat-ap.de/def/licenses/dl-by-de/2.0`).
    pub fn uri(&self) -> String {
        format!("http://dcat-ap.de/def/licenses/{}", self.id)
    }
}

/// Serde for a licence in a config: its short id, refused unless it is in [`LICENCES`].
/// Use as `#[serde(with = "sensorhub_policy::licence::by_id")]`.
pub mod by_id {
    use super::{Licence, LICENCES};

    pub fn serialize<S: serde::Serializer>(
        licence: &&'static Licence,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(licence.id)
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> Result<&'static Licence, D::Error> {
        let id = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(deserializer)?;
        Licence::by_id(&id).ok_or_else(|| {
            let known: Vec<&str> = LICENCES.iter().map(|l| l.id).collect();
            serde::de::Error::custom(format!(
                "`{id}` is not a licence sensorhub knows (use {})",
                known.join(", ")
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_uris_follow_dcat_ap_de() {
        for (i, a) in LICENCES.iter().enumerate() {
            assert!(LICENCES[i + 1..].iter().all(|b| b.id != a.id));
        }
        assert_eq!(
            Licence::by_id("dl-by-de/2.0").unwrap().uri(),
            "http://dcat-ap.de/def/licenses/dl-by-de/2.0"
        );
        assert!(Licence::by_id("mit").is_none());
    }
}
