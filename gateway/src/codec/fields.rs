//! The built-in dictionary of vendor field names: which quantity a codec's field means, and in
//! which unit the vendor documents it when the codec does not say.
//!
//! Written from the vendors' documentation and published codecs of The Things Network's device
//! repository (Dragino's `TempC_SHT`/`BatV`, Decentlab's `barometric_pressure`, Milesight's
//! `pm2_5`, Elsys's `humidity`, ...). An entry without a unit names the quantity only: such a
//! field becomes a reading when the codec itself gives the unit (a `{value, unit}` pair, a
//! `"12 mm"` string, a `_mm` suffix), never on a guess, because vendors disagree (`distance` is
//! mm at Milesight and cm elsewhere, `pressure` Pa or hPa).
//!
//! Names are compared in a lenient form: lowercase, without `_`, `-`, `.` and spaces, except
//! that `_` and `.` between two digits stay as `.` (`PM2_5` and `pm2.5` are one name, `pm1_0`
//! is not `pm10`).

/// One entry: lenient name, the quantities it can mean (chosen by the unit's dimension when
/// more than one), and the unit the vendor documents for it, if there is one.
struct Entry {
    name: &'static str,
    quantities: &'static [&'static str],
    unit: Option<&'static str>,
}

const fn e(
    name: &'static str,
    quantities: &'static [&'static str],
    unit: Option<&'static str>,
) -> Entry {
    Entry {
        name,
        quantities,
        unit,
    }
}

const AIR_T: &[&str] = &["air_temperature"];
const EXT_T: &[&str] = &["external_temperature"];
const SOIL_T: &[&str] = &["soil_temperature"];
const WATER_T: &[&str] = &["water_temperature"];
const RH: &[&str] = &["relative_humidity"];
const PRESSURE: &[&str] = &["air_pressure"];
const CO2: &[&str] = &["co2"];
const BATTERY: &[&str] = &["battery_voltage", "battery_level"];
const BATTERY_V: &[&str] = &["battery_voltage"];
const BATTERY_PCT: &[&str] = &["battery_level"];
const DISTANCE: &[&str] = &["distance"];
const LEVEL: &[&str] = &["water_level"];
const LUX: &[&str] = &["illuminance"];
const SOIL_M: &[&str] = &["soil_moisture"];
const SOIL_EC: &[&str] = &["soil_ec"];
const PEOPLE: &[&str] = &["visitor_count"];
const MOTION: &[&str] = &["motion_count"];

const C: Option<&str> = Some("°C");
const PCT: Option<&str> = Some("%");
const NONE: Option<&str> = None;

