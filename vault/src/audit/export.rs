//! The journal as JSON lines, for an operator's tools (a SIEM, a search
//! from a user's report by its `X-Request-Id`): ids, names and times only,
//! as stored; events hold no personal data or content.

use std::io::Write;

use serde_json::json;

use crate::{app::Vault, db::audit::StoredEvent, error::Error};

/// Which events to write.
#[derive(Debug, Clone, Default)]
pub struct ExportFilter {
    /// Only events after this sequence number.
    pub after: i64,
    /// Only events recorded while serving this request.
    pub request: Option<String>,
}

fn line(e: &StoredEvent) -> serde_json::Value {
    let [agent, organisation, action, dossier, piece, version, outcome, purpose, grantee, request] = &e.fields;
    json!({
        "seq": e.seq,
        "at": crate::clock::rfc3339(e.at / 1000),
        "action": action,
        "outcome": outcome,
        "agent": agent,
        "organisation": organisation,
        "dossier": dossier,
        "piece": piece,
        "version": version,
        "purpose": purpose,
        "grantee": grantee,
        "request_id": request,
    })
}

/// Writes the matching events, oldest first, one JSON object a line;
/// returns how many.
pub async fn export(vault: &Vault, filter: &ExportFilter, out: &mut impl Write) -> Result<usize, Error> {
    let mut after = filter.after;
    let mut written = 0;
    loop {
        let batch = vault.db().audit_events_after(after, 1000).await?;
        let Some(last) = batch.last() else { break };
        after = last.seq;
        for e in batch.iter().filter(|e| filter.request.is_none() || e.fields[9] == filter.request) {
            serde_json::to_writer(&mut *out, &line(e)).map_err(|e| Error::internal("writing an audit line", e))?;
            out.write_all(b"\n")?;
            written += 1;
        }
    }
    out.flush()?;
    Ok(written)
}
