//! Dataset definitions (`[[datasets]]`): what is published, how it is aggregated and described,
//! the anonymisation policy it goes through, and where it goes.

use serde::{Deserialize, Serialize};

use sensorhub_store::Resolution;

use sensorhub_core::duration::HumanDuration;
use sensorhub_policy::{DatasetPolicy, Licence};

/// Where a dataset goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    /// The local folder (`publisher.folder`), the embedded default.
    #[default]
    Folder,
    /// The CKAN portal in `[publisher.ckan]`.
    Ckan,
}

/// Aggregation functions a dataset may publish, in column order.
pub const FUNCTIONS: [&str; 5] = ["mean", "min", "max", "count", "sum"];
/// The functions of a dataset that names none: `sum` is for precipitation and counts, where
/// the total is what matters, and is chosen where it is meant.
pub const DEFAULT_FUNCTIONS: [&str; 4] = ["mean", "min", "max", "count"];

/// The EU data-theme vocabulary (the DCAT-AP themes GovData and the Länder portals use).
pub const THEMES: [&str; 13] = [
    "AGRI", "ECON", "EDUC", "ENER", "ENVI", "GOVE", "HEAL", "INTR", "JUST", "REGI", "SOCI", "TECH",
    "TRAN",
];

/// The EU frequency vocabulary entries that fit sensor data.
pub const FREQUENCIES: [&str; 11] = [
    "CONT",
    "UPDATE_CONT",
    "HOURLY",
    "BIHOURLY",
    "DAILY",
    "WEEKLY",
    "BIWEEKLY",
    "MONTHLY",
    "QUARTERLY",
    "ANNUAL",
    "IRREG",
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DatasetConfig {
    /// The CKAN dataset name (also the file prefix): lowercase letters, digits, `-` and `_`.
    pub name: String,
    pub title: String,
    pub title_en: Option<String>,
    pub description: String,
    pub description_en: Option<String>,
    /// Quantities from the vocabulary (`sensorhub config example` lists them).
    pub quantities: Vec<String>,
    /// Public station ids, or `*` for every public station.
    pub stations: Vec<String>,
    /// Aggregation interval: `raw`, `1m`, `15m`, `1h` or `1d`.
    pub interval: Resolution,
    /// Aggregation functions: any of mean, min, max, count, sum.
    pub functions: Vec<String>,
    pub target: Target,
    /// Licence short id (`dl-by-de/2.0`, `dl-zero-de/2.0`, `cc-by/4.0`, `cc-zero`).
    #[serde(with = "sensorhub_policy::licence::by_id")]
    pub licence: &'static Licence,
    /// The attribution the licence asks for (DCAT-AP.de `licenseAttributionByText`).
    pub attribution: String,
    /// EU data-theme codes, such as ENVI or TRAN.
    pub themes: Vec<String>,
    pub keywords: Vec<String>,
    /// The area covered, as an official key: 2 digits a state, 5 a district, 9 a municipal
    /// association (Amt), 12 a municipality (Amtlicher Regionalschlüssel).
    pub spatial: Option<String>,
    /// Who publishes, and whom to ask.
    pub publisher: String,
    pub contact_name: String,
    pub contact_email: String,
    /// How often the data changes, from the EU frequency vocabulary (HOURLY, DAILY, ...).
    pub frequency: String,
    /// How often `run` publishes the dataset (`1h`, `15m`, `1d`).
    pub schedule: HumanDuration,
    /// First day published (`2025-01-01`); by default twelve months back.
    pub since: Option<String>,
    /// Days in the rolling "latest" resource.
    pub latest_days: u32,
    /// In sensorhub's own catalog, a DCAT-AP.de 3.0 DatasetSeries with one dataset a year
    /// (`dcat:inSeries`) instead of one dataset with monthly files.
    pub series: bool,
    /// The anonymisation policy.
    pub privacy: DatasetPolicy,
}

impl DatasetConfig {
    /// What the portal of `profile` would refuse, before anything is sent to it.
    pub fn portal_problems(&self, i: usize, profile: crate::dcat::Profile) -> Vec<String> {
        let mut problems = Vec::new();
        if profile != crate::dcat::Profile::SchleswigHolstein || self.target != Target::Ckan {
            return problems;
        }
        let at = |key: &str| format!("datasets[{i}].{key}");
        match self.spatial.as_deref().map(crate::dcat::Spatial::parse) {
            None => problems.push(format!(
                "{}: the Schleswig-Holstein portal needs the area covered (a key from its list)",
                at("spatial")
            )),
            Some(Ok(spatial)) if !crate::dcat::sh_spatial_known(&spatial.uri()) => {
                let key = self.spatial.as_deref().unwrap_or_default();
                let members = crate::dcat::sh_spatial_members(key);
                let hint = if members.is_empty() {
                    "use the state (01), a district (such as 01054) or a municipality's 12-digit key".to_owned()
                } else {
                    format!(
                        "the portal lists municipalities, not associations: use the district ({}) or a member, such as {}",
                        &key[..5],
                        members[0].rsplit('/').next().unwrap_or_default()
                    )
                };
                problems.push(format!(
                    "{}: `{key}` is not on the Schleswig-Holstein portal's list of keys; {hint}",
                    at("spatial")
                ));
            }
            _ => {}
        }
        if self.themes.is_empty() {
            problems.push(format!(
                "{}: the Schleswig-Holstein portal needs at least one group; name a theme",
                at("themes")
            ));
        }
        problems
    }
}

impl Default for DatasetConfig {
    fn default() -> Self {
        DatasetConfig {
            name: String::new(),
            title: String::new(),
            title_en: None,
            description: String::new(),
            description_en: None,
            quantities: Vec::new(),
            stations: vec!["*".into()],
            interval: Resolution::Hour,
            functions: DEFAULT_FUNCTIONS.iter().map(|f| (*f).to_owned()).collect(),
            target: Target::Folder,
            licence: Licence::DEFAULT,
            attribution: String::new(),
            themes: vec!["ENVI".into()],
            keywords: Vec::new(),
            spatial: None,
            publisher: String::new(),
            contact_name: String::new(),
            contact_email: String::new(),
            frequency: "HOURLY".into(),
            schedule: HumanDuration::from_hours(1),
            since: None,
            latest_days: 7,
            series: false,
            privacy: DatasetPolicy::default(),
        }
    }
}

impl DatasetConfig {
    /// The aggregation interval.
    pub fn resolution(&self) -> Resolution {
        self.interval
    }

    /// The functions in column order.
    pub fn function_columns(&self) -> Vec<&'static str> {
        FUNCTIONS
            .iter()
            .copied()
            .filter(|f| self.functions.iter().any(|g| g == f))
            .collect()
    }

    pub fn publishes_station(&self, id: &str) -> bool {
        self.stations.iter().any(|s| s == "*" || s == id)
    }

    /// What is wrong with the definition, each problem naming its key.
    pub fn problems(&self, index: usize, ckan_configured: bool) -> Vec<String> {
        let at = |key: &str| format!("datasets[{index}].{key}");
        let mut problems = Vec::new();
        let name_ok = (2..=100).contains(&self.name.len())
            && self
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !name_ok {
            problems.push(format!(
                "{}: `{}` is not a CKAN dataset name (2-100 of a-z, 0-9, - and _)",
                at("name"),
                self.name
            ));
        }
        if self.title.trim().is_empty() {
            problems.push(format!("{}: a dataset needs a title", at("title")));
        }
        if self.quantities.is_empty() {
            problems.push(format!("{}: name at least one quantity", at("quantities")));
        }
        for q in &self.quantities {
            match sensorhub_core::Quantity::by_name(q) {
                None => problems.push(format!(
                    "{}: `{q}` is not in the vocabulary",
                    at("quantities")
                )),
                Some(base) if crate::DEVICE_QUANTITIES.contains(&base.name) => {
                    problems.push(format!(
                        "{}: `{q}` is about the device (its battery or position), never published",
                        at("quantities")
                    ))
                }
                Some(_) => {}
            }
        }
        if self.stations.is_empty() {
            problems.push(format!("{}: name station ids or \"*\"", at("stations")));
        }
        for station in self.stations.iter().filter(|s| *s != "*") {
            if !sensorhub_core::ids::is_station_id(station) {
                problems.push(format!(
                    "{}: `{}` is not a station id (a-z, 0-9, `.`, `_`, `-`)",
                    at("stations"),
                    station.escape_default()
                ));
            }
        }
        if self.functions.is_empty() {
            problems.push(format!("{}: name at least one function", at("functions")));
        }
        for f in &self.functions {
            if !FUNCTIONS.contains(&f.as_str()) {
                problems.push(format!(
                    "{}: `{f}` (use mean, min, max, count, sum)",
                    at("functions")
                ));
            }
        }
        if self.licence.attribution && self.attribution.trim().is_empty() {
            problems.push(format!(
                "{}: the licence `{}` requires attribution; say whom to name",
                at("attribution"),
                self.licence.id
            ));
        }
        for t in &self.themes {
            if !THEMES.contains(&t.as_str()) {
                problems.push(format!(
                    "{}: `{t}` is not an EU data-theme code ({})",
                    at("themes"),
                    THEMES.join(", ")
                ));
            }
        }
        if !FREQUENCIES.contains(&self.frequency.as_str()) {
            problems.push(format!(
                "{}: `{}` is not in the EU frequency vocabulary ({})",
                at("frequency"),
                self.frequency,
                FREQUENCIES.join(", ")
            ));
        }
        if let Some(key) = &self.spatial {
            if let Err(e) = crate::dcat::Spatial::parse(key) {
                problems.push(format!("{}: {e}", at("spatial")));
            }
        }
        if self.series && self.target == Target::Ckan {
            problems.push(format!(
                "{}: a series is served in sensorhub's own catalog (/catalog.ttl) of the folder \
                 target; a CKAN portal gets the one dataset with monthly files",
                at("series")
            ));
        }
        if self.target == Target::Ckan && self.keywords.is_empty() {
            problems.push(format!(
                "{}: a portal dataset needs keywords (DCAT-AP.de dcat:keyword), such as \"Pegel\"",
                at("keywords")
            ));
        }
        if self.schedule < HumanDuration::from_mins(1) {
            problems.push(format!(
                "{}: `{}` (a duration of at least 1m, such as 15m or 1h)",
                at("schedule"),
                self.schedule
            ));
        }
        if let Some(since) = &self.since {
            if parse_day(since).is_none() {
                problems.push(format!(
                    "{}: `{since}` is not a date such as 2025-01-01",
                    at("since")
                ));
            }
        }
        if !self.contact_email.is_empty() && !self.contact_email.contains('@') {
            problems.push(format!(
                "{}: `{}` is not an e-mail address",
                at("contact_email"),
                self.contact_email
            ));
        }
        if self.target == Target::Ckan && !ckan_configured {
            problems.push(format!(
                "{}: \"ckan\" needs a [publisher.ckan] section",
                at("target")
            ));
        }
        problems.extend(self.privacy.problems(&at("privacy"), &self.quantities));
        problems
    }
}

