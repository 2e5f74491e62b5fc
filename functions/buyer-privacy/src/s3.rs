//! The reports bucket's `exports/` prefix: each export one private object, encrypted by the
//! bucket's default key, deleted by its buyer's erasure.

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use backoffice::domains::privacy::places::ExportShelf;
use backoffice::storage::StoreError;

#[derive(Debug, Clone)]
pub struct S3Exports {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl S3Exports {
    pub fn new(config: &aws_config::SdkConfig, bucket: String) -> Self {
        // Path-style addresses: what the local S3 answers, and harmless on AWS.
        let s3_config = aws_sdk_s3::config::Builder::from(config).force_path_style(true).build();
        Self {
            client: aws_sdk_s3::Client::from_conf(s3_config),
            bucket,
        }
    }
}

fn s3_error(operation: &'static str, error: impl std::error::Error) -> StoreError {
    StoreError::new(operation, aws_sdk_s3::error::DisplayErrorContext(error).to_string())
}

impl ExportShelf for S3Exports {
    async fn put(&self, key: &str, document: Vec<u8>) -> Result<(), StoreError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type("application/json")
            .body(ByteStream::from(document))
            .send()
            .await
            .map_err(|error| s3_error("S3 PutObject", error))?;
        Ok(())
    }

    async fn delete_under(&self, prefix: &str) -> Result<usize, StoreError> {
        let mut deleted = 0;
        loop {
            // The bucket is versioned: deleting a key would only hide it behind a delete
            // marker, so every version (and marker) under the prefix is deleted by its id. Each
            // listing is at most 1,000, what one DeleteObjects takes; what is deleted is gone
            // from the next listing, so no continuation is needed.
            let listed = self
                .client
                .list_object_versions()
                .bucket(&self.bucket)
                .prefix(prefix)
                .send()
                .await
                .map_err(|error| s3_error("S3 ListObjectVersions", error))?;
            let versions = listed
                .versions()
                .iter()
                .map(|version| (version.key(), version.version_id()))
                .chain(
                    listed
                        .delete_markers()
                        .iter()
                        .map(|marker| (marker.key(), marker.version_id())),
                );
            let objects: Vec<ObjectIdentifier> = versions
                .filter_map(|(key, version)| {
                    ObjectIdentifier::builder()
                        .key(key?)
                        .set_version_id(version.map(str::to_owned))
                        .build()
                        .ok()
                })
                .collect();
            if objects.is_empty() {
                return Ok(deleted);
            }
            deleted += objects.len();
            let delete = Delete::builder()
                .set_objects(Some(objects))
                .quiet(true)
                .build()
                .map_err(|error| s3_error("S3 DeleteObjects", error))?;
            self.client
                .delete_objects()
                .bucket(&self.bucket)
                .delete(delete)
                .send()
                .await
                .map_err(|error| s3_error("S3 DeleteObjects", error))?;
        }
    }
}
