//! What each command does, once the command line is parsed: load the config, open the
//! store, hand over to the crate that does the work, and print what happened.

use anyhow::{bail, Context, Result};
use sensorhub::{alerts, config};
use sensorhub_core::duration::HumanDuration;
use sensorhub_store::Store;

use crate::cli::*;
use crate::config::Config;
use crate::{codecs, demo, devices, gateways, readings, stations, system};

fn open_store(config: &Config) -> Result<Store> {
    Store::open(&config.store).with_context(|| format!("store {}", config.store.path))
}

pub async fn dispatch(command: Command) -> Result<()> {
    match command {
        Command::Demo {
            http,
            nodes,
            interval,
            heartbeat,
            data_dir,
        } => {
            let interval = interval.as_std();
            let heartbeat = heartbeat.map_or(interval * 6, HumanDuration::as_std);
            demo::run(demo::DemoOptions {
                http,
                nodes,
                interval,
                heartbeat,
                data_dir,
            })
            .await
        }
        Command::Run(a) => system::run(Config::load(&a.config)?, system::Parts::ALL).await,
        Command::Gateway(a) => system::run(Config::load(&a.config)?, system::Parts::GATEWAY).await,
        Command::Serve(a) => system::run(Config::load(&a.config)?, system::Parts::SERVE).await,
        Command::Publish(a) => {
            let config = Config::load(&a.config.config)?;
            let store = open_store(&config)?;
            if !a.dry_run && a.dataset.is_none() {
                let policy = sensorhub_publisher::public_policy(&config.privacy, &config.datasets);
                let report =
                    sensorhub_publisher::publish_to_folder(&store, &config.publisher, &policy)
                        .await?;
                println!(
                    "published {} values of {} public stations:",
                    report.values, report.stations
                );
                for f in report.files {
                    println!("  {}", f.display());
                }
            }
            if let Some(name) = &a.dataset {
                if !config.datasets.iter().any(|d| &d.name == name) {
                    bail!("no dataset named `{name}` in the config");
                }
            }
            let outcomes = sensorhub_publisher::publish_all(
                &store,
                &config.privacy,
                &config.publisher,
                &config.datasets,
                sensorhub_publisher::RunOptions {
                    only: a.dataset.as_deref(),
                    dry_run: a.dry_run,
                },
                &|line| eprintln!("{line}"),
            )
            .await?;
            for o in outcomes {
                println!(
                    "{}: {}{} uploaded, {} unchanged, {} DataStore rows{}",
                    o.dataset,
                    if o.created { "created, " } else { "" },
                    o.uploaded.len(),
                    o.unchanged.len(),
                    o.datastore_rows,
                    o.folder
                        .map(|f| format!(" ({})", f.display()))
                        .unwrap_or_default()
                );
            }
            Ok(())
        }
        Command::Devices { command } => devices_command(command).await,
        Command::Stations { command } => stations_command(command).await,
        Command::Gateways { command } => gateways_command(command).await,
        Command::Alerts { command } => alerts_command(command).await,
        Command::Readings(args) => readings::run(args).await,
        Command::DeadLetters {
            config,
            limit,
            format,
            replay,
            reason,
        } => {
            let config = Config::load(&config.config)?;
            let store = open_store(&config)?;
            if replay {
                let report = sensorhub_gateway::replay::replay_dead_letters(
                    &store,
                    &config.mqtt,
                    config.normalisation.clone(),
                    config.codecs.clone(),
                    reason,
                )
                .await?;
                println!(
                    "replayed {} dead letters; {} still fail and stay",
                    report.replayed, report.still_failing
                );
                return Ok(());
            }
            readings::dead_letters(store.state(), limit, format).await
        }
        Command::Simulate {
            broker,
            nodes,
            interval,
            heartbeat,
            format,
            seed,
            write_devices,
            print_reports,
            state,
            backfill,
        } => {
            let format = match format {
                SimulateFormat::Chirpstack => sensorhub_firmware::sim::SimFormat::Chirpstack,
                SimulateFormat::ChirpstackGateway => {
                    sensorhub_firmware::sim::SimFormat::ChirpstackGateway
                }
                SimulateFormat::Tts => sensorhub_firmware::sim::SimFormat::Tts,
            };
            if let Some(path) = write_devices {
                let list = demo::registry_entries(nodes);
                let mut file = std::fs::File::create(&path)
                    .with_context(|| format!("cannot write {}", path.display()))?;
                // The simulator's demo session keys go along, for the raw-frame format.
                devices::write(&list, ListFormat::Csv, true, &mut file)?;
                eprintln!("wrote {} devices to {}", list.len(), path.display());
            }
            let config = sensorhub_firmware::sim::SimConfig {
                broker,
                nodes,
                interval: interval.as_std(),
                heartbeat: heartbeat.map_or(interval.as_std() * 6, HumanDuration::as_std),
                format,
                seed,
                print_reports,
                state,
                backfill: backfill.map(HumanDuration::as_std),
                backfill_every: std::time::Duration::from_secs(15 * 60),
            };
            eprintln!("simulating {nodes} nodes; Ctrl-C stops");
            sensorhub_firmware::sim::run(config, system::shutdown_signal()).await?;
            Ok(())
        }
        Command::Admin {
            command: AdminCommand::HashPassword,
        } => {
            let mut password = String::new();
            std::io::stdin()
                .read_line(&mut password)
                .context("cannot read the password from stdin")?;
            let password = password.trim_end_matches(['\r', '\n']);
            if password.chars().count() < 12 {
                bail!("use a password of at least 12 characters");
            }
            println!("{}", sensorhub_dashboards::hash_password(password));
            Ok(())
        }
        Command::Config {
            command: ConfigCommand::Example,
        } => {
            print!("{}", config::EXAMPLE);
            Ok(())
        }
        Command::Config {
            command: ConfigCommand::Check { file },
        } => {
            Config::load(&file)?;
            println!("{}: ok", file.display());
            Ok(())
        }
        Command::Codecs {
            command:
                CodecsCommand::Test {
                    file,
                    fport,
                    hex,
                    config,
                },
        } => {
            let config = match config {
                Some(path) => Config::load(&path)?,
                None => Config::default(),
            };
            let payload = codecs::parse_payload(&hex)?;
            let text = codecs::test(
                &file,
                fport,
                &payload,
                &config.normalisation,
                &config.codecs,
            )?;
            print!("{text}");
            Ok(())
        }
        Command::Codecs {
            command: CodecsCommand::Check { file },
        } => {
            let (text, all_ok) = codecs::check(&file)?;
            print!("{text}");
            if !all_ok {
                std::process::exit(1);
            }
            Ok(())
        }
    }
}

