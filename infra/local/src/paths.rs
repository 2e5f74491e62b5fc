//! Where things are in the checkout.

use std::path::{Path, PathBuf};

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("the local cloud lives in infra/local, two levels below the workspace root")
        .to_path_buf()
}

pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// The debug builds of the functions, as `cargo build --workspace --bins` leaves them.
pub fn debug_binaries() -> PathBuf {
    target_dir().join("debug")
}

pub fn template() -> PathBuf {
    workspace_root().join("infra/template.yaml")
}

pub fn venv() -> PathBuf {
    workspace_root().join(".venv")
}

pub fn venv_bin(tool: &str) -> PathBuf {
    venv().join("bin").join(tool)
}

/// Scratch space of the local cloud and the xtask: the running stack's state file, logs.
pub fn scratch() -> PathBuf {
    target_dir().join("xtask")
}

pub fn stack_state_file() -> PathBuf {
    scratch().join("stack.json")
}

pub fn events_dir() -> PathBuf {
    workspace_root().join("events")
}
