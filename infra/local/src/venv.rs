//! The project's Python tools (moto server, cargo-lambda, SAM CLI, cfn-lint, and awslambdaric
//! for the bench's peer) live in `.venv/`, installed from `infra/local/requirements.txt` on
//! first use and again whenever that file changes, so nothing depends on what a machine
//! happens to have installed. The file is hash-locked, every transitive package included
//! (compiled from `requirements.in`): pip refuses anything else.

use std::fs::File;
use std::path::Path;
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::paths;

#[derive(Debug, thiserror::Error)]
pub enum VenvError {
    #[error("cannot prepare .venv: {0}")]
    Io(#[from] std::io::Error),
    #[error(
        "`{command}` failed ({status}); python3 with the venv module is needed (Debian: apt-get install python3-venv)"
    )]
    Command {
        command: String,
        status: std::process::ExitStatus,
    },
}

/// Makes sure `.venv` holds exactly the pinned tools. Safe to call from several processes at once.
pub fn ensure() -> Result<(), VenvError> {
    let root = paths::workspace_root();
    let requirements = root.join("infra/local/requirements.txt");
    let wanted = hex::encode(Sha256::digest(std::fs::read(&requirements)?));
    let stamp = paths::venv().join(".requirements.sha256");
    if is_current(&stamp, &wanted) {
        return Ok(());
    }
    std::fs::create_dir_all(paths::target_dir())?;
    let lock = File::create(paths::target_dir().join(".venv.lock"))?;
    lock.lock()?;
    if is_current(&stamp, &wanted) {
        return Ok(()); // another process installed it while we waited
    }
    eprintln!("xtask: installing the local AWS and deploy tools into .venv (first run only)…");
    if !paths::venv_bin("python").exists() {
        run(Command::new("python3").args(["-m", "venv"]).arg(paths::venv()))?;
    }
    run(Command::new(paths::venv_bin("pip"))
        // Every package is in the file, so pip resolves nothing: it checks each one's hash.
        .args([
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--require-hashes",
            "--no-deps",
            "-r",
        ])
        .arg(&requirements))?;
    std::fs::write(&stamp, wanted)?;
    Ok(())
}

/// PATH with `.venv/bin` first: SAM and the bench run `cargo lambda`, which lives there.
pub fn path_with_venv() -> std::ffi::OsString {
    let mut paths = vec![paths::venv().join("bin")];
    paths.extend(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()));
    std::env::join_paths(paths).expect("no path contains a separator")
}

fn is_current(stamp: &Path, wanted: &str) -> bool {
    std::fs::read_to_string(stamp).is_ok_and(|found| found == wanted)
}

fn run(command: &mut Command) -> Result<(), VenvError> {
    let status = command.status()?;
    if status.success() {
        Ok(())
    } else {
        Err(VenvError::Command {
            command: format!("{command:?}"),
            status,
        })
    }
}