const DICTIONARY: &[Entry] = &[
    // air temperature, °C wherever vendors do not say otherwise
    e("temperature", AIR_T, C),
    e("temp", AIR_T, C),
    e("tempc", AIR_T, C),
    e("airtemperature", AIR_T, C),
    e("ambienttemperature", AIR_T, C),
    e("tempcsht", AIR_T, C), // Dragino LHT65: the built-in SHT20/SHT31
    e("temperaturesht", AIR_T, C),
    e("tempcds", EXT_T, C), // Dragino: the DS18B20 probe on a cable
    e("externaltemperature", EXT_T, C),
    e("temperatureexternal", EXT_T, C),
    e("exttemperature", EXT_T, C),
    e("tempext", EXT_T, C),
    e("probetemperature", EXT_T, C),
    e("tempcds18b20", EXT_T, C),             // Dragino LSE01
    e("extthermistortemperature", EXT_T, C), // MClimate HT sensor
    e("sensortemperature", AIR_T, C),        // MClimate: the sensor's own ambient reading
    e("soiltemperature", SOIL_T, C),
    e("tempsoil", SOIL_T, C), // Dragino LSE01 `temp_SOIL`
    e("watertemperature", WATER_T, C),
    e("watertemp", WATER_T, C),
    e("dewpoint", &["dew_point"], C),
    // humidity, %
    e("humidity", RH, PCT),
    e("humi", RH, PCT),
    e("hum", RH, PCT),
    e("humsht", RH, PCT),
    e("relativehumidity", RH, PCT),
    e("airhumidity", RH, PCT),
    e("rh", RH, PCT),
    // air pressure: Pa, hPa and kPa are all in use; the codec must say
    e("pressure", PRESSURE, NONE),
    e("airpressure", PRESSURE, NONE),
    e("barometricpressure", PRESSURE, NONE),
    e("atmosphericpressure", PRESSURE, NONE),
    e("barometer", PRESSURE, NONE),
    // gases: CO2 is given in ppm by every vendor; VOCs in ppb, µg/m³ or an index
    e("co2", CO2, Some("ppm")),
    e("carbondioxide", CO2, Some("ppm")),
    e("co2concentration", CO2, Some("ppm")),
    e("tvoc", &["tvoc"], NONE),
    // particulate matter mass concentrations, µg/m³ throughout
    e("pm1", &["pm1_0"], Some("µg/m³")),
    e("pm1.0", &["pm1_0"], Some("µg/m³")),
    e("pm2.5", &["pm2_5"], Some("µg/m³")),
    e("pm25", &["pm2_5"], Some("µg/m³")),
    e("pm4", &["pm4"], Some("µg/m³")),
    e("pm4.0", &["pm4"], Some("µg/m³")),
    e("pm10", &["pm10"], Some("µg/m³")),
    e("pm10.0", &["pm10"], Some("µg/m³")),
    e("pm1.0massconcentration", &["pm1_0"], NONE), // Decentlab DL-PM, with units
    e("pm2.5massconcentration", &["pm2_5"], NONE),
    e("pm4massconcentration", &["pm4"], NONE),
    e("pm10massconcentration", &["pm10"], NONE),
    e("pm0.5numberconcentration", &["pm0_5_number"], NONE),
    e("pm1.0numberconcentration", &["pm1_0_number"], NONE),
    e("pm2.5numberconcentration", &["pm2_5_number"], NONE),
    e("pm4numberconcentration", &["pm4_number"], NONE),
    e("pm10numberconcentration", &["pm10_number"], NONE),
    e("typicalparticlesize", &["particle_size"], NONE),
    // light
    e("lux", LUX, Some("lx")),
    e("illuminance", LUX, Some("lx")),
    e("illumination", LUX, NONE),
    e("light", LUX, NONE),
    e("lightintensity", LUX, NONE),
    // battery: a voltage or a share, told apart by the unit
    e("battery", BATTERY, NONE),
    e("bat", BATTERY, NONE),
    e("batv", BATTERY_V, Some("V")), // Dragino
    e("vbat", BATTERY_V, NONE),
    e("batteryvoltage", BATTERY_V, Some("V")), // MClimate, nwave, Ellenex: V
    e("batvoltage", BATTERY_V, NONE),
    e("batterylevel", BATTERY_PCT, PCT),
    e("batterypercent", BATTERY_PCT, PCT),
    e("batterypercentage", BATTERY_PCT, PCT),
    e("batterystatus", BATTERY_PCT, NONE),
    // distance and water: mm, cm and m are all in use
    e("distance", DISTANCE, NONE),
    e("dist", DISTANCE, NONE),
    e("range", DISTANCE, NONE),
    e("level", LEVEL, NONE),
    e("waterlevel", LEVEL, NONE),
    e("waterdepth", &["water_depth"], NONE),
    e("depth", &["water_depth"], NONE),
    e("electricalconductivity", &["water_ec"], NONE),
    // vocabulary words that vendors use in their own units (mV, mA, Wh, mg, ...)
    e("voltage", &["voltage"], NONE),
    e("current", &["current"], NONE),
    e("power", &["power"], NONE),
    e("energy", &["energy"], NONE),
    e("altitude", &["altitude"], NONE),
    e("acceleration", &["acceleration"], NONE),
    // soil
    e("soilmoisture", SOIL_M, PCT),
    e("watersoil", SOIL_M, PCT), // Dragino LSE01 `water_SOIL`
    e("volumetricwatercontent", SOIL_M, NONE),
    e("vwc", SOIL_M, NONE),
    e("moisture", SOIL_M, NONE),
    e("soilconductivity", SOIL_EC, NONE),
    e("soilec", SOIL_EC, NONE),
    e("conductsoil", SOIL_EC, Some("µS/cm")), // Dragino LSE01 `conduct_SOIL`
    e("ec", SOIL_EC, NONE),
    // weather
    e("windspeed", &["wind_speed"], NONE),
    e("winddirection", &["wind_direction"], Some("°")),
    e("rain", &["precipitation"], NONE),
    e("rainfall", &["precipitation"], NONE),
    e("precipitation", &["precipitation"], NONE),
    e("solarradiation", &["solar_irradiance"], NONE),
    e("irradiance", &["solar_irradiance"], NONE),
    // counts of people and events: plain numbers
    e("pax", PEOPLE, Some("")),
    e("people", PEOPLE, Some("")),
    e("peoplecount", PEOPLE, Some("")),
    e("visitors", PEOPLE, Some("")),
    e("visitorcount", PEOPLE, Some("")),
    e("motion", MOTION, Some("")),
    e("motioncount", MOTION, Some("")),
    e("pircount", MOTION, Some("")),
    e("occupancy", &["occupancy"], Some("")),
    e("peoplecounterall", &["occupancy"], Some("")), // Milesight VS121: people in view now
    e("ltr", PEOPLE, Some("")),                      // Parametric PCR2: left to right
    e("rtl", PEOPLE, Some("")),                      // and right to left, since the last uplink
    e("countervalue", &["count"], Some("")),         // nwave NCC405
    e("occupied", &["parking_occupancy"], Some("")), // Bosch PLS: the bay is taken
    e("carpresence", &["parking_occupancy"], Some("")),
    // SenseCAP measurement ids (Seeed's list of measurement types)
    e("sensecap:4097", AIR_T, C),
    e("sensecap:4098", RH, PCT),
    e("sensecap:4099", LUX, Some("lx")),
    e("sensecap:4100", CO2, Some("ppm")),
    e("sensecap:4101", PRESSURE, Some("Pa")),
    e("sensecap:4102", SOIL_T, C),
    e("sensecap:4103", SOIL_M, PCT),
    e("sensecap:4104", &["wind_direction"], Some("°")),
    e("sensecap:4105", &["wind_speed"], Some("m/s")),
    e("waterleak", &["water_leak"], Some("")),
    e("leak", &["water_leak"], Some("")),
];

