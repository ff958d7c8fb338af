//! S3 backend through `aws-sdk-s3`: AWS, Garage, Ceph, Scaleway, OVH…
//!
//! Facts from `shared/notes/s3-compat.md`: path-style addressing is needed
//! for endpoints such as `http://localhost:PORT`; request and response
//! checksums are set to `WhenRequired` because Garage rejects a multipart
//! completion that echoes CRC32 part checksums the upload did not declare.
//! Objects below one part go up with one PutObject; larger ones as a
//! multipart upload holding one part (8 MiB) in memory at a time.
//!
//! Faults: every request has an attempt time-out (`VAULT_S3_TIMEOUT_SECONDS`)
//! and is tried up to `VAULT_S3_MAX_ATTEMPTS` times by the SDK's standard
//! retry (timeouts, cut connections, 5xx and Slow Down; bodies are in
//! memory, so a part or a put can be sent again). Each failed attempt is
//! counted by cause (`dnu_vault_object_store_attempt_failures_total`), so
//! an operator sees a flaky store before clients do; what still fails after
//! the retries answers 503 with `Retry-After` ([`Error::StoreUnreachable`]).

use std::time::{Duration, SystemTime};

use aws_sdk_s3::{
    Client,
    config::{
        ConfigBag, Credentials, Intercept, Region, RequestChecksumCalculation, ResponseChecksumValidation,
        RuntimeComponents, http::HttpResponse, interceptors::FinalizerInterceptorContextRef, retry::RetryConfig,
        timeout::TimeoutConfig,
    },
    error::{BoxError, SdkError},
    primitives::ByteStream,
    types::{CompletedMultipartUpload, CompletedPart},
};
use secrecy::ExposeSecret;

use super::{Listed, ObjectKey, ObjectReader};
use crate::{
    config::S3Settings,
    error::Error,
    metrics::{self, StoreAttemptFailure},
};

/// Part size of multipart uploads (S3 requires at least 5 MiB but the last).
const PART: usize = 8 * 1024 * 1024;

#[derive(Clone, Debug)]
pub struct S3Store {
    client: Client,
    bucket: String,
    prefix: String,
}

/// Connecting to a store on the same network takes milliseconds.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// The first retry waits about this long (the SDK's default is 1 s: a
/// client's upload would wait seconds for one Slow Down).
const FIRST_BACKOFF: Duration = Duration::from_millis(200);

fn s3_err<E: std::error::Error>(op: &str, e: SdkError<E, HttpResponse>) -> Error {
    // `DisplayErrorContext` would be nicer; the debug form keeps the service
    // error code, which is what an operator needs.
    let text = format!("s3: {op}: {e:?}");
    let unreachable = match &e {
        SdkError::TimeoutError(_) | SdkError::ResponseError(_) => true,
        SdkError::DispatchFailure(d) => !d.is_user(),
        SdkError::ServiceError(s) => s.raw().status().is_server_error() || s.raw().status().as_u16() == 429,
        _ => false,
    };
    if unreachable { Error::StoreUnreachable(text) } else { Error::Store(text) }
}

/// Counts every failed attempt by cause, after the SDK has classified it
/// and before it decides to retry.
#[derive(Debug)]
struct CountAttempts;

impl Intercept for CountAttempts {
    fn name(&self) -> &'static str {
        "dnu-vault attempt counter"
    }

    fn read_after_attempt(
        &self,
        ctx: &FinalizerInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let status = ctx.response().map(|r| r.status().as_u16());
        let failure = match (status, ctx.output_or_error()) {
            (Some(503), _) => Some(StoreAttemptFailure::Unavailable),
            (Some(s), _) if s >= 500 || s == 429 => Some(StoreAttemptFailure::ServerError),
            (Some(_), _) | (None, None | Some(Ok(_))) => None,
            (None, Some(Err(e))) if e.is_timeout_error() => Some(StoreAttemptFailure::Timeout),
            (None, Some(Err(e))) => match e.as_connector_error() {
                Some(c) if c.is_timeout() => Some(StoreAttemptFailure::Timeout),
                Some(c) if !c.is_user() => Some(StoreAttemptFailure::Connection),
                _ => None,
            },
        };
        if let Some(f) = failure {
            metrics::global().store_attempt_failed(f);
        }
        Ok(())
    }
}

