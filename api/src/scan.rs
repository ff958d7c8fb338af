//! Scan provenance: what `scanner-ingest` tells the vault about a piece it
//! digitised, sent as the upload's `scan` form field (JSON) and kept sealed
//! with the version's metadata. The guichet, the agent and the time of
//! upload come from the vault itself (the token); this adds what only the
//! scanning side knows.

use serde::{Deserialize, Serialize};

/// Most raw images one piece may list (one per scanned page).
pub const MAX_IMAGES: usize = 1000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ScanProvenance {
    /// The host the scanner delivered to (`hostname`), as configured.
    pub host: String,
    /// When the batch was taken from the scanner's folder (Unix ms).
    pub scanned_at: i64,
    /// SHA-256 (hex) of each raw image file the piece was built from, in
    /// page order, so the piece can be traced back to the scanner's output.
    pub images_sha256: Vec<String>,
}

/// A host name as provenance records it: 1 to 253 letters, digits, '-',
/// '.' or '_'.
pub fn valid_host(host: &str) -> bool {
    (1..=253).contains(&host.len())
        && host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
}

impl ScanProvenance {
    /// Checks the fields a hostile client could fill with anything.
    pub fn validate(&self) -> Result<(), String> {
        if !valid_host(&self.host) {
            return Err("scan.host: expected a host name (letters, digits, '-', '.', '_'; at most 253)".into());
        }
        // 2000-01-01 .. 2100-01-01: a clock gone wrong is refused, not recorded.
        if !(946_684_800_000..4_102_444_800_000).contains(&self.scanned_at) {
            return Err("scan.scanned_at: expected Unix milliseconds between 2000 and 2100".into());
        }
        if self.images_sha256.is_empty() || self.images_sha256.len() > MAX_IMAGES {
            return Err(format!("scan.images_sha256: expected 1 to {MAX_IMAGES} hashes"));
        }
        if !self.images_sha256.iter().all(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit())) {
            return Err("scan.images_sha256: each must be 64 hex digits".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation() {
        let good = ScanProvenance {
            host: "scan-mairie-01.local".into(),
            scanned_at: 1_764_000_000_000,
            images_sha256: vec!["ab".repeat(32)],
        };
        assert!(good.validate().is_ok());
        assert!(ScanProvenance { host: "a b".into(), ..good.clone() }.validate().is_err());
        assert!(ScanProvenance { scanned_at: 0, ..good.clone() }.validate().is_err());
        assert!(ScanProvenance { images_sha256: vec![], ..good.clone() }.validate().is_err());
        assert!(ScanProvenance { images_sha256: vec!["xy".repeat(32)], ..good }.validate().is_err());
    }
}