/// Where one codec's field means something else than the name says: the codec (the file stem
/// of its JavaScript file or device repository definition), the lenient name, and what it is
/// (`None`: the device's own state, not a measurement of its surroundings; kept unmapped).
const BY_CODEC: &[(&str, &str, Option<Entry>)] = &[
    // Parametric PCR2: `TEMP` is the CPU's temperature (Parametric's payload documentation).
    ("pcr2", "temp", None),
    // nwave NPS405 and Bosch PLS: parking sensors in the road surface report their own
    // housing's temperature.
    ("nps405", "temperature", None),
    ("tps110-0292", "temperature", None),
    ("tpl110-0292", "temperature", None),
    // MClimate HT: 0 while no thermistor is connected (`thermistorProperlyConnected`); map it
    // with a rule where one is.
    ("ht-sensor", "extthermistortemperature", None),
    // Dingtek DF702: `level` is the ultrasonic distance to the surface below.
    ("df702", "level", Some(e("level", DISTANCE, NONE))),
    // Tinovi PM-IO-5-SM: a soil probe; `temp` is the soil's.
    ("pm-io-5-sm", "temp", Some(e("temp", SOIL_T, C))),
    // Browan TBMS100: `count` is the number of motion events.
    ("tbms100", "count", Some(e("count", MOTION, Some("")))),
    // Units the vendors document for their `battery` and `light` fields.
    ("lse01", "bat", Some(e("bat", BATTERY_V, Some("V")))),
    (
        "tbhh100",
        "battery",
        Some(e("battery", BATTERY_V, Some("V"))),
    ),
    (
        "tbhv110",
        "battery",
        Some(e("battery", BATTERY_V, Some("V"))),
    ),
    ("em300-th", "battery", Some(e("battery", BATTERY_PCT, PCT))),
    (
        "loradevelopkit-e5",
        "battery",
        Some(e("battery", BATTERY_PCT, PCT)),
    ),
    ("elsys", "light", Some(e("light", LUX, Some("lx")))),
    ("ers-co2", "light", Some(e("light", LUX, Some("lx")))),
];

/// Where a codec's `normalizeUplink` files a value under a term that says less than the
/// vendor's documentation: the codec, the normalized path, the quantity it is.
const NORMALIZED_BY_CODEC: &[(&str, &str, &str)] = &[
    // Dragino LHT65: the second air temperature is the DS18B20 probe on its cable, which may
    // hang in water or soil (the built-in `dragino-lht65` decoder calls it the same).
    ("lht65", "1:air.temperature", "external_temperature"),
];

/// The quantity a codec's own normalized term is, where the vendor's documentation says more
/// than the term.
pub fn normalized_term(device_type: &str, path: &str) -> Option<&'static str> {
    let stem = codec_stem(device_type);
    NORMALIZED_BY_CODEC
        .iter()
        .find(|(c, p, _)| *c == stem && *p == path)
        .map(|(_, _, q)| *q)
}

