//! Accepting connections and watching request bodies: the first line
//! against slow and abusive clients, before a request reaches a handler.
//!
//! * A client has `header_timeout` to send its request line and headers,
//!   and a kept-alive connection may idle that long between requests
//!   (hyper closes it otherwise): a slowloris holds a connection for
//!   seconds, not for ever.
//! * One address holds at most `per_client` connections (the trusted
//!   proxies excepted, whose connections carry many clients); the next is
//!   answered 429 and closed. All addresses together hold at most `max`
//!   (503): file descriptors and memory stay bounded whatever the flood.
//! * A request body must not go `upload_idle` without a byte, nor still be
//!   arriving after `body_deadline` ([`watch_body`], a router layer, so
//!   the in-process tests meet it too): 408.
//!
//! At shutdown the listener stops accepting and the requests under way
//! finish (hyper's graceful shutdown, as `axum::serve` did before).

use std::{
    collections::HashMap,
    future::Future,
    net::IpAddr,
    pin::Pin,
    sync::{Arc, Mutex, PoisonError},
    task::{Context, Poll},
    time::Duration,
};

use axum::{
    Router,
    body::{Body, BodyDataStream, Bytes, HttpBody},
    extract::{ConnectInfo, Request, State},
    middleware::Next,
    response::Response,
};
use futures_util::{Stream, StreamExt};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};
use tower::ServiceExt;

use crate::{app::Vault, config::Connections, error::BodyRefusal};

/// Serves `app` on `listener` until `shutdown` completes, then lets the
/// requests under way finish.
pub async fn serve(listener: TcpListener, app: Router, limits: Connections, shutdown: impl Future<Output = ()>) {
    let open = Arc::new(Open::default());
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    accept_failed(&e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let slot = match Open::admit(&open, peer.ip(), &limits) {
            Ok(slot) => slot,
            Err(refusal) => {
                crate::metrics::global().connections_refused.inc();
                tokio::spawn(refuse(stream, refusal));
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        // The connection's address reaches the handlers that count per
        // client (auth::ClientAddr), as axum's `ConnectInfo`.
        let service = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            app.clone().oneshot(req.map(Body::new))
        });
        let conn = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            // Cut connections and timed-out headers end here; nothing to
            // tell anyone (the address is personal data, never logged).
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// An accept that failed: out of file descriptors (wait a little, or the
/// loop would spin), or a connection gone before it was taken (nothing).
async fn accept_failed(e: &std::io::Error) {
    if matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)) {
        tracing::error!(error = %e, "cannot accept connections: out of resources; lower VAULT_MAX_CONNECTIONS");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Open connections, in all and per address.
#[derive(Debug, Default)]
struct Open {
    counts: Mutex<(usize, HashMap<IpAddr, usize>)>,
}

/// Why a connection is not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    /// This address holds its share.
    PerClient,
    /// The server holds all it may.
    Full,
}

/// A connection's place, given back when it closes.
struct Slot {
    open: Arc<Open>,
    /// `None` for a trusted proxy's connection (counted only in all).
    client: Option<IpAddr>,
}

impl Open {
    fn admit(this: &Arc<Self>, ip: IpAddr, limits: &Connections) -> Result<Slot, Refusal> {
        let ip = ip.to_canonical();
        let client = (!limits.trusted_proxies.contains(ip)).then_some(ip);
        let mut c = this.counts.lock().unwrap_or_else(PoisonError::into_inner);
        if c.0 >= limits.max {
            return Err(Refusal::Full);
        }
        if let Some(ip) = client {
            let n = c.1.entry(ip).or_insert(0);
            if *n >= limits.per_client {
                return Err(Refusal::PerClient);
            }
            *n += 1;
        }
        c.0 += 1;
        crate::metrics::global().connections_open(c.0);
        Ok(Slot { open: Arc::clone(this), client })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut c = self.open.counts.lock().unwrap_or_else(PoisonError::into_inner);
        c.0 = c.0.saturating_sub(1);
        if let Some(ip) = self.client
            && let Some(n) = c.1.get_mut(&ip)
        {
            *n -= 1;
            if *n == 0 {
                c.1.remove(&ip);
            }
        }
        crate::metrics::global().connections_open(c.0);
    }
}

/// Answers a refused connection in the API's error shape and closes it,
/// spending at most a couple of seconds on it.
async fn refuse(mut stream: TcpStream, why: Refusal) {
    let (status, code, message) = match why {
        Refusal::PerClient => (
            "429 Too Many Requests",
            "too_many_connections",
            "too many connections from this address; close some and try again",
        ),
        Refusal::Full => ("503 Service Unavailable", "unavailable", "the server holds all the connections it may"),
    };
    let body = serde_json::to_vec(&dnu_api::wire::ErrorBody::new(code, message.to_owned())).unwrap_or_default();
    let head = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\nretry-after: 5\r\nconnection: close\r\n\
         content-length: {}\r\n\r\n",
        body.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(&body).await?;
        stream.shutdown().await?;
        // Read what the client had sent before closing: closing with
        // unread bytes would reset the connection and lose the answer.
        let mut sink = [0u8; 4096];
        while stream.read(&mut sink).await? > 0 {}
        Ok::<_, std::io::Error>(())
    })
    .await;
}

