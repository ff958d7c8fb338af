//! The small contract shared by the vault and `scanner-ingest`, which
//! otherwise talk only over HTTP: the format of a *numéro unique*, the
//! separator-sheet payload and its HMAC, the scan provenance an upload may
//! carry, the idempotency header, the error body and upload receipt
//! ([`wire`]), and the catalogue of pieces (data).

pub mod numero_unique;
pub mod scan;
pub mod sheet;
pub mod wire;

use serde::Deserialize;

/// The catalogue of pieces (arrêté du 22 décembre 2020) as shipped; the
/// vault parses and enforces it, `scanner-ingest` reads the labels.
pub const CATALOGUE_TOML: &str = include_str!("../catalogue.toml");

/// Header carrying a client's idempotency key on uploads: the same key on
/// the same dossier files at most one version, however often it is sent.
pub const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";

/// Longest accepted idempotency key.
pub const MAX_IDEMPOTENCY_KEY: usize = 128;

/// Whether `key` is an acceptable idempotency key: 8 to 128 visible ASCII
/// characters (a UUID, a hash, a job id).
pub fn valid_idempotency_key(key: &str) -> bool {
    (8..=MAX_IDEMPOTENCY_KEY).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic())
}

/// The human label of a piece kind (`avis_imposition_n1` → "Avis
/// d'imposition …"), if the catalogue has it.
pub fn kind_label(code: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Labels {
        kind: Vec<Entry>,
    }
    #[derive(Deserialize)]
    struct Entry {
        code: String,
        label: String,
    }
    let labels: Labels = toml::from_str(CATALOGUE_TOML).ok()?;
    labels.kind.into_iter().find(|k| k.code == code).map(|k| k.label)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_come_from_the_catalogue() {
        let label = kind_label("identite").expect("identite is in the catalogue");
        assert!(label.to_lowercase().contains("identit"), "{label}");
        assert_eq!(kind_label("releve_bancaire_inconnu"), None);
    }

    #[test]
    fn idempotency_keys() {
        assert!(valid_idempotency_key("0f5e2a9c-batch-3"));
        assert!(!valid_idempotency_key("short"));
        assert!(!valid_idempotency_key("has space in it"));
        assert!(!valid_idempotency_key(&"x".repeat(129)));
    }
}