/// `2025-01-01` as ms since the epoch (UTC midnight).
pub fn parse_day(text: &str) -> Option<i64> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(text, &format).ok()?;
    Some(date.midnight().assume_utc().unix_timestamp() * 1_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> DatasetConfig {
        DatasetConfig {
            name: "wasserstaende-foehr-amrum".into(),
            title: "Wasserstände Föhr-Amrum".into(),
            quantities: vec!["water_level".into()],
            attribution: "Amt Föhr-Amrum".into(),
            spatial: Some("010545417417".into()),
            ..DatasetConfig::default()
        }
    }

    #[test]
    fn a_complete_definition_has_no_problems() {
        assert_eq!(valid().problems(0, true), Vec::<String>::new());
        assert_eq!(
            valid().licence.uri(),
            "http://dcat-ap.de/def/licenses/dl-by-de/2.0"
        );
    }

    #[test]
    fn device_quantities_and_positions_are_never_published() {
        for q in ["battery_voltage", "latitude", "longitude_2"] {
            let d = DatasetConfig {
                quantities: vec!["water_level".into(), q.into()],
                ..valid()
            };
            let problems = d.problems(0, true).join("\n");
            assert!(problems.contains("never published"), "{q}: {problems}");
        }
        // Series of people counts are people counts: k applies to `visitor_count_2` too.
        assert!(sensorhub_policy::is_people_count("visitor_count_2"));
        assert!(!sensorhub_policy::is_people_count("water_level_2"));
    }

    #[test]
    fn every_mistake_is_named_by_its_key() {
        let bad = DatasetConfig {
            name: "Wasserstände".into(),
            quantities: vec!["water_levl".into()],
            functions: vec!["median".into()],
            themes: vec!["WATER".into()],
            frequency: "SOMETIMES".into(),
            spatial: Some("0105".into()),
            target: Target::Ckan,
            ..valid()
        };
        let problems = bad.problems(2, false).join("\n");
        for key in [
            "datasets[2].name",
            "datasets[2].quantities: `water_levl`",
            "datasets[2].functions",
            "datasets[2].themes",
            "datasets[2].frequency",
            "datasets[2].spatial",
            "datasets[2].target",
        ] {
            assert!(problems.contains(key), "{key} missing in:\n{problems}");
        }
        let no_attribution = DatasetConfig {
            attribution: String::new(),
            ..valid()
        };
        assert!(no_attribution.problems(0, true)[0].contains("attribution"));
    }
}
