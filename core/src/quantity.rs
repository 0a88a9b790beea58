//! The vocabulary of measured quantities.
//!
//! Decoders speak their vendors' field names; everything after normalisation (the store, the
//! dashboards, published data) speaks only these names and units. Names follow The Things
//! Network's normalized payload schema where it has a term (`air.temperature` becomes
//! `air_temperature`), written in snake case so they work as CSV column values and URL segments.

/// One quantity of the vocabulary with its canonical unit and labels for people.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quantity {
    /// Machine name, used in the store, the API and published files.
    pub name: &'static str,
    /// Canonical unit (UCUM-like symbol as people read it); empty for dimensionless counts.
    pub unit: &'static str,
    /// German label, shown first on resident pages.
    pub label_de: &'static str,
    /// English label.
    pub label_en: &'static str,
    /// The physically plausible range in the canonical unit, inclusive: what a working sensor
    /// can report on this planet (air temperature -90..+70 °C: the records are -89.2 °C at
    /// Vostok and 56.7 °C in Death Valley, WMO; air pressure 300..1100 hPa: the summit of
    /// Everest to beyond the 1084 hPa record, the span of common barometric sensors such as
    /// the BME280; humidity, levels and shares 0..100 %; counts never negative). A value
    /// outside it is a fault or an attack, never a reading.
    pub min: f64,
    pub max: f64,
}

const fn q(
    name: &'static str,
    unit: &'static str,
    label_de: &'static str,
    label_en: &'static str,
    min: f64,
    max: f64,
) -> Quantity {
    Quantity {
        name,
        unit,
        label_de,
        label_en,
        min,
        max,
    }
}

