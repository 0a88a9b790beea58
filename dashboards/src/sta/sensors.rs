//! SensorThings Sensors: device models, never devices. A station's Datastreams are measured by
//! the model of its devices (their device type), described by its entry in The Things
//! Network's device repository where this version knows one. No DevEUI, name or session of a
//! device is read here: only the type of the devices of public stations.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use sensorhub_store::{Device, DeviceType};

/// What is known of a model: its name and where it is described.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    /// Id in the API: the device type, with `/` and `:` (which a resource path cannot hold)
    /// written as `-`.
    pub id: String,
    pub name: String,
    pub description: String,
    /// A web page or datasheet of the model, else empty.
    pub metadata: String,
    pub encoding: &'static str,
}

const REPOSITORY: &str = "https://github.com/TheThingsNetwork/lorawan-devices/blob/master/vendor";

/// The built-in decoders' models, with the product and datasheet addresses of their device
/// definitions in The Things Network's device repository (`vendor/VENDOR/DEVICE.yaml`).
const BUILT_IN: &[(&str, &str, &str, &str)] = &[
    (
        "dragino-lht65",
        "Dragino LHT65 (temperature and humidity)",
        "dragino/lht65.yaml",
        "http://www.dragino.com/downloads/index.php?dir=LHT65/",
    ),
    (
        "dragino-lht65n",
        "Dragino LHT65N (temperature and humidity)",
        "dragino/lht65n.yaml",
        "",
    ),
    (
        "dragino-ldds75",
        "Dragino LDDS75 (distance)",
        "dragino/ldds75.yaml",
        "http://www.dragino.com/downloads/index.php?dir=LoRa_End_Node/LDDS75/",
    ),
    (
        "milesight-em300-th",
        "Milesight EM300-TH (temperature and humidity)",
        "milesight-iot/em300-th.yaml",
        "https://resource.milesight-iot.com/milesight/document/em300-th-datasheet-en.pdf",
    ),
    (
        "milesight-am103",
        "Milesight AM103 (indoor air quality)",
        "milesight-iot/am103.yaml",
        "https://resource.milesight-iot.com/milesight/document/am100-series-datasheet-en.pdf",
    ),
    (
        "milesight-am107",
        "Milesight AM107 (indoor air quality)",
        "milesight-iot/am107.yaml",
        "https://resource.milesight-iot.com/milesight/document/am100-series-datasheet-en.pdf",
    ),
    (
        "elsys-ers",
        "Elsys ERS (indoor climate)",
        "elsys/ers.yaml",
        "https://elsys.se/public/datasheets/ERS_datasheet.pdf",
    ),
    (
        "elsys-ers-co2",
        "Elsys ERS CO2 (indoor climate and CO2)",
        "elsys/ers-co2.yaml",
        "https://elsys.se/public/datasheets/ERS_CO2_datasheet.pdf",
    ),
    (
        "decentlab-dl-pm",
        "Decentlab DL-PM (particulate matter)",
        "decentlab/dl-pm.yaml",
        "",
    ),
    (
        "browan-tbhh100",
        "Browan TBHH100 (temperature and humidity)",
        "browan/tbhh100.yaml",
        "",
    ),
];

/// The model of a device type.
pub fn model(device_type: &DeviceType) -> Model {
    let text = device_type.to_string();
    let id = text.replace(['/', ':'], "-");
    match device_type {
        DeviceType::BuiltIn(b) => {
            let (_, name, file, datasheet) = BUILT_IN
                .iter()
                .find(|(n, ..)| *n == b.name())
                .copied()
                .unwrap_or((b.name(), b.name(), "", ""));
            let description = if file.is_empty() {
                format!("A {name}, decoded by sensorhub's built-in decoder.")
            } else {
                format!("A {name}; device definition: {REPOSITORY}/{file}")
            };
            let (metadata, encoding) = if datasheet.ends_with(".pdf") {
                (datasheet.to_owned(), "application/pdf")
            } else if !datasheet.is_empty() {
                (datasheet.to_owned(), "text/html")
            } else if !file.is_empty() {
                (format!("{REPOSITORY}/{file}"), "text/html")
            } else {
                (String::new(), "text/html")
            };
            Model {
                id,
                name: name.to_owned(),
                description,
                metadata,
                encoding,
            }
        }
        DeviceType::Ttn(codec) => Model {
            id,
            name: format!("A device of The Things Network's device repository ({})", codec.id()),
            description: "Decoded with the vendor's codec from The Things Network's device repository."
                .into(),
            metadata: format!("{REPOSITORY}/{}.yaml", codec.id()),
            encoding: "text/html",
        },
        DeviceType::Js(_) => Model {
            id: "js".into(),
            name: "A device with a JavaScript codec".into(),
            description: "Decoded with a JavaScript codec kept by the municipality; the model is not recorded."
                .into(),
            metadata: String::new(),
            encoding: "text/html",
        },
        DeviceType::CayenneLpp => Model {
            id,
            name: "A Cayenne LPP device".into(),
            description: "Sends Cayenne Low Power Payload; the model is not recorded.".into(),
            metadata: String::new(),
            encoding: "text/html",
        },
        DeviceType::NetworkServer => Model {
            id,
            name: "A device decoded by the network server".into(),
            description: "The network server's codec decodes it; the model is not recorded.".into(),
            metadata: String::new(),
            encoding: "text/html",
        },
    }
}

/// Every station's sensor: the model of its devices, or several models joined with `+` where
/// its devices are of different types.
pub fn by_station(devices: &[Device]) -> HashMap<String, Model> {
    let mut types: BTreeMap<&str, BTreeSet<&DeviceType>> = BTreeMap::new();
    for d in devices {
        types.entry(&d.station).or_default().insert(&d.device_type);
    }
    types
        .into_iter()
        .map(|(station, types)| {
            let models: Vec<Model> = types.into_iter().map(model).collect();
            let model = match models.len() {
                1 => models.into_iter().next().expect("one model"),
                _ => Model {
                    id: models
                        .iter()
                        .map(|m| m.id.as_str())
                        .collect::<Vec<_>>()
                        .join("+"),
                    name: models
                        .iter()
                        .map(|m| m.name.as_str())
                        .collect::<Vec<_>>()
                        .join(" and "),
                    description: "Several device models measure at this station.".into(),
                    metadata: String::new(),
                    encoding: "text/html",
                },
            };
            (station.to_owned(), model)
        })
        .collect()
}
