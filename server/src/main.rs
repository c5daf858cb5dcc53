//! `mcert-server`: wires configuration, logging and the command line.

use std::process::ExitCode;

use clap::Parser;
use mcert_server::{cli, configuration::Settings, telemetry, telemetry::error_chain};

#[actix_web::main]
async fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let settings = match Settings::load() {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("mcert-server: {}", error_chain(&error));
            return ExitCode::from(2);
        }
    };
    telemetry::init(settings.log_format);
    match cli::run(cli, settings).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("mcert-server: {error:#}");
            ExitCode::FAILURE
        }
    }
}
