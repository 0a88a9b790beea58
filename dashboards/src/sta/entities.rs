//! The SensorThings entities of the public data: a station is a Thing at a Location (its
//! coarsened position, also its FeatureOfInterest), each of its public quantities a Datastream
//! of an ObservedProperty measured by a Sensor, each published value an Observation. Ids are
//! strings made of public station ids and quantity names, so they are the same after a restart.

use serde_json::{json, Map, Value};

use sensorhub_core::Quantity;

use super::sensors::Model;
use crate::public::PublicStation;

/// The separator inside composite ids: `pegel-wyk~water_level~1764600000000`.
pub const SEP: char = '~';

pub const OM_MEASUREMENT: &str =
    "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement";

/// A point as GeoJSON, where the station has a (coarsened) position.
pub fn point(s: &PublicStation) -> Value {
    match (s.lat, s.lon) {
        (Some(lat), Some(lon)) => json!({"type": "Point", "coordinates": [lon, lat]}),
        _ => Value::Null,
    }
}

/// The UCUM code of a unit as sensorhub writes it, for `unitOfMeasurement.definition`.
pub fn ucum(unit: &str) -> Option<&'static str> {
    Some(match unit {
        "°C" => "Cel",
        "%" => "%",
        "hPa" => "hPa",
        "m" => "m",
        "cm" => "cm",
        "mm" => "mm",
        "m/s" => "m/s",
        "km/h" => "km/h",
        "°" => "deg",
        "ppm" => "[ppm]",
        "µg/m³" => "ug/m3",
        "lx" => "lx",
        "W/m²" => "W/m2",
        "V" => "V",
        "µS/cm" => "uS/cm",
        "" => "1",
        _ => return None,
    })
}

/// Links of one entity: its own and its navigation properties.
pub struct Links<'a> {
    pub base: &'a str,
}

impl Links<'_> {
    pub fn entity(&self, set: &str, id: &str) -> String {
        format!("{}/{set}('{}')", self.base, id.replace('\'', "''"))
    }

    fn with_links(
        &self,
        set: &str,
        id: &str,
        navs: &[&str],
        mut body: Map<String, Value>,
    ) -> Value {
        let link = self.entity(set, id);
        for nav in navs {
            body.insert(
                format!("{nav}@iot.navigationLink"),
                json!(format!("{link}/{nav}")),
            );
        }
        body.insert("@iot.id".into(), json!(id));
        body.insert("@iot.selfLink".into(), json!(link));
        Value::Object(body)
    }

    pub fn thing(&self, s: &PublicStation, page: &str) -> Value {
        let mut body = Map::new();
        body.insert("name".into(), json!(s.name));
        body.insert("description".into(), json!(s.description));
        body.insert(
            "properties".into(),
            json!({
                "theme": s.theme.map(|t| t.as_str()),
                "page": format!("{page}/stations/{}", s.id),
            }),
        );
        self.with_links(
            "Things",
            &s.id,
            &["Locations", "HistoricalLocations", "Datastreams"],
            body,
        )
    }

    pub fn location(&self, s: &PublicStation) -> Value {
        let mut body = Map::new();
        body.insert("name".into(), json!(s.name));
        body.insert("description".into(), json!(s.description));
        body.insert("encodingType".into(), json!("application/geo+json"));
        body.insert("location".into(), point(s));
        self.with_links("Locations", &s.id, &["Things", "HistoricalLocations"], body)
    }

    pub fn historical_location(&self, s: &PublicStation) -> Value {
        let mut body = Map::new();
        // Stations stay where they are: one historical location, as of the newest value.
        let time = s.latest.iter().map(|v| v.time.as_str()).max().unwrap_or("");
        body.insert("time".into(), json!(time));
        self.with_links("HistoricalLocations", &s.id, &["Thing", "Locations"], body)
    }

    pub fn feature(&self, s: &PublicStation) -> Value {
        let mut body = Map::new();
        body.insert("name".into(), json!(s.name));
        body.insert("description".into(), json!(s.description));
        body.insert("encodingType".into(), json!("application/geo+json"));
        body.insert("feature".into(), point(s));
        self.with_links("FeaturesOfInterest", &s.id, &["Observations"], body)
    }

    /// A Datastream; its phenomenon time runs from `start_ms` (when its series begins, where
    /// known; else its newest value) to its newest value.
    pub fn datastream(
        &self,
        s: &PublicStation,
        quantity: &str,
        unit: &str,
        start_ms: Option<i64>,
    ) -> Value {
        let id = format!("{}{SEP}{quantity}", s.id);
        let newest = s
            .latest
            .iter()
            .find(|v| v.quantity == quantity)
            .map(|v| v.time.as_str());
        let q = Quantity::by_name(quantity);
        let label = q.map_or(quantity, |q| q.label_en);
        let mut body = Map::new();
        body.insert("name".into(), json!(format!("{label} at {}", s.name)));
        body.insert(
            "description".into(),
            json!(format!("{label} measured at the station {}", s.name)),
        );
        body.insert(
            "unitOfMeasurement".into(),
            json!({
                "name": unit,
                "symbol": unit,
                "definition": ucum(unit)
                    .map(|c| format!("https://ucum.org/ucum#{c}"))
                    .unwrap_or_default(),
            }),
        );
        body.insert("observationType".into(), json!(OM_MEASUREMENT));
        body.insert("observedArea".into(), point(s));
        if let Some(end) = newest {
            let start = start_ms
                .map(sensorhub_store::time::format_rfc3339)
                .filter(|start| start.as_str() <= end)
                .unwrap_or_else(|| end.to_owned());
            body.insert("phenomenonTime".into(), json!(format!("{start}/{end}")));
        }
        self.with_links(
            "Datastreams",
            &id,
            &["Thing", "Sensor", "ObservedProperty", "Observations"],
            body,
        )
    }

    pub fn sensor(&self, model: &Model) -> Value {
        let mut body = Map::new();
        body.insert("name".into(), json!(model.name));
        body.insert("description".into(), json!(model.description));
        body.insert("encodingType".into(), json!(model.encoding));
        body.insert("metadata".into(), json!(model.metadata));
        self.with_links("Sensors", &model.id, &["Datastreams"], body)
    }

    pub fn observed_property(&self, quantity: &str) -> Value {
        let q = Quantity::by_name(quantity);
        let mut body = Map::new();
        body.insert("name".into(), json!(q.map_or(quantity, |q| q.label_en)));
        body.insert(
            "definition".into(),
            json!(format!("urn:sensorhub:quantity:{quantity}")),
        );
        body.insert(
            "description".into(),
            json!(q.map_or(String::new(), |q| format!(
                "{} ({})",
                q.label_en, q.label_de
            ))),
        );
        self.with_links("ObservedProperties", quantity, &["Datastreams"], body)
    }

    pub fn observation(&self, datastream: &str, time: &str, time_ms: i64, result: f64) -> Value {
        let id = format!("{datastream}{SEP}{time_ms}");
        let mut body = Map::new();
        body.insert("phenomenonTime".into(), json!(time));
        body.insert("resultTime".into(), json!(time));
        body.insert("result".into(), json!(result));
        self.with_links(
            "Observations",
            &id,
            &["Datastream", "FeatureOfInterest"],
            body,
        )
    }
}
