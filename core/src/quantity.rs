//! The vocabulary of measured quantities.
//!
//! Decoders speak their vendors' field names; everything after normalisation (the store, the
//! dashboards, published data) speaks only these names and units. Names follow The Things
//! Network's normalized payload schema where it has a term (`air.temperature` becomes
//! `air_temperature`), written in snake case so they work as CSV column values and URL segments.

/// One quantity of the vocabulary with its canonical unit and labels for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quantity {
    /// Machine name, used in the store, the API and published files.
    pub name: &'static str,
    /// Canonical unit (UCUM-like symbol as people read it); empty for dimensionless counts.
    pub unit: &'static str,
    /// German label, shown first on resident pages.
    pub label_de: &'static str,
    /// English label.
    pub label_en: &'static str,
}

const fn q(
    name: &'static str,
    unit: &'static str,
    label_de: &'static str,
    label_en: &'static str,
) -> Quantity {
    Quantity {
        name,
        unit,
        label_de,
        label_en,
    }
}

/// Every quantity the gateway can produce without extra configuration.
pub const VOCABULARY: &[Quantity] = &[
    q("air_temperature", "°C", "Lufttemperatur", "Air temperature"),
    q(
        "relative_humidity",
        "%",
        "Relative Luftfeuchte",
        "Relative humidity",
    ),
    q("air_pressure", "hPa", "Luftdruck", "Air pressure"),
    q("illuminance", "lx", "Beleuchtungsstärke", "Illuminance"),
    q("water_level", "m", "Wasserstand", "Water level"),
    q(
        "water_temperature",
        "°C",
        "Wassertemperatur",
        "Water temperature",
    ),
    q(
        "soil_temperature",
        "°C",
        "Bodentemperatur",
        "Soil temperature",
    ),
    q("distance", "m", "Abstand", "Distance"),
    q("co2", "ppm", "CO₂-Konzentration", "CO₂ concentration"),
    q("concentration", "ppm", "Konzentration", "Concentration"),
    q(
        "battery_voltage",
        "V",
        "Batteriespannung",
        "Battery voltage",
    ),
    q("battery_level", "%", "Batterieladung", "Battery level"),
    q(
        "external_temperature",
        "°C",
        "Temperatur (externer Fühler)",
        "Temperature (external probe)",
    ),
    q("motion", "", "Bewegungen", "Motion count"),
    q(
        "tvoc",
        "ppb",
        "Flüchtige organische Verbindungen",
        "Volatile organic compounds",
    ),
    q(
        "infrared_and_visible",
        "",
        "Licht (sichtbar und infrarot)",
        "Light (visible and infrared)",
    ),
    q("infrared", "", "Licht (infrarot)", "Light (infrared)"),
    q("occupancy", "", "Belegung", "Occupancy"),
    q("visitor_count", "", "Besucherzahl", "Visitor count"),
    q(
        "parking_occupancy",
        "",
        "Belegte Stellplätze",
        "Occupied parking spaces",
    ),
    q("water_leak", "", "Wasseraustritt", "Water leak"),
    q("pm1_0", "µg/m³", "Feinstaub PM1", "Particulate matter PM1"),
    q("pm4", "µg/m³", "Feinstaub PM4", "Particulate matter PM4"),
    q(
        "pm0_5_number",
        "1/cm³",
        "Partikelanzahl PM0,5",
        "Particle number PM0.5",
    ),
    q(
        "pm1_0_number",
        "1/cm³",
        "Partikelanzahl PM1",
        "Particle number PM1",
    ),
    q(
        "pm2_5_number",
        "1/cm³",
        "Partikelanzahl PM2,5",
        "Particle number PM2.5",
    ),
    q(
        "pm4_number",
        "1/cm³",
        "Partikelanzahl PM4",
        "Particle number PM4",
    ),
    q(
        "pm10_number",
        "1/cm³",
        "Partikelanzahl PM10",
        "Particle number PM10",
    ),
    q(
        "particle_size",
        "nm",
        "Typische Partikelgröße",
        "Typical particle size",
    ),
    q("voltage", "V", "Spannung", "Voltage"),
    q("current", "A", "Stromstärke", "Current"),
    q("power", "W", "Leistung", "Power"),
    q("energy", "kWh", "Energie", "Energy"),
    q("frequency", "Hz", "Frequenz", "Frequency"),
    q("percentage", "%", "Anteil", "Percentage"),
    q("altitude", "m", "Höhe", "Altitude"),
    q("direction", "°", "Richtung", "Direction"),
    q("latitude", "°", "Breitengrad", "Latitude"),
    q("longitude", "°", "Längengrad", "Longitude"),
    q("acceleration", "g", "Beschleunigung", "Acceleration"),
    q("angular_rate", "°/s", "Drehrate", "Angular rate"),
    q("analog_input", "", "Analogeingang", "Analog input"),
    q("analog_output", "", "Analogausgang", "Analog output"),
    q("digital_input", "", "Digitaleingang", "Digital input"),
    q("digital_output", "", "Digitalausgang", "Digital output"),
    q("presence", "", "Anwesenheit", "Presence"),
    q("count", "", "Anzahl", "Count"),
    q("soil_moisture", "%", "Bodenfeuchte", "Soil moisture"),
    q(
        "pm2_5",
        "µg/m³",
        "Feinstaub PM2,5",
        "Particulate matter PM2.5",
    ),
    q("pm10", "µg/m³", "Feinstaub PM10", "Particulate matter PM10"),
];

impl Quantity {
    /// Looks a quantity up by its machine name. A name with a channel suffix
    /// (`air_temperature_3`) or an axis suffix (`acceleration_x`) resolves to its base quantity.
    pub fn by_name(name: &str) -> Option<&'static Quantity> {
        VOCABULARY.iter().find(|q| q.name == name).or_else(|| {
            let (base, suffix) = name.rsplit_once('_')?;
            let is_channel = !suffix.is_empty() && suffix.bytes().all(|b| b.is_ascii_digit());
            let is_axis = matches!(suffix, "x" | "y" | "z");
            if !(is_channel || is_axis) {
                return None;
            }
            Quantity::by_name(base)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_snake_case() {
        for (i, a) in VOCABULARY.iter().enumerate() {
            assert!(a
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'));
            assert!(
                VOCABULARY[i + 1..].iter().all(|b| b.name != a.name),
                "{}",
                a.name
            );
        }
    }

    #[test]
    fn channel_suffix_resolves_to_base_quantity() {
        assert_eq!(Quantity::by_name("air_temperature_3").unwrap().unit, "°C");
        assert_eq!(Quantity::by_name("pm2_5").unwrap().name, "pm2_5");
        assert_eq!(Quantity::by_name("acceleration_z").unwrap().unit, "g");
        assert_eq!(Quantity::by_name("acceleration_x_2").unwrap().unit, "g");
        assert!(Quantity::by_name("air_temperature_q").is_none());
        assert!(Quantity::by_name("nonsense").is_none());
    }
}
