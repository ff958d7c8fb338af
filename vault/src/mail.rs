//! E-mail out: one SMTP transport (lettre) built from the settings, and a
//! send that says whether a failure is worth retrying. Nothing here logs a
//! recipient or a server's reply text (it may quote the address).

use std::time::Duration;

use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox, MultiPart},
    transport::smtp::{
        authentication::Credentials,
        client::{Tls, TlsParameters},
    },
};
use secrecy::ExposeSecret;

use crate::{
    config::{SmtpConfig, SmtpSecurity},
    domain::EmailAddress,
    error::Error,
};

/// A message to send: French text and its HTML twin.
#[derive(Debug, Clone)]
pub struct Outgoing<'a> {
    pub to: &'a EmailAddress,
    pub subject: &'a str,
    pub text: &'a str,
    pub html: &'a str,
    /// Stable per notice (`<id@domain>`): a message sent again after a
    /// crash carries the same id, so mail systems can drop the duplicate.
    pub message_id: String,
}

/// Why a message did not leave.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// The server refused for good (a 5xx reply): retrying changes nothing.
    #[error("the mail server refused the message (SMTP {0})")]
    Refused(String),
    /// A temporary failure (4xx, connection, timeout): try again later.
    #[error("{0}")]
    Deferred(String),
}

#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// The domain of the sender's address, for Message-IDs.
    domain: String,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer").field("domain", &self.domain).finish_non_exhaustive()
    }
}

impl Mailer {
    pub fn new(c: &SmtpConfig) -> Result<Self, Error> {
        let from: Mailbox = c.from.parse().map_err(|e| Error::Config(format!("VAULT_MAIL_FROM {:?}: {e}", c.from)))?;
        let domain = from.email.domain().to_owned();
        let tls = |host: &str| {
            TlsParameters::new(host.to_owned())
                .map_err(|e| Error::Config(format!("VAULT_SMTP_URL: cannot prepare TLS for {host}: {e}")))
        };
        let security = match c.security {
            SmtpSecurity::Tls => Tls::Wrapper(tls(&c.host)?),
            SmtpSecurity::StartTls => Tls::Required(tls(&c.host)?),
            SmtpSecurity::LoopbackPlain => Tls::None,
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(c.host.clone())
            .port(c.port)
            .tls(security)
            .timeout(Some(Duration::from_secs(20)));
        if let Some((user, password)) = &c.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), password.expose_secret().to_owned()));
        }
        Ok(Self { transport: builder.build(), from, domain })
    }

    /// The domain of the sender's address.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The Message-ID of a notice.
    pub fn message_id(&self, notice: uuid::Uuid) -> String {
        format!("<{notice}@{}>", self.domain)
    }

    pub async fn send(&self, m: &Outgoing<'_>) -> Result<(), Failure> {
        let to: Mailbox = m.to.as_str().parse().map_err(|_| Failure::Refused("address".into()))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(m.subject)
            .message_id(Some(m.message_id.clone()))
            .multipart(MultiPart::alternative_plain_html(m.text.to_owned(), m.html.to_owned()))
            .map_err(|e| Failure::Refused(format!("message: {e}")))?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) => {
                let code = e.status().map(|c| c.to_string());
                if e.is_permanent() {
                    Err(Failure::Refused(code.unwrap_or_else(|| "5xx".into())))
                } else if let Some(code) = code {
                    Err(Failure::Deferred(format!("the mail server deferred the message (SMTP {code})")))
                } else if e.is_timeout() {
                    Err(Failure::Deferred("the mail server did not answer in time".into()))
                } else {
                    Err(Failure::Deferred("the mail server could not be reached".into()))
                }
            }
        }
    }
}
