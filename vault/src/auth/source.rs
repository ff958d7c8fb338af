//! Where a request comes from: the client's address, for limits that count
//! per client (sign-in attempts). Never logged (an address is personal
//! data) and never used to decide access.

use std::net::{IpAddr, SocketAddr};

use axum::{
    extract::{ConnectInfo, FromRequestParts},
    http::request::Parts,
};

use crate::app::Vault;

/// The client's address: the connection's, or the last `X-Forwarded-For`
/// entry when the operator said a proxy appends it
/// (`VAULT_TRUST_FORWARDED_FOR`) and the connection comes from one
/// (`VAULT_TRUSTED_PROXIES`). `None` when neither is known (a request
/// built in-process, as the tests' router calls are).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub Option<IpAddr>);

impl FromRequestParts<Vault> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, vault: &Vault) -> Result<Self, Self::Rejection> {
        let connection = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        if !vault.config().believes_forwarded(connection) {
            return Ok(Self(connection));
        }
        // The proxy appends the address it saw: the last entry is the one
        // no client can forge.
        let forwarded = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .last()
            .and_then(|a| a.trim().parse::<IpAddr>().ok());
        Ok(Self(forwarded.or(connection)))
    }
}