/// Every quantity the gateway can produce without extra configuration.
pub const VOCABULARY: &[Quantity] = &[
    q(
        "air_temperature",
        "°C",
        "Lufttemperatur",
        "Air temperature",
        -90.0,
        70.0,
    ),
    q(
        "relative_humidity",
        "%",
        "Relative Luftfeuchte",
        "Relative humidity",
        0.0,
        100.0,
    ),
    q(
        "air_pressure",
        "hPa",
        "Luftdruck",
        "Air pressure",
        300.0,
        1100.0,
    ),
    q(
        "illuminance",
        "lx",
        "Beleuchtungsstärke",
        "Illuminance",
        0.0,
        200_000.0,
    ),
    q(
        "water_level",
        "m",
        "Wasserstand",
        "Water level",
        -1_000.0,
        10_000.0,
    ),
    q(
        "water_temperature",
        "°C",
        "Wassertemperatur",
        "Water temperature",
        -5.0,
        100.0,
    ),
    q(
        "soil_temperature",
        "°C",
        "Bodentemperatur",
        "Soil temperature",
        -60.0,
        80.0,
    ),
    q("distance", "m", "Abstand", "Distance", 0.0, 50_000.0),
    q(
        "co2",
        "ppm",
        "CO₂-Konzentration",
        "CO₂ concentration",
        0.0,
        100_000.0,
    ),
    q(
        "concentration",
        "ppm",
        "Konzentration",
        "Concentration",
        0.0,
        1_000_000.0,
    ),
    q(
        "battery_voltage",
        "V",
        "Batteriespannung",
        "Battery voltage",
        0.0,
        60.0,
    ),
    q(
        "battery_level",
        "%",
        "Batterieladung",
        "Battery level",
        0.0,
        100.0,
    ),
    q(
        "external_temperature",
        "°C",
        "Temperatur (externer Fühler)",
        "Temperature (external probe)",
        -273.15,
        2_000.0,
    ),
    q("motion", "", "Bewegungen", "Motion count", 0.0, 1e9),
    q(
        "tvoc",
        "ppb",
        "Flüchtige organische Verbindungen",
        "Volatile organic compounds",
        0.0,
        1_000_000.0,
    ),
    q(
        "infrared_and_visible",
        "",
        "Licht (sichtbar und infrarot)",
        "Light (visible and infrared)",
        0.0,
        1e7,
    ),
    q(
        "infrared",
        "",
        "Licht (infrarot)",
        "Light (infrared)",
        0.0,
        1e7,
    ),
    q("occupancy", "", "Belegung", "Occupancy", 0.0, 1e6),
    q(
        "visitor_count",
        "",
        "Besucherzahl",
        "Visitor count",
        0.0,
        1e7,
    ),
    q(
        "parking_occupancy",
        "",
        "Belegte Stellplätze",
        "Occupied parking spaces",
        0.0,
        1e5,
    ),
    q("water_leak", "", "Wasseraustritt", "Water leak", 0.0, 1.0),
    q(
        "pm1_0",
        "µg/m³",
        "Feinstaub PM1",
        "Particulate matter PM1",
        0.0,
        20_000.0,
    ),
    q(
        "pm4",
        "µg/m³",
        "Feinstaub PM4",
        "Particulate matter PM4",
        0.0,
        20_000.0,
    ),
    q(
        "pm0_5_number",
        "1/cm³",
        "Partikelanzahl PM0,5",
        "Particle number PM0.5",
        0.0,
        1e7,
    ),
    q(
        "pm1_0_number",
        "1/cm³",
        "Partikelanzahl PM1",
        "Particle number PM1",
        0.0,
        1e7,
    ),
    q(
        "pm2_5_number",
        "1/cm³",
        "Partikelanzahl PM2,5",
        "Particle number PM2.5",
        0.0,
        1e7,
    ),
    q(
        "pm4_number",
        "1/cm³",
        "Partikelanzahl PM4",
        "Particle number PM4",
        0.0,
        1e7,
    ),
    q(
        "pm10_number",
        "1/cm³",
        "Partikelanzahl PM10",
        "Particle number PM10",
        0.0,
        1e7,
    ),
    q(
        "particle_size",
        "nm",
        "Typische Partikelgröße",
        "Typical particle size",
        0.0,
        100_000.0,
    ),
    q("voltage", "V", "Spannung", "Voltage", -1e5, 1e5),
    q("current", "A", "Stromstärke", "Current", -1e5, 1e5),
    q("power", "W", "Leistung", "Power", -1e9, 1e9),
    q("energy", "kWh", "Energie", "Energy", -1e12, 1e12),
    q("frequency", "Hz", "Frequenz", "Frequency", 0.0, 1e12),
    q("percentage", "%", "Anteil", "Percentage", 0.0, 100.0),
    q("altitude", "m", "Höhe", "Altitude", -11_000.0, 100_000.0),
    q("direction", "°", "Richtung", "Direction", 0.0, 360.0),
    q("latitude", "°", "Breitengrad", "Latitude", -90.0, 90.0),
    q("longitude", "°", "Längengrad", "Longitude", -180.0, 180.0),
    q(
        "acceleration",
        "g",
        "Beschleunigung",
        "Acceleration",
        -1_000.0,
        1_000.0,
    ),
    q("angular_rate", "°/s", "Drehrate", "Angular rate", -1e5, 1e5),
    q(
        "analog_input",
        "",
        "Analogeingang",
        "Analog input",
        -1e9,
        1e9,
    ),
    q(
        "analog_output",
        "",
        "Analogausgang",
        "Analog output",
        -1e9,
        1e9,
    ),
    q(
        "digital_input",
        "",
        "Digitaleingang",
        "Digital input",
        0.0,
        255.0,
    ),
    q(
        "digital_output",
        "",
        "Digitalausgang",
        "Digital output",
        0.0,
        255.0,
    ),
    q("presence", "", "Anwesenheit", "Presence", 0.0, 1e6),
    q("count", "", "Anzahl", "Count", 0.0, 1e12),
    q(
        "soil_moisture",
        "%",
        "Bodenfeuchte",
        "Soil moisture",
        // Probes calibrated with Topp's equation (Decagon/METER 5TM, Decentlab DL-5TM) read a
        // few percent below zero in dry media and in air.
        -5.0,
        100.0,
    ),
    q(
        "pm2_5",
        "µg/m³",
        "Feinstaub PM2,5",
        "Particulate matter PM2.5",
        0.0,
        20_000.0,
    ),
    q(
        "pm10",
        "µg/m³",
        "Feinstaub PM10",
        "Particulate matter PM10",
        0.0,
        20_000.0,
    ), // Terms of The Things Network's normalized payload schema (lib/payload.json of the device
    // repository) that the first vocabulary lacked; units and ranges as that schema gives them.
    q(
        "soil_ec",
        "dS/m",
        "Elektrische Leitfähigkeit des Bodens",
        "Soil electrical conductivity",
        0.0,
        621.0,
    ),
    q("soil_ph", "", "pH-Wert des Bodens", "Soil pH", 0.0, 14.0),
    q(
        "soil_nitrogen",
        "ppm",
        "Stickstoff im Boden",
        "Soil nitrogen",
        0.0,
        1_000_000.0,
    ),
    q(
        "soil_phosphorus",
        "ppm",
        "Phosphor im Boden",
        "Soil phosphorus",
        0.0,
        1_000_000.0,
    ),
    q(
        "soil_potassium",
        "ppm",
        "Kalium im Boden",
        "Soil potassium",
        0.0,
        1_000_000.0,
    ),
    q(
        "soil_depth",
        "m",
        "Messtiefe im Boden",
        "Soil measurement depth",
        0.0,
        100.0,
    ),
    q(
        "wind_speed",
        "m/s",
        "Windgeschwindigkeit",
        "Wind speed",
        0.0,
        120.0,
    ),
    q(
        "wind_direction",
        "°",
        "Windrichtung",
        "Wind direction",
        0.0,
        360.0,
    ),
    q(
        "motion_count",
        "",
        "Bewegungsereignisse",
        "Motion events",
        0.0,
        1e9,
    ),
    q(
        "motion_detected",
        "",
        "Bewegung erkannt",
        "Motion detected",
        0.0,
        1.0,
    ),
    q(
        "contact_open",
        "",
        "Kontakt offen",
        "Contact open",
        0.0,
        1.0,
    ),
    q(
        "water_volume",
        "m³",
        "Wassermenge (Zählerstand)",
        "Water volume (meter reading)",
        0.0,
        1e12,
    ),
    q(
        "water_depth",
        "m",
        "Wassertiefe über dem Sensor",
        "Water depth above the sensor",
        -10.0,
        12_000.0,
    ),
    q(
        "water_ec",
        "µS/cm",
        "Elektrische Leitfähigkeit des Wassers",
        "Water electrical conductivity",
        0.0,
        1_000_000.0,
    ),
    q(
        "precipitation",
        "mm",
        "Niederschlag",
        "Precipitation",
        0.0,
        2_000.0,
    ),
    q(
        "solar_irradiance",
        "W/m²",
        "Globalstrahlung",
        "Solar irradiance",
        0.0,
        2_000.0,
    ),
    q("dew_point", "°C", "Taupunkt", "Dew point", -90.0, 70.0),
];

