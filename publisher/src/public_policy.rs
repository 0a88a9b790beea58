//! The publication policy of the public surfaces, from the config's datasets: see
//! [`sensorhub_policy::PublicPolicy`], which the dashboards apply too.

use sensorhub_policy::{PrivacyConfig, PublicPolicy, Publication};

use crate::DatasetConfig;

/// The public surfaces' policy for these datasets and the `[privacy]` defaults.
pub fn public_policy(privacy: &PrivacyConfig, datasets: &[DatasetConfig]) -> PublicPolicy {
    PublicPolicy::new(
        privacy,
        datasets.iter().map(|d| Publication {
            quantities: &d.quantities,
            policy: &d.privacy,
            interval: d.interval,
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use sensorhub_policy::*;
    use sensorhub_store::Resolution;

    fn dataset(quantities: &[&str], interval: &str, policy: DatasetPolicy) -> DatasetConfig {
        DatasetConfig {
            quantities: quantities.iter().map(|q| (*q).to_owned()).collect(),
            interval: Resolution::parse(interval).expect("an interval"),
            privacy: policy,
            ..DatasetConfig::default()
        }
    }

    #[test]
    fn each_quantity_gets_the_strictest_policy_of_the_datasets_that_publish_it() {
        let lenient = dataset(
            &["visitor_count", "water_level"],
            "15m",
            DatasetPolicy {
                k: 3,
                exact_coordinates: false,
                ..DatasetPolicy::default()
            },
        );
        let strict = dataset(
            &["visitor_count"],
            "1h",
            DatasetPolicy {
                k: 10,
                grid_m: Some(1000),
                delay: "1h".parse().unwrap(),
                ..DatasetPolicy::default()
            },
        );
        let policy = public_policy(&PrivacyConfig::default(), &[lenient, strict]);
        let visitors = policy.quantity("visitor_count_2").unwrap();
        assert_eq!(visitors.k, 10);
        assert_eq!(visitors.delay_ms, 3_600_000);
        assert_eq!(visitors.coordinates, Coordinates::Grid { metres: 1000 });
        assert_eq!(visitors.finest, Resolution::Hour);
        assert!(
            visitors.suppresses(3.0) && !visitors.suppresses(0.0) && !visitors.suppresses(10.0)
        );
        assert_eq!(visitors.resolution(Resolution::Raw), Resolution::Hour);
        assert_eq!(visitors.resolution(Resolution::Day), Resolution::Day);
        let level = policy.quantity("water_level").unwrap();
        assert_eq!((level.k, level.finest), (0, Resolution::Raw));
        assert_eq!(
            policy.station_coordinates(["water_level", "visitor_count"].into_iter()),
            Coordinates::Grid { metres: 1000 }
        );
        // In no dataset: the defaults, k = 5 for people and hourly at the finest.
        let presence = policy.quantity("presence").unwrap();
        assert_eq!((presence.k, presence.finest), (5, Resolution::Hour));
        assert!(policy.quantity("battery_voltage").is_none());
        assert!(policy.quantity("battery_level").is_none());
    }
}
