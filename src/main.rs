//! The `sensorhub` command: parses the command line, loads the config once, and wires the
//! crates together. Everything with behaviour of its own lives in the workspace crates.

mod cli;
mod codecs;
mod commands;
mod demo;
mod devices;
mod entries;
mod gateways;
mod open_data;
mod readings;
mod stations;
mod system;

use clap::Parser;
use sensorhub::{alerts, config};

use crate::cli::Cli;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("SENSORHUB_LOG").unwrap_or_else(|_| {
            tracing_subscriber::EnvFilter::new(
                "info,rumqttd=warn,rumqttd::router::routing=off,rumqttd::server::broker=off,rumqttc=warn",
            )
        });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::dispatch(cli.command)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
