//! Stations as places: what people read about one (its name, a description, its theme), where
//! it is, and for a water gauge the datum its levels are measured from. Kept in the registry
//! beside the devices that report under the station.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What a station measures, as residents look for it. Written in German (`wasser`), read in
/// German or English (`water`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Theme {
    Water,
    Weather,
    Air,
    Soil,
    Parking,
    Visitors,
    Noise,
    Energy,
    Other,
}

impl Theme {
    pub const ALL: [Theme; 9] = [
        Theme::Water,
        Theme::Weather,
        Theme::Air,
        Theme::Soil,
        Theme::Parking,
        Theme::Visitors,
        Theme::Noise,
        Theme::Energy,
        Theme::Other,
    ];

    /// The code in configs, files and the API (`wasser`).
    pub const fn as_str(self) -> &'static str {
        self.names().0
    }

    /// (code, English code, German label, English label).
    const fn names(self) -> (&'static str, &'static str, &'static str, &'static str) {
        match self {
            Theme::Water => ("wasser", "water", "Wasser", "Water"),
            Theme::Weather => ("wetter", "weather", "Wetter", "Weather"),
            Theme::Air => ("luft", "air", "Luft", "Air"),
            Theme::Soil => ("boden", "soil", "Boden", "Soil"),
            Theme::Parking => ("parken", "parking", "Parken", "Parking"),
            Theme::Visitors => ("besucher", "visitors", "Besucher", "Visitors"),
            Theme::Noise => ("laerm", "noise", "Lärm", "Noise"),
            Theme::Energy => ("energie", "energy", "Energie", "Energy"),
            Theme::Other => ("sonstiges", "other", "Sonstiges", "Other"),
        }
    }

    pub const fn label_de(self) -> &'static str {
        self.names().2
    }

    pub const fn label_en(self) -> &'static str {
        self.names().3
    }
}

/// Text that is no theme.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("theme `{0}`: use one of wasser, wetter, luft, boden, parken, besucher, laerm, energie, sonstiges (or water, weather, air, soil, parking, visitors, noise, energy, other)")]
pub struct NotATheme(pub String);

impl FromStr for Theme {
    type Err = NotATheme;

    fn from_str(text: &str) -> Result<Self, NotATheme> {
        let t = text.trim().to_ascii_lowercase();
        Theme::ALL
            .into_iter()
            .find(|th| th.names().0 == t || th.names().1 == t)
            .ok_or_else(|| NotATheme(text.to_owned()))
    }
}

impl fmt::Display for Theme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl Serialize for Theme {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Theme {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A water gauge's reference: a sensor that measures the distance down to the water, mounted
/// `sensor_height_m` above the datum (`NHN`, a gauge zero), gives the water level above the
/// datum as height minus distance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gauge {
    /// The datum's name, as gauges state it (`NHN`, `PNP`).
    pub datum: String,
    /// The sensor's height above the datum, in metres.
    pub sensor_height_m: f64,
}

impl Gauge {
    /// A gauge from its two parts as forms and files give them: both, or neither (no gauge).
    pub fn from_parts(
        datum: Option<String>,
        sensor_height_m: Option<f64>,
    ) -> Result<Option<Gauge>, StationError> {
        match (datum, sensor_height_m) {
            (Some(datum), Some(sensor_height_m)) => Ok(Some(Gauge {
                datum,
                sensor_height_m,
            })),
            (None, None) => Ok(None),
            _ => Err(StationError::HalfGauge),
        }
    }

    /// The water level above the datum (m) for a distance measured down to the water (m).
    pub fn water_level(&self, distance_m: f64) -> f64 {
        self.sensor_height_m - distance_m
    }
}

/// A level of one quantity that means something to residents: from `above` (in the quantity's
/// unit) upwards the value is `label_de` / `label_en`. A station's levels of a quantity rank
/// by `above`; the highest one reached is shown, in words and colour.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Level {
    pub quantity: String,
    pub above: f64,
    pub label_de: String,
    pub label_en: String,
}

impl Level {
    /// `water_level>2.5=erhöht/elevated`, as the command line and the CSV write it.
    pub fn parse(text: &str) -> Result<Level, StationError> {
        let bad = || StationError::Level(text.to_owned());
        let (quantity, rest) = text.split_once('>').ok_or_else(bad)?;
        let (above, labels) = rest.split_once('=').ok_or_else(bad)?;
        let (de, en) = labels.split_once('/').unwrap_or((labels, labels));
        let level = Level {
            quantity: quantity.trim().to_owned(),
            above: above.trim().replace(',', ".").parse().map_err(|_| bad())?,
            label_de: de.trim().to_owned(),
            label_en: en.trim().to_owned(),
        };
        if level.quantity.is_empty() || level.label_de.is_empty() || !level.above.is_finite() {
            return Err(bad());
        }
        Ok(level)
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}>{}={}/{}",
            self.quantity, self.above, self.label_de, self.label_en
        )
    }
}

/// What people read about a station. Everything but the id is optional: a station without
/// its own entry is shown under its id, at its devices' position.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct StationInfo {
    /// The public station id the devices report under.
    pub station: String,
    /// The name for people (German, or the place's own name); empty: the id.
    pub name: String,
    pub name_en: Option<String>,
    pub description: String,
    pub description_en: Option<String>,
    pub theme: Option<Theme>,
    /// Where the station is, when its devices' positions are not the place to show.
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    /// For a water gauge: its datum.
    pub gauge: Option<Gauge>,
    /// Levels that mean something, per quantity.
    pub levels: Vec<Level>,
}