async fn devices_command(command: DevicesCommand) -> Result<()> {
    match command {
        DevicesCommand::Add {
            config,
            dev_eui,
            name,
            station,
            device_type,
            lat,
            lon,
            public,
            dev_addr,
            nwk_s_key,
            app_s_key,
        } => {
            let config = Config::load(&config.config)?;
            let device = devices::validate(sensorhub_store::Device {
                dev_eui,
                name,
                station,
                device_type,
                lat,
                lon,
                public,
                dev_addr,
                nwk_s_key,
                app_s_key,
            })?;
            devices::verify_codecs(std::slice::from_ref(&device), &config.codecs)?;
            let eui = device.dev_eui;
            open_store(&config)?
                .state()
                .put_devices(vec![device])
                .await?;
            println!("registered {eui}");
            Ok(())
        }
        DevicesCommand::List { config, format } => {
            let config = Config::load(&config.config)?;
            let store = open_store(&config)?;
            let list = store.state().devices().await?;
            devices::write(&list, format, false, &mut std::io::stdout().lock())?;
            let unknown = store.state().unknown_devices().await?;
            if format == ListFormat::Table && !unknown.is_empty() {
                println!("\nseen but not registered:");
                for u in unknown {
                    println!(
                        "{}  {} uplinks, last {}  {}",
                        u.dev_eui,
                        u.uplinks,
                        sensorhub_store::time::format_rfc3339(u.last_seen_ms),
                        readings::printable(&u.name_hint.unwrap_or_default())
                    );
                }
            }
            Ok(())
        }
        DevicesCommand::Import {
            config,
            file,
            format,
        } => {
            let config = Config::load(&config.config)?;
            let n = devices::import(open_store(&config)?.state(), &file, format, &config.codecs)
                .await?;
            println!("imported {n} devices from {}", file.display());
            Ok(())
        }
        DevicesCommand::Export {
            config,
            format,
            include_keys,
        } => {
            let config = Config::load(&config.config)?;
            let list = open_store(&config)?.state().devices().await?;
            devices::write(&list, format, include_keys, &mut std::io::stdout().lock())
        }
        DevicesCommand::Health {
            config,
            since,
            format,
        } => {
            let config = Config::load(&config.config)?;
            let since = readings::parse_time(&since)?;
            let health = open_store(&config)?.state().device_health(since).await?;
            devices::write_health(
                &health,
                &config.batteries(),
                format,
                &mut std::io::stdout().lock(),
            )
        }
        DevicesCommand::Fields {
            config,
            dev_eui,
            format,
        } => {
            let config = Config::load(&config.config)?;
            let eui: sensorhub_core::DevEui = dev_eui
                .parse()
                .map_err(|e| anyhow::anyhow!("DevEUI `{dev_eui}`: {e}"))?;
            let fields = open_store(&config)?
                .state()
                .unmapped_fields(Some(&eui.to_string()))
                .await?;
            devices::write_fields(&fields, format, &mut std::io::stdout().lock())
        }
        DevicesCommand::Remove { config, dev_eui } => {
            let config = Config::load(&config.config)?;
            let eui: sensorhub_core::DevEui = dev_eui
                .parse()
                .map_err(|e| anyhow::anyhow!("DevEUI `{dev_eui}`: {e}"))?;
            open_store(&config)?
                .state()
                .remove_device(&eui.to_string())
                .await?;
            println!("removed {eui}");
            Ok(())
        }
    }
}

