//! `cargo xtask chaos`: the long forms of what CI runs short. The fault scenarios of
//! `tests/tests/chaos.rs` at ten times CI's traffic, or (`--props`) every property of
//! `shared/tests/props.rs` (or those a name picks) a million cases each, in a release build.

use crate::CommandResult;
use crate::ci::cargo;

pub fn command(args: &[String]) -> CommandResult {
    let (what, mut command) = match args {
        [] => {
            let mut command = cargo(&[
                "test",
                "-p",
                "backoffice-tests",
                "--test",
                "chaos",
                "--",
                "--test-threads=1",
                "--nocapture",
            ]);
            command.env("CHAOS_SCALE", "10");
            ("the fault scenarios at ten times CI's traffic", command)
        }
        [flag, only @ ..] if flag == "--props" && only.len() <= 1 => {
            let mut command = cargo(&["test", "--release", "-p", "backoffice", "--test", "props"]);
            // A name runs only the properties whose names contain it (as `cargo test` filters).
            command.args(only);
            command.env("PROPTEST_CASES", "1000000");
            ("the properties, a million cases each", command)
        }
        _ => return Err("usage: cargo xtask chaos [--props [name]]".to_owned()),
    };
    eprintln!("xtask: ── {what}");
    let status = command.status().map_err(|error| format!("cargo: {error}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{what}: {status}"))
    }
}