impl S3Store {
    pub async fn connect(s: &S3Settings) -> Result<Self, Error> {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if let Some(r) = &s.region {
            loader = loader.region(Region::new(r.clone()));
        }
        if let (Some(id), Some(secret)) = (&s.access_key_id, &s.secret_access_key) {
            loader =
                loader.credentials_provider(Credentials::new(id, secret.expose_secret(), None, None, "vault-config"));
        }
        let shared = loader.load().await;
        let mut b = aws_sdk_s3::config::Builder::from(&shared)
            .force_path_style(s.path_style)
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(CONNECT_TIMEOUT)
                    .operation_attempt_timeout(s.attempt_timeout)
                    .build(),
            )
            .retry_config(RetryConfig::standard().with_max_attempts(s.max_attempts).with_initial_backoff(FIRST_BACKOFF))
            .interceptor(CountAttempts)
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired);
        if shared.region().is_none() {
            // S3-compatible servers usually ignore the region, but the SDK
            // refuses to sign without one.
            b = b.region(Region::new("us-east-1"));
        }
        if let Some(e) = &s.endpoint {
            b = b.endpoint_url(e);
        }
        Ok(Self { client: Client::from_conf(b.build()), bucket: s.bucket.clone(), prefix: s.prefix.clone() })
    }

    fn full(&self, key: &ObjectKey) -> String {
        if self.prefix.is_empty() { key.path() } else { format!("{}/{}", self.prefix, key.path()) }
    }

    fn strip<'a>(&self, full: &'a str) -> Option<&'a str> {
        if self.prefix.is_empty() { Some(full) } else { full.strip_prefix(&self.prefix)?.strip_prefix('/') }
    }

    pub(super) fn writer(&self, key: &ObjectKey) -> S3Writer {
        S3Writer { store: self.clone(), key: self.full(key), buf: Vec::new(), upload: None }
    }

    pub(super) async fn reader(&self, key: &ObjectKey) -> Result<ObjectReader, Error> {
        let out = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(self.full(key))
            .send()
            .await
            .map_err(|e| s3_err("get object", e))?;
        Ok(Box::new(out.body.into_async_read()))
    }

    pub(super) async fn len(&self, key: &ObjectKey) -> Result<Option<u64>, Error> {
        match self.client.head_object().bucket(&self.bucket).key(self.full(key)).send().await {
            Ok(h) => Ok(h.content_length().and_then(|l| u64::try_from(l).ok())),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(None),
            Err(e) => Err(s3_err("head object", e)),
        }
    }

    pub(super) async fn delete(&self, key: &ObjectKey) -> Result<(), Error> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(self.full(key))
            .send()
            .await
            .map_err(|e| s3_err("delete object", e))?;
        Ok(())
    }

    pub(super) async fn list(&self) -> Result<Vec<Listed>, Error> {
        let prefix = if self.prefix.is_empty() { "dossiers/".to_owned() } else { format!("{}/dossiers/", self.prefix) };
        let mut pages = self.client.list_objects_v2().bucket(&self.bucket).prefix(prefix).into_paginator().send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| s3_err("list objects", e))?;
            for o in page.contents() {
                let Some(key) = o.key().and_then(|k| self.strip(k)).and_then(ObjectKey::parse) else { continue };
                let modified =
                    o.last_modified().and_then(|t| SystemTime::try_from(*t).ok()).unwrap_or(SystemTime::UNIX_EPOCH);
                out.push(Listed { key, modified });
            }
        }
        Ok(out)
    }

    pub(super) async fn list_checkpoints(&self) -> Result<Vec<ObjectKey>, Error> {
        let prefix = if self.prefix.is_empty() {
            super::key::CHECKPOINTS.to_owned()
        } else {
            format!("{}/{}", self.prefix, super::key::CHECKPOINTS)
        };
        let mut pages = self.client.list_objects_v2().bucket(&self.bucket).prefix(prefix).into_paginator().send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| s3_err("list checkpoints", e))?;
            out.extend(
                page.contents().iter().filter_map(|o| o.key().and_then(|k| self.strip(k)).and_then(ObjectKey::parse)),
            );
        }
        Ok(out)
    }

    pub(super) async fn check(&self) -> Result<(), Error> {
        self.client.head_bucket().bucket(&self.bucket).send().await.map_err(|e| s3_err("head bucket", e))?;
        Ok(())
    }

    pub(super) async fn clean_incomplete(&self, before: SystemTime) -> Result<usize, Error> {
        let out = self
            .client
            .list_multipart_uploads()
            .bucket(&self.bucket)
            .prefix(if self.prefix.is_empty() { String::new() } else { format!("{}/", self.prefix) })
            .send()
            .await
            .map_err(|e| s3_err("list multipart uploads", e))?;
        let mut n = 0;
        for u in out.uploads() {
            let started = u.initiated().and_then(|t| SystemTime::try_from(*t).ok()).unwrap_or(SystemTime::UNIX_EPOCH);
            if let (Some(key), Some(id)) = (u.key(), u.upload_id())
                && started < before
            {
                self.client
                    .abort_multipart_upload()
                    .bucket(&self.bucket)
                    .key(key)
                    .upload_id(id)
                    .send()
                    .await
                    .map_err(|e| s3_err("abort multipart upload", e))?;
                n += 1;
            }
        }
        Ok(n)
    }
}

