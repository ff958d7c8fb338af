//! `scanner-ingest`: see `scanner_ingest::cli` and `--help`.

use clap::Parser;

fn main() -> std::process::ExitCode {
    scanner_ingest::telemetry::init();
    match scanner_ingest::cli::run(scanner_ingest::cli::Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("scanner-ingest: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
