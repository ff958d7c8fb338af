//! `dnu-vault`: see `dnu-vault --help`.

fn main() -> std::process::ExitCode {
    vault::cli::main()
}
