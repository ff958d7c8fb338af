//! The few HTTP calls a sign-in makes to its provider (discovery, keys,
//! token, userinfo), over rustls with the system's roots, each bounded in
//! time and in size: a provider that hangs or floods must not hold a
//! request of the vault past what a person waits for.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::{Method, Request, StatusCode, header};
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::TokioExecutor,
};

use super::Failure;

/// One call, connection included: the provider-down page shows within 10 s.
const CALL_TIMEOUT: Duration = Duration::from_secs(8);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest answer read: discovery documents and key sets are a few KiB.
const MAX_BODY: usize = 256 * 1024;

type Https = hyper_rustls::HttpsConnector<HttpConnector>;

/// A client shared by every sign-in (connections are kept and reused).
#[derive(Clone, Debug)]
pub struct Http {
    client: Client<Https, Full<Bytes>>,
}

/// What the provider answered.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub body: Bytes,
}

impl Http {
    pub fn new() -> Result<Self, Failure> {
        let mut http = HttpConnector::new();
        http.set_connect_timeout(Some(CONNECT_TIMEOUT));
        http.enforce_http(false);
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
            .map_err(|e| Failure::Setup(format!("the system's TLS roots: {e}")))?
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        Ok(Self { client: Client::builder(TokioExecutor::new()).build(https) })
    }

    pub async fn get(&self, url: &str, bearer: Option<&str>, accept: &str) -> Result<Answer, Failure> {
        let mut req = Request::builder().method(Method::GET).uri(url).header(header::ACCEPT, accept);
        if let Some(token) = bearer {
            req = req.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        self.send(req.body(Full::default()).map_err(|_| Failure::Malformed("an endpoint's URL"))?).await
    }

    /// A form post (`client_secret_post`: the secret rides in the body,
    /// never also in an `Authorization` header).
    pub async fn post_form(&self, url: &str, form: &[(&str, &str)]) -> Result<Answer, Failure> {
        let req = Request::builder()
            .method(Method::POST)
            .uri(url)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json")
            .body(Full::new(Bytes::from(super::form_encode(form))))
            .map_err(|_| Failure::Malformed("an endpoint's URL"))?;
        self.send(req).await
    }

    async fn send(&self, req: Request<Full<Bytes>>) -> Result<Answer, Failure> {
        let call = async {
            let resp = self.client.request(req).await.map_err(|_| Failure::Unreachable)?;
            let status = resp.status();
            let body =
                Limited::new(resp.into_body(), MAX_BODY).collect().await.map_err(|_| Failure::Unreachable)?.to_bytes();
            Ok(Answer { status, body })
        };
        tokio::time::timeout(CALL_TIMEOUT, call).await.map_err(|_| Failure::Unreachable)?
    }
}