pub struct S3Writer {
    store: S3Store,
    key: String,
    buf: Vec<u8>,
    upload: Option<(String, Vec<CompletedPart>)>,
}

impl S3Writer {
    pub(super) async fn write(&mut self, mut data: &[u8]) -> Result<(), Error> {
        while !data.is_empty() {
            let take = (PART - self.buf.len()).min(data.len());
            self.buf.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.buf.len() == PART {
                self.send_part().await?;
            }
        }
        Ok(())
    }

    async fn send_part(&mut self) -> Result<(), Error> {
        let (c, bucket) = (&self.store.client, &self.store.bucket);
        if self.upload.is_none() {
            let created = c
                .create_multipart_upload()
                .bucket(bucket)
                .key(&self.key)
                .send()
                .await
                .map_err(|e| s3_err("create multipart upload", e))?;
            let id = created.upload_id().ok_or_else(|| Error::Store("s3: no upload id".into()))?.to_owned();
            self.upload = Some((id, Vec::new()));
        }
        let Some((id, parts)) = self.upload.as_mut() else { unreachable!("upload was just created") };
        let number = i32::try_from(parts.len() + 1).map_err(|_| Error::Store("s3: too many parts".into()))?;
        let body = std::mem::replace(&mut self.buf, Vec::with_capacity(PART));
        let out = c
            .upload_part()
            .bucket(bucket)
            .key(&self.key)
            .upload_id(id.as_str())
            .part_number(number)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| s3_err("upload part", e))?;
        parts.push(CompletedPart::builder().part_number(number).set_e_tag(out.e_tag().map(str::to_owned)).build());
        Ok(())
    }

    pub(super) async fn finish(mut self) -> Result<u64, Error> {
        let (c, bucket) = (self.store.client.clone(), self.store.bucket.clone());
        if self.upload.is_none() {
            let body = std::mem::take(&mut self.buf);
            // If-None-Match would make the no-overwrite rule server-side, but
            // not every S3-compatible store honours it on PutObject; names are
            // fresh random ids, which is what guarantees no replacement.
            c.put_object()
                .bucket(&bucket)
                .key(&self.key)
                .body(ByteStream::from(body))
                .send()
                .await
                .map_err(|e| s3_err("put object", e))?;
        } else {
            if !self.buf.is_empty()
                && let Err(e) = self.send_part().await
            {
                self.abort().await;
                return Err(e);
            }
            let Some((id, parts)) = self.upload.take() else { unreachable!("checked above") };
            let done = c
                .complete_multipart_upload()
                .bucket(&bucket)
                .key(&self.key)
                .upload_id(&id)
                .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
                .send()
                .await;
            if let Err(e) = done {
                let _ = c.abort_multipart_upload().bucket(&bucket).key(&self.key).upload_id(&id).send().await;
                return Err(s3_err("complete multipart upload", e));
            }
        }
        let head = c.head_object().bucket(&bucket).key(&self.key).send().await.map_err(|e| s3_err("head object", e))?;
        head.content_length()
            .and_then(|l| u64::try_from(l).ok())
            .ok_or_else(|| Error::Store("s3: stored object has no length".into()))
    }

    pub(super) async fn abort(mut self) {
        if let Some((id, _)) = self.upload.take() {
            // Best effort: `dnu-vault gc` also aborts stale multipart uploads.
            let _ = self
                .store
                .client
                .abort_multipart_upload()
                .bucket(&self.store.bucket)
                .key(&self.key)
                .upload_id(id)
                .send()
                .await;
        }
    }
}
