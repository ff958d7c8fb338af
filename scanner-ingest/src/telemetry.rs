//! Logs on stderr: `RUST_LOG` filters (default `info`); `SCANNER_LOG_FORMAT=json`
//! for one JSON object a line. Logs carry batch and job ids, never a
//! numéro unique, a token or document content.

pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if std::env::var("SCANNER_LOG_FORMAT").as_deref() == Ok("json") {
        builder.json().init();
    } else {
        builder.init();
    }
}