async fn alerts_command(command: AlertsCommand) -> Result<()> {
    match command {
        AlertsCommand::Check(config) => {
            let config = Config::load(&config.config)?;
            let store = open_store(&config)?;
            let now = sensorhub_store::time::now_ms();
            let changes = alerts::check(
                &store,
                &config.alerts,
                config.http.silent_after,
                &config.batteries(),
                now,
            )
            .await?;
            for c in changes.iter().filter(|c| !c.text.is_empty()) {
                println!("{} {} {}", c.state, c.kind, c.text);
            }
            let open = store.state().open_alerts().await?.len();
            println!("{open} alert(s) open");
            Ok(())
        }
        AlertsCommand::List(config) => {
            let config = Config::load(&config.config)?;
            let mut open = open_store(&config)?.state().open_alerts().await?;
            open.sort_by(|a, b| (&a.0, a.1.as_str(), a.2).cmp(&(&b.0, b.1.as_str(), b.2)));
            for (dev_eui, kind, since) in &open {
                println!(
                    "{dev_eui} {kind} since {}",
                    sensorhub_store::time::format_rfc3339(*since)
                );
            }
            println!("{} alert(s) open", open.len());
            Ok(())
        }
    }
}

async fn stations_command(command: StationsCommand) -> Result<()> {
    match command {
        StationsCommand::Add {
            config,
            station,
            name,
            name_en,
            description,
            description_en,
            theme,
            lat,
            lon,
            datum,
            sensor_height_m,
            levels,
        } => {
            let config = Config::load(&config.config)?;
            let info = sensorhub_store::StationInfo {
                station,
                name,
                name_en,
                description,
                description_en,
                theme,
                lat,
                lon,
                gauge: sensorhub_store::Gauge::from_parts(datum, sensor_height_m)?,
                levels,
            }
            .validate()?;
            let id = info.station.clone();
            open_store(&config)?
                .state()
                .put_station_infos(vec![info])
                .await?;
            println!("described station {id}");
            Ok(())
        }
        StationsCommand::List { config, format } | StationsCommand::Export { config, format } => {
            let config = Config::load(&config.config)?;
            let entries = open_store(&config)?.state().station_infos().await?;
            stations::write(&entries, format, &mut std::io::stdout().lock())
        }
        StationsCommand::Import {
            config,
            file,
            format,
        } => {
            let config = Config::load(&config.config)?;
            let entries = stations::read_file(&file, format)?;
            let n = entries.len();
            open_store(&config)?
                .state()
                .put_station_infos(entries)
                .await?;
            println!("imported {n} station entries");
            Ok(())
        }
        StationsCommand::Remove { config, station } => {
            let config = Config::load(&config.config)?;
            if !open_store(&config)?
                .state()
                .remove_station_info(&station)
                .await?
            {
                bail!("no entry for station {station}");
            }
            println!("removed the entry of station {station}");
            Ok(())
        }
    }
}

async fn gateways_command(command: GatewaysCommand) -> Result<()> {
    match command {
        GatewaysCommand::Add {
            config,
            id,
            name,
            lat,
            lon,
        } => {
            let config = Config::load(&config.config)?;
            let entry = sensorhub_store::GatewayInfo {
                gateway_id: id,
                name,
                lat,
                lon,
            }
            .validate()?;
            let id = entry.gateway_id.clone();
            open_store(&config)?
                .state()
                .put_gateway_infos(vec![entry])
                .await?;
            println!("described gateway {id}");
            Ok(())
        }
        GatewaysCommand::List { config, format } | GatewaysCommand::Export { config, format } => {
            let config = Config::load(&config.config)?;
            let store = open_store(&config)?;
            let entries = store.state().gateway_infos().await?;
            let since = sensorhub_store::time::now_ms() - 86_400_000;
            let seen = store.state().gateways(since).await?;
            gateways::write(&entries, &seen, format, &mut std::io::stdout().lock())
        }
        GatewaysCommand::Import {
            config,
            file,
            format,
        } => {
            let config = Config::load(&config.config)?;
            let entries = gateways::read_file(&file, format)?;
            let n = entries.len();
            open_store(&config)?
                .state()
                .put_gateway_infos(entries)
                .await?;
            println!("imported {n} gateway entries");
            Ok(())
        }
        GatewaysCommand::Remove { config, id } => {
            let config = Config::load(&config.config)?;
            if !open_store(&config)?
                .state()
                .remove_gateway_info(&id)
                .await?
            {
                bail!("no entry for gateway {id}");
            }
            println!("removed the entry of gateway {id}");
            Ok(())
        }
    }
}
