//! `host`: run sandboxed security-automation connectors from the command line.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    // Error values capture a backtrace when RUST_BACKTRACE is set, which costs
    // milliseconds per error and fills error output; the host reports causes, not
    // host backtraces, unless RUST_LIB_BACKTRACE asks for them explicitly.
    if std::env::var_os("RUST_LIB_BACKTRACE").is_none() {
        // SAFETY: nothing else runs yet; no other thread reads the environment.
        unsafe { std::env::set_var("RUST_LIB_BACKTRACE", "0") };
    }
    let code = cli::main();
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}
