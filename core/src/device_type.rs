//! The names of device types: which decoder a registered device's uplinks go through.
//!
//! The list is here, below every crate that checks a registry entry (the gateway that decodes,
//! the web workbench that offers a choice, the command line), so that it is written once; the
//! decoders themselves live in the gateway.

/// The built-in device types, `vendor-model` in lowercase.
pub const BUILT_IN: &[&str] = &[
    "network-server",
    "cayenne-lpp",
    "dragino-lht65",
    "dragino-lht65n",
    "dragino-ldds75",
    "milesight-em300-th",
    "milesight-am103",
    "milesight-am107",
    "elsys-ers",
    "elsys-ers-co2",
    "decentlab-dl-pm",
    "browan-tbhh100",
];
