//! The reports bucket: each operator report one private object, encrypted by the bucket's
//! default key. Here, not in the shared crate, because no other function writes to S3.

use aws_sdk_s3::primitives::ByteStream;
use backoffice::domains::health::report::ReportShelf;
use backoffice::storage::BoxError;

#[derive(Debug, Clone)]
pub struct S3Shelf {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl S3Shelf {
    pub fn new(config: &aws_config::SdkConfig, bucket: String) -> Self {
        // Path-style addresses: what the local S3 answers, and harmless on AWS.
        let s3_config = aws_sdk_s3::config::Builder::from(config).force_path_style(true).build();
        Self {
            client: aws_sdk_s3::Client::from_conf(s3_config),
            bucket,
        }
    }
}

impl ReportShelf for S3Shelf {
    async fn put(&self, key: &str, html: String) -> Result<(), BoxError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type("text/html; charset=utf-8")
            .body(ByteStream::from(html.into_bytes()))
            .send()
            .await
            .map_err(|error| aws_sdk_s3::error::DisplayErrorContext(error).to_string())?;
        Ok(())
    }
}