impl Quantity {
    /// Whether an interval's total is what a value of this quantity means: precipitation (mm
    /// in the interval) and counts of what passed (visitors, pulses). Charts and summaries show
    /// sums of these, not means.
    pub fn is_total(&self) -> bool {
        matches!(
            self.name,
            "precipitation" | "visitor_count" | "count" | "motion_count"
        )
    }

    /// Whether `value` is a finite number within the quantity's plausible range.
    pub fn is_plausible(&self, value: f64) -> bool {
        value.is_finite() && value >= self.min && value <= self.max
    }

    /// The canonical unit as a [`crate::units::Unit`], for conversions.
    pub fn unit(&self) -> &'static crate::units::Unit {
        crate::units::Unit::by_symbol(self.unit).expect("every vocabulary unit is a known unit")
    }

    /// Looks a quantity up by its machine name. A name with a channel suffix
    /// (`air_temperature_3`) or an axis suffix (`acceleration_x`) resolves to its base quantity.
    pub fn by_name(name: &str) -> Option<&'static Quantity> {
        VOCABULARY.iter().find(|q| q.name == name).or_else(|| {
            let (base, suffix) = name.rsplit_once('_')?;
            let is_channel = !suffix.is_empty() && suffix.bytes().all(|b| b.is_ascii_digit());
            let is_axis = matches!(suffix, "x" | "y" | "z");
            // A statistic of one interval (`water_temperature_max`), as normalized payloads give.
            let is_statistic = matches!(suffix, "min" | "max" | "avg");
            if !(is_channel || is_axis || is_statistic) {
                return None;
            }
            Quantity::by_name(base)
        })
    }
}

#[cfg(test)]
mod tests;