/// The codec's stem of a device type: `ttn:parametric/pcr2` and `js:/etc/codecs/pcr2.js` are
/// both `pcr2`; a repository definition's `-codec` suffix is dropped.
fn codec_stem(device_type: &str) -> &str {
    let last = device_type.rsplit(['/', ':']).next().unwrap_or(device_type);
    let last = last.strip_suffix(".js").unwrap_or(last);
    let last = last.strip_suffix(".yaml").unwrap_or(last);
    last.strip_suffix("-codec").unwrap_or(last)
}

/// A field name in the lenient form the dictionary uses.
pub fn lenient(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut previous: Option<char> = None;
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        if matches!(c, '_' | '.') {
            let digits_around = previous.is_some_and(|p| p.is_ascii_digit())
                && chars.peek().is_some_and(|n| n.is_ascii_digit());
            if digits_around {
                out.push('.');
            }
        } else if !matches!(c, '-' | ' ') {
            if c.is_ascii() {
                out.push(c.to_ascii_lowercase());
            } else {
                out.extend(c.to_lowercase());
            }
        }
        previous = Some(c);
    }
    out
}

/// What the dictionary knows of a name: the quantities it can mean and the documented unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Known {
    pub quantities: &'static [&'static str],
    pub unit: Option<&'static str>,
}

/// What a codec's field name means.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Meaning {
    /// The codec's vendor documents this field for this codec: what it is, or `None` when it is
    /// the device's own state (no reading).
    ByCodec(Option<Known>),
    /// The dictionary's meaning, for every codec.
    Common(Known),
    Unknown,
}

/// Looks up a field name (any spelling; see the module doc) of a codec of `device_type`: the
/// codec's own meaning first, then the dictionary's.
pub fn meaning(device_type: &str, name: &str) -> Meaning {
    let key = lenient(name);
    let known = |e: &Entry| Known {
        quantities: e.quantities,
        unit: e.unit,
    };
    let stem = codec_stem(device_type);
    if let Some((_, _, entry)) = BY_CODEC.iter().find(|(c, n, _)| *c == stem && *n == key) {
        return Meaning::ByCodec(entry.as_ref().map(known));
    }
    match DICTIONARY.iter().find(|e| e.name == key) {
        Some(e) => Meaning::Common(known(e)),
        None => Meaning::Unknown,
    }
}

/// The quantities and unit a field of `device_type`'s codec means, if it means a reading.
pub fn lookup(device_type: &str, name: &str) -> Option<Known> {
    match meaning(device_type, name) {
        Meaning::ByCodec(known) => known,
        Meaning::Common(known) => Some(known),
        Meaning::Unknown => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenient_names_keep_decimal_points_apart() {
        assert_eq!(lenient("PM2_5"), "pm2.5");
        assert_eq!(lenient("pm1_0"), "pm1.0");
        assert_eq!(lenient("pm10"), "pm10");
        assert_eq!(lenient("TempC_SHT"), "tempcsht");
        assert_eq!(lenient("battery-voltage"), "batteryvoltage");
    }

    #[test]
    fn a_codecs_own_meaning_comes_first() {
        assert_eq!(codec_stem("ttn:parametric/pcr2"), "pcr2");
        assert_eq!(codec_stem("js:/etc/codecs/pcr2.js"), "pcr2");
        assert_eq!(codec_stem("ttn:bosch/tps110-0292-codec"), "tps110-0292");
        assert!(lookup("ttn:parametric/pcr2", "TEMP").is_none());
        assert!(lookup("ttn:elsys/ers", "TEMP").is_some());
    }

    #[test]
    fn every_entry_names_vocabulary_quantities_and_units() {
        for entry in DICTIONARY {
            assert_eq!(lenient(entry.name), entry.name, "{}", entry.name);
            for q in entry.quantities {
                assert!(sensorhub_core::Quantity::by_name(q).is_some(), "{q}");
            }
            if let Some(unit) = entry.unit {
                assert!(sensorhub_core::units::Unit::parse(unit).is_some(), "{unit}");
            }
        }
        for (i, a) in DICTIONARY.iter().enumerate() {
            assert!(
                DICTIONARY[i + 1..].iter().all(|b| b.name != a.name),
                "{}",
                a.name
            );
        }
    }
}
