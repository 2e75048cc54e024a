//! The `warrant` command line: check, build and evaluate policies.
mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
