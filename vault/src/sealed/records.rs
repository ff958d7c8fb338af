//! Small records sealed under a dossier key, each bound to its own id:
//! the applicant's contact details and the notices' messages. JSON inside
//! the seal; a record that does not open or parse is an integrity error.

use serde::{Serialize, de::DeserializeOwned};
use uuid::Uuid;

use crate::{
    crypto::DossierKey,
    db::contacts::SealedRecord,
    domain::{Contact, ContactFields},
    error::Error,
};

/// Seals `value` as a new record (a fresh id).
pub fn seal<T: Serialize>(dk: &DossierKey, value: &T) -> Result<SealedRecord, Error> {
    seal_as(dk, Uuid::new_v4(), value)
}

/// Seals `value` bound to `id`.
pub fn seal_as<T: Serialize>(dk: &DossierKey, id: Uuid, value: &T) -> Result<SealedRecord, Error> {
    let plain = serde_json::to_vec(value).map_err(|e| Error::internal("serialising a sealed record", e))?;
    Ok(SealedRecord { id, sealed: dk.seal_meta(id, &plain)? })
}

pub fn open<T: DeserializeOwned>(dk: &DossierKey, record: &SealedRecord) -> Result<T, Error> {
    let plain = dk.open_meta(record.id, &record.sealed)?;
    serde_json::from_slice(&plain).map_err(|_| Error::Integrity("a sealed record does not parse".into()))
}

pub fn seal_contact(dk: &DossierKey, contact: &Contact) -> Result<SealedRecord, Error> {
    seal(dk, &contact.fields())
}

pub fn open_contact(dk: &DossierKey, record: &SealedRecord) -> Result<Contact, Error> {
    let fields: ContactFields = open(dk, record)?;
    Contact::parse(&fields).map_err(|e| Error::Integrity(format!("stored contact details no longer parse: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_opens_only_under_its_id_and_key() {
        let dk = DossierKey::generate(Uuid::new_v4()).unwrap();
        let contact = Contact::parse(&ContactFields {
            email: Some("marie@exemple.fr".into()),
            postal_address: vec!["Mme Marie Martin".into(), "59140 Dunkerque".into()],
            online: true,
            wants_post: false,
        })
        .unwrap();
        let r = seal_contact(&dk, &contact).unwrap();
        assert!(!r.sealed.windows(6).any(|w| w == b"exempl"), "the address is not in clear");
        assert_eq!(open_contact(&dk, &r).unwrap(), contact);
        let moved = SealedRecord { id: Uuid::new_v4(), sealed: r.sealed.clone() };
        assert!(open_contact(&dk, &moved).is_err(), "bound to its id");
        let other = DossierKey::generate(Uuid::new_v4()).unwrap();
        assert!(open_contact(&other, &r).is_err(), "bound to its dossier's key");
    }
}
