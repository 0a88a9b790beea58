//! A broker that refuses the gateway's subscription, as a ChirpStack deployment's Mosquitto
//! with its dynamic-security plugin does when the gateway's role may not subscribe there (a
//! SUBACK with 0x80): the gateway must not call itself ready while it can receive nothing,
//! must say why, and once the broker grants the topic it must ingest without a restart.
//! (Mosquitto disconnects the clients of a role whose ACL changes, so the grant arrives on the
//! reconnect; brokers that keep the connection get the subscription asked for again every
//! keep-alive, which `gateway/src/mqtt.rs`'s unit test covers.)

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{
    http_get, lpp_uplink, post_form, publish_all, session_cookie, wait_for, Mosquitto, Sensorhub,
};

const DEV_EUI: &str = "0101010101010101";
const PASSWORD: &str = "Deichgraf-Technik-2026";

/// Debian's Mosquitto package ships the plugin under its multiarch folder.
fn dynamic_security_plugin() -> PathBuf {
    std::fs::read_dir("/usr/lib")
        .unwrap()
        .flatten()
        .map(|e| e.path().join("mosquitto_dynamic_security.so"))
        .find(|p| p.is_file())
        .expect("Mosquitto's dynamic-security plugin (Debian's mosquitto package)")
}

/// `mosquitto_ctrl dynsec ...` as the broker's admin.
fn dynsec(broker: &Mosquitto, args: &[&str]) {
    let output = Command::new("mosquitto_ctrl")
        .args(["-h", "127.0.0.1", "-p", &broker.port.to_string()])
        .args(["-u", "admin", "-P", "admin-secret", "dynsec"])
        .args(args)
        .output()
        .expect("mosquitto_ctrl (Debian's mosquitto package)");
    assert!(output.status.success(), "{args:?}: {output:?}");
}

fn metric_line(hub: &Sensorhub, line: &str) -> Option<String> {
    let metrics = http_get(hub.http_port, "/metrics", "")?.body;
    metrics.lines().any(|l| l == line).then_some(metrics)
}

#[test]
fn a_refused_subscription_is_not_ready_says_why_and_ingests_once_granted() {
    let broker = Mosquitto::start_with(|dir: &Path| {
        let file = dir.join("dynamic-security.json");
        let init = Command::new("mosquitto_ctrl")
            .args([
                "dynsec",
                "init",
                file.to_str().unwrap(),
                "admin",
                "admin-secret",
            ])
            .output()
            .unwrap();
        assert!(file.is_file(), "{init:?}");
        // `user root`: a broker started as root keeps root, so that it can read (and save)
        // the plugin's file in this root-owned temp folder.
        format!(
            "user root\nplugin {}\nplugin_opt_config_file {}\n",
            dynamic_security_plugin().display(),
            file.display()
        )
    });
    // Anonymous clients may publish and receive, but not subscribe.
    dynsec(&broker, &["createRole", "ingest"]);
    for acl in ["publishClientSend", "publishClientReceive"] {
        dynsec(&broker, &["addRoleACL", "ingest", acl, "#", "allow"]);
    }
    dynsec(&broker, &["createGroup", "anonymous"]);
    dynsec(&broker, &["addGroupRole", "anonymous", "ingest"]);
    dynsec(&broker, &["setAnonymousGroup", "anonymous"]);

    let mut hub = Sensorhub::new(&broker.url(), "acl-refused");
    // A short keep-alive: should the broker keep the connection when the ACL changes, the
    // refused subscription is asked for again within seconds.
    let config = std::fs::read_to_string(&hub.config).unwrap();
    let config = config.replacen(
        "batch_wait_ms = 0\n",
        "batch_wait_ms = 0\nkeep_alive_s = 5\n",
        1,
    );
    // A technician, who should see on the workbench why nothing comes in.
    let hash = hub.hash_password(PASSWORD);
    let config = config.replacen("[http]\n", "[http]\nsecure_cookies = false\n", 1)
        + &format!("\n[[http.users]]\nname = \"technik\"\npassword_hash = \"{hash}\"\n");
    std::fs::write(&hub.config, config).unwrap();
    hub.register(DEV_EUI, "wetter-01", true);
    hub.spawn();
    let metrics = wait_for("the refusal in /metrics", Duration::from_secs(20), || {
        metric_line(&hub, "sensorhub_mqtt_subscriptions_refused 1")
    });
    assert!(
        metrics.lines().any(|l| l == "sensorhub_mqtt_connected 0"),
        "{metrics}"
    );
    let readyz = http_get(hub.http_port, "/readyz", "").unwrap();
    assert_eq!(readyz.status, 503, "{}", readyz.body);
    assert!(readyz.body.contains("refused"), "{}", readyz.body);
    let form = format!("user=technik&password={PASSWORD}&csrf=t");
    let (status, head) = post_form(
        hub.http_port,
        "/admin/login",
        "Cookie: sh_login_csrf=t\r\n",
        &form,
    );
    assert_eq!(status, 303, "{head}");
    let cookie = format!("Cookie: sh_session={}\r\n", session_cookie(&head));
    let bench = http_get(hub.http_port, "/admin", &cookie).unwrap();
    assert_eq!(bench.status, 200);
    assert!(
        bench.body.contains("Datenempfang unterbrochen")
            && bench.body.contains("Abonnement wurde abgelehnt"),
        "the workbench says why nothing comes in: {}",
        bench.body
    );

    // The broker's operator lets the role subscribe.
    dynsec(
        &broker,
        &["addRoleACL", "ingest", "subscribePattern", "#", "allow"],
    );
    wait_for("ready once granted", Duration::from_secs(30), || {
        http_get(hub.http_port, "/readyz", "").filter(|r| r.status == 200)
    });
    metric_line(&hub, "sensorhub_mqtt_subscriptions_refused 0").expect("none refused");
    let bench = http_get(hub.http_port, "/admin?lang=en", &cookie).unwrap();
    assert_eq!(bench.status, 200);
    assert!(
        bench.body.contains("Log out") && !bench.body.contains("Ingestion interrupted"),
        "{}",
        bench.body
    );
    let now = sensorhub_store::time::now_ms();
    publish_all(
        &broker.url(),
        &[lpp_uplink(DEV_EUI, 21.5, 60.0, now - 1_000)],
    );
    wait_for("the uplink stored", Duration::from_secs(20), || {
        Some(hub.readings(DEV_EUI)).filter(|r| r.len() == 2)
    });
}