/// Router layer: every request body is watched for silence and for its
/// overall deadline (`VAULT_UPLOAD_IDLE_SECONDS`,
/// `VAULT_UPLOAD_DEADLINE_SECONDS`). Requests without a body pass as they
/// are.
pub async fn watch_body(State(vault): State<Vault>, req: Request, next: Next) -> Response {
    // hyper knows a request without Content-Length or Transfer-Encoding has
    // no body; a request built in-process may stream one without either.
    if HttpBody::is_end_stream(req.body()) {
        return next.run(req).await;
    }
    let config = vault.config();
    let (idle, deadline) = (config.upload_idle, config.connections.body_deadline);
    let req = req.map(|body| Body::from_stream(Watched::new(body.into_data_stream(), idle, deadline)));
    next.run(req).await
}

/// A body cut off when silent for `idle` or unfinished at `deadline`.
struct Watched {
    inner: BodyDataStream,
    idle: Duration,
    silence: Pin<Box<tokio::time::Sleep>>,
    deadline_s: u64,
    deadline: Pin<Box<tokio::time::Sleep>>,
    failed: bool,
}

impl Watched {
    fn new(inner: BodyDataStream, idle: Duration, deadline: Duration) -> Self {
        Self {
            inner,
            idle,
            silence: Box::pin(tokio::time::sleep(idle)),
            deadline_s: deadline.as_secs(),
            deadline: Box::pin(tokio::time::sleep(deadline)),
            failed: false,
        }
    }

    fn fail(&mut self, why: BodyRefusal) -> Poll<Option<Result<Bytes, axum::BoxError>>> {
        self.failed = true;
        Poll::Ready(Some(Err(Box::new(why))))
    }
}

impl Stream for Watched {
    type Item = Result<Bytes, axum::BoxError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.failed {
            return Poll::Ready(None);
        }
        if self.deadline.as_mut().poll(cx).is_ready() {
            let deadline_s = self.deadline_s;
            return self.fail(BodyRefusal::TooSlow { deadline_s });
        }
        match self.inner.poll_next_unpin(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                let next = tokio::time::Instant::now() + self.idle;
                self.silence.as_mut().reset(next);
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(Box::new(e)))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => match self.silence.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    let idle_s = self.idle.as_secs();
                    self.fail(BodyRefusal::Stalled { idle_s })
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Proxies;

    fn limits(max: usize, per_client: usize) -> Connections {
        Connections { max, per_client, trusted_proxies: Proxies::parse("10.0.0.1").unwrap(), ..Connections::default() }
    }

    #[test]
    fn an_address_holds_its_share_and_gets_it_back() {
        let open = Arc::new(Open::default());
        let l = limits(10, 2);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let first = Open::admit(&open, a, &l).unwrap();
        let _second = Open::admit(&open, a, &l).unwrap();
        assert_eq!(Open::admit(&open, a, &l).err(), Some(Refusal::PerClient));
        // Another address is not affected; nor is the trusted proxy.
        let _other = Open::admit(&open, "192.0.2.2".parse().unwrap(), &l).unwrap();
        let proxy: Vec<Slot> = (0..5).map(|_| Open::admit(&open, "10.0.0.1".parse().unwrap(), &l).unwrap()).collect();
        drop(first);
        let _again = Open::admit(&open, a, &l).unwrap();
        // 2 + 1 + 5 = 8 open: two more fit in all, then the server is full.
        let _x = Open::admit(&open, "192.0.2.3".parse().unwrap(), &l).unwrap();
        let _y = Open::admit(&open, "192.0.2.4".parse().unwrap(), &l).unwrap();
        assert_eq!(Open::admit(&open, "192.0.2.5".parse().unwrap(), &l).err(), Some(Refusal::Full));
        drop(proxy);
        assert!(Open::admit(&open, "192.0.2.5".parse().unwrap(), &l).is_ok());
    }

    #[tokio::test]
    async fn a_silent_or_endless_body_is_cut_off() {
        // Silent: nothing ever comes.
        let silent = Body::from_stream(futures_util::stream::pending::<Result<Bytes, std::io::Error>>());
        let t = std::time::Instant::now();
        let mut w = Watched::new(silent.into_data_stream(), Duration::from_millis(300), Duration::from_secs(60));
        let e = w.next().await.unwrap().unwrap_err();
        assert!(matches!(e.downcast_ref::<BodyRefusal>(), Some(BodyRefusal::Stalled { .. })), "{e}");
        assert!(t.elapsed() >= Duration::from_millis(300));
        // Steady but endless: a byte every 50 ms never trips the idle
        // timer (300 ms); the deadline (1 s) does.
        let trickle = futures_util::stream::unfold((), |()| async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            Some((Ok::<_, std::io::Error>(Bytes::from_static(b"x")), ()))
        });
        let t = std::time::Instant::now();
        let mut w = Watched::new(
            Body::from_stream(trickle).into_data_stream(),
            Duration::from_millis(300),
            Duration::from_secs(1),
        );
        let mut got = 0;
        let e = loop {
            match w.next().await.unwrap() {
                Ok(b) => got += b.len(),
                Err(e) => break e,
            }
        };
        assert_eq!(e.downcast_ref::<BodyRefusal>(), Some(&BodyRefusal::TooSlow { deadline_s: 1 }));
        assert!(t.elapsed() >= Duration::from_secs(1) && got >= 10, "{got} bytes in {:?}", t.elapsed());
        assert!(w.next().await.is_none());
    }
}
