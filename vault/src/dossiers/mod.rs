//! Dossiers: registration, consultation, the worklist and the lifecycle
//! (renewal, radiation, merging numbers).

pub mod completeness;
pub mod contact;
pub mod lifecycle;
pub mod merge;
pub mod register;
pub mod show;
pub mod worklist;

pub use completeness::{completeness_of, put_expected};
pub use lifecycle::{RadiationReason, radiate_dossier, renew_dossier, warn, warn_radiation};
pub use merge::{MergeView, merge_dossiers};
pub(crate) use register::{Credentials, one_year_after};
pub use register::{RegisterInput, Registered, ShownCredentials, register_dossier};
pub use show::{DossierView, OrgRef, show_dossier};
pub use worklist::{RENEWAL_NOTICE_DAYS, Worklist, WorklistQuery, worklist_of};

/// The day a dossier radiated on `radiated_on` is purged: one year later
/// (décret 2017-917 art. 4).
pub fn purge_on(radiated_on: time::Date) -> time::Date {
    one_year_after(radiated_on)
}
