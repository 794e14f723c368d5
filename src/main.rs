//! The `handoff` command: parse arguments, hand over to the library, map the
//! outcome to an exit code (0 ok, 1 runtime failure, 2 usage or config error).

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = handoff::cli::Cli::parse();
    ExitCode::from(handoff::cli::run(cli))
}