/// Why a station entry is refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StationError {
    #[error(
        "station `{}`: a station id is 1 to 64 of a-z, 0-9, `.`, `_` and `-`, starting with a letter or digit (the name for people goes in `name`)",
        .0.escape_default()
    )]
    Id(String),
    #[error("{0}: {1} is outside ±{2}")]
    Coordinate(&'static str, f64, f64),
    #[error("give lat and lon together, or neither")]
    HalfPosition,
    #[error("datum and sensor_height_m: give both (a gauge) or neither")]
    HalfGauge,
    #[error("gauge: the datum needs a name (NHN, PNP, ...) and a finite sensor height in metres")]
    Gauge,
    #[error("{0}: at most 500 characters")]
    TooLong(&'static str),
    #[error(
        "level `{0}`: write QUANTITY>VALUE=WORD/WORD_EN, such as water_level>2.5=erhöht/elevated"
    )]
    Level(String),
    #[error("levels: at most 8, and the words at most 40 characters")]
    TooManyLevels,
}

impl StationInfo {
    /// Checks an entry where it enters (the command line, an import, the workbench).
    pub fn validate(self) -> Result<StationInfo, StationError> {
        if !sensorhub_core::ids::is_station_id(&self.station) {
            return Err(StationError::Id(self.station));
        }
        for (name, value, limit) in [("lat", self.lat, 90.0), ("lon", self.lon, 180.0)] {
            if let Some(v) = value {
                if !(-limit..=limit).contains(&v) {
                    return Err(StationError::Coordinate(name, v, limit));
                }
            }
        }
        if self.lat.is_some() != self.lon.is_some() {
            return Err(StationError::HalfPosition);
        }
        if let Some(g) = &self.gauge {
            if g.datum.trim().is_empty() || !g.sensor_height_m.is_finite() {
                return Err(StationError::Gauge);
            }
        }
        let texts = [
            ("name", Some(&self.name)),
            ("name_en", self.name_en.as_ref()),
            ("description", Some(&self.description)),
            ("description_en", self.description_en.as_ref()),
        ];
        for (field, text) in texts {
            if text.is_some_and(|t| t.chars().count() > 500) {
                return Err(StationError::TooLong(field));
            }
        }
        if self.levels.len() > 8
            || self
                .levels
                .iter()
                .any(|l| l.label_de.chars().count() > 40 || l.label_en.chars().count() > 40)
        {
            return Err(StationError::TooManyLevels);
        }
        for l in &self.levels {
            if !l.above.is_finite() || l.label_de.trim().is_empty() || l.quantity.is_empty() {
                return Err(StationError::Level(l.to_string()));
            }
        }
        Ok(self)
    }

    /// The highest level of `quantity` that `value` reaches, with its rank (1 for the lowest).
    pub fn level_of(&self, quantity: &str, value: f64) -> Option<(usize, &Level)> {
        let mut levels: Vec<&Level> = self
            .levels
            .iter()
            .filter(|l| l.quantity == quantity)
            .collect();
        levels.sort_by(|a, b| a.above.total_cmp(&b.above));
        levels
            .into_iter()
            .enumerate()
            .rev()
            .find(|(_, l)| value >= l.above)
            .map(|(i, l)| (i + 1, l))
    }

    /// The name in a language: English where given, else the name, else the id.
    pub fn name_in(&self, english: bool) -> &str {
        let name = match (&self.name_en, english) {
            (Some(en), true) if !en.trim().is_empty() => en,
            _ => &self.name,
        };
        if name.trim().is_empty() {
            &self.station
        } else {
            name
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn themes_read_in_both_languages_and_write_in_german() {
        assert_eq!("Water".parse::<Theme>().unwrap(), Theme::Water);
        assert_eq!("besucher".parse::<Theme>().unwrap(), Theme::Visitors);
        assert_eq!(Theme::Water.to_string(), "wasser");
        assert!("sea".parse::<Theme>().is_err());
    }

    #[test]
    fn entries_are_checked_and_names_fall_back() {
        let info = StationInfo {
            station: "pegel-wyk".into(),
            name: "Pegel Wyk".into(),
            gauge: Some(Gauge {
                datum: "NHN".into(),
                sensor_height_m: 6.5,
            }),
            ..StationInfo::default()
        };
        let info = info.validate().unwrap();
        assert_eq!(info.name_in(true), "Pegel Wyk");
        assert!((info.gauge.as_ref().unwrap().water_level(5.25) - 1.25).abs() < 1e-9);
        let unnamed = StationInfo {
            station: "s1".into(),
            ..StationInfo::default()
        };
        assert_eq!(unnamed.name_in(false), "s1");
        let bad = |i: StationInfo| i.validate().unwrap_err().to_string();
        assert!(bad(StationInfo {
            station: "Pegel Wyk".into(),
            ..unnamed.clone()
        })
        .contains("station id"));
        assert!(bad(StationInfo {
            lat: Some(54.0),
            ..unnamed.clone()
        })
        .contains("together"));
        assert!(bad(StationInfo {
            lat: Some(95.0),
            lon: Some(8.0),
            ..unnamed.clone()
        })
        .contains("±90"));
    }
}
