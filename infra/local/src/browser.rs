//! A headless Chromium for the pages the back office writes (the operator report): Debian's
//! `chromium`, installed by the project itself on first use, as the Python tools are.
//!
//! [`open`] loads a page from disk with the network off, and answers its rendered DOM, what the
//! page said on its console, and a screenshot.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::paths;

const CHROMIUM: &str = "/usr/bin/chromium";

#[derive(Debug, thiserror::Error)]
pub enum BrowserError {
    #[error("cannot install chromium (apt-get install chromium, as root): {0}")]
    Install(String),
    #[error("chromium failed on {page}: {message}")]
    Run { page: String, message: String },
}

/// Chromium's path, installing Debian's package first when it is missing.
///
/// One installer at a time, across the tests' threads and processes: dpkg holds its own lock,
/// and a second `apt-get` started meanwhile fails at once instead of waiting for it (seen on
/// a fresh machine, two tests both wanting the browser).
pub fn chromium() -> Result<PathBuf, BrowserError> {
    let path = PathBuf::from(CHROMIUM);
    if path.exists() {
        return Ok(path);
    }
    let _installing = install_lock().map_err(|error| BrowserError::Install(format!("its lock: {error}")))?;
    if path.exists() {
        return Ok(path); // another test installed it while this one waited
    }
    let install = || {
        Command::new("apt-get")
            .args(["install", "-y", "--no-install-recommends", "chromium"])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
    };
    let installed = install().is_ok_and(|status| status.success())
        || (run("apt-get", &["update"]) && install().is_ok_and(|status| status.success()));
    if installed && path.exists() {
        Ok(path)
    } else {
        Err(BrowserError::Install("apt-get did not install it".to_owned()))
    }
}

/// The lock held while Chromium installs, released when dropped.
fn install_lock() -> std::io::Result<std::fs::File> {
    std::fs::create_dir_all(paths::target_dir())?;
    let lock = std::fs::File::create(paths::target_dir().join(".chromium.lock"))?;
    lock.lock()?;
    Ok(lock)
}

fn run(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .is_ok_and(|status| status.success())
}

/// A page as headless Chromium rendered it.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The DOM after rendering, serialised.
    pub dom: String,
    /// What the page wrote to its console, and resources it failed to load.
    pub console: Vec<String>,
}

/// Opens `page` (a local file) headless, with no network, and saves a screenshot to
/// `screenshot` when one is asked for.
pub fn open(page: &Path, screenshot: Option<&Path>) -> Result<Rendered, BrowserError> {
    let chromium = chromium()?;
    let url = format!("file://{}", page.display());
    let failure = |message: String| BrowserError::Run {
        page: page.display().to_string(),
        message,
    };
    let common = [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        // No network at all: a page that needs one shows it as failed loads.
        "--proxy-server=127.0.0.1:9",
        "--enable-logging=stderr",
        "--v=0",
    ];
    let output = Command::new(&chromium)
        .args(common)
        .args(["--dump-dom", &url])
        .output()
        .map_err(|error| failure(error.to_string()))?;
    if !output.status.success() {
        return Err(failure(String::from_utf8_lossy(&output.stderr).into_owned()));
    }
    let console = String::from_utf8_lossy(&output.stderr)
        .lines()
        .filter(|line| {
            line.contains("CONSOLE") || line.contains("Failed to load resource") || line.contains("Uncaught")
        })
        .map(str::to_owned)
        .collect();
    if let Some(screenshot) = screenshot {
        let shot = Command::new(&chromium)
            .args(common)
            .arg("--hide-scrollbars")
            .arg("--window-size=1200,2600")
            .arg(format!("--screenshot={}", screenshot.display()))
            .arg(&url)
            .output()
            .map_err(|error| failure(error.to_string()))?;
        if !shot.status.success() || !screenshot.exists() {
            return Err(failure(String::from_utf8_lossy(&shot.stderr).into_owned()));
        }
    }
    Ok(Rendered {
        dom: String::from_utf8_lossy(&output.stdout).into_owned(),
        console,
    })
}
