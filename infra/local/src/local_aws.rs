//! The local AWS: `infra/local/local_aws.py` (moto server with atomic DynamoDB) as a child
//! process on a free loopback port. It exits when this process does, however that happens,
//! because it watches the stdin pipe we hold; dropping a [`LocalAws`] stops it at once.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdin, Command, Stdio};

use crate::{paths, venv};

pub const REGION: &str = "us-east-1";
/// moto's default account; ARNs the local stack builds use it too.
pub const ACCOUNT_ID: &str = "123456789012";
/// `AWS::StackName` in the local stack.
pub const STACK_NAME: &str = "backoffice-local";

#[derive(Debug, thiserror::Error)]
pub enum LocalAwsError {
    #[error(transparent)]
    Venv(#[from] venv::VenvError),
    #[error("cannot start the local AWS: {0}")]
    Io(#[from] std::io::Error),
    #[error("the local AWS exited before it was ready")]
    NotReady,
}

pub struct LocalAws {
    pub endpoint: String,
    process: Child,
    _parent_alive: ChildStdin,
}

impl LocalAws {
    /// Starts it and waits until it accepts requests (about a second).
    pub fn start() -> Result<Self, LocalAwsError> {
        venv::ensure()?;
        let mut process = Command::new(paths::venv_bin("python"))
            .arg(paths::workspace_root().join("infra/local/local_aws.py"))
            .args(["--port", "0", "--exit-with-parent"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let parent_alive = process.stdin.take().expect("stdin is piped");
        let stdout = BufReader::new(process.stdout.take().expect("stdout is piped"));
        for line in stdout.lines() {
            if let Some(endpoint) = line?.strip_prefix("READY ") {
                return Ok(Self {
                    endpoint: endpoint.to_owned(),
                    process,
                    _parent_alive: parent_alive,
                });
            }
        }
        let _ = process.kill();
        Err(LocalAwsError::NotReady)
    }

    /// An SDK configuration for this local AWS, with throwaway credentials.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        sdk_config_for(&self.endpoint).await
    }
}

impl Drop for LocalAws {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

pub async fn sdk_config_for(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new(REGION))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "local", "local", None, None, "xtask",
        ))
        .load()
        .await
}
