//! Dossiers: registration, consultation, the worklist and the lifecycle
//! (renewal, radiation).

pub mod register;
pub use register::ShownCredentials;
pub(crate) use register::{Credentials, one_year_after};
mod lifecycle;
pub mod show;
pub mod worklist;
pub use show::OrgRef;

use crate::{
    app::Vault,
    db::dossiers::Dossier,
    domain::NumeroUnique,
    error::Error,
    routes::{Auth, Consumes, Doc, Produces, Routes, Ty, opt, req},
};

pub fn router() -> Routes {
    Routes::new("dossiers")
        .post(
            "/api/v1/dossiers",
            register::register,
            Doc::new("registerDossier", "Register a dossier (guichets)", Auth::Bearer, Produces::Json)
                .body(
                    Consumes::Json,
                    const {
                        &[
                            opt("numero_unique", Ty::Text, "given by the national system; issued here when absent"),
                            req("communes", Ty::TextList, "INSEE codes of the communes the applicant wishes"),
                            opt("deposited_on", Ty::Date, "deposit date; today when absent"),
                        ]
                    },
                )
                .success(201),
        )
        .get(
            "/api/v1/dossiers",
            worklist::worklist,
            Doc::new("worklist", "The dossiers the caller may see, paginated", Auth::Bearer, Produces::Json).query(&[
                ("commune", "INSEE code of a commune the dossier asks for"),
                ("status", "active or radiated"),
                ("limit", "items per page (at most 500)"),
                ("after", "the `next` cursor of the previous page"),
            ]),
        )
        .get(
            "/api/v1/dossiers/{nu}",
            show::show,
            Doc::new("showDossier", "The dossier and its pieces' metadata", Auth::Bearer, Produces::Json),
        )
        .post(
            "/api/v1/dossiers/{nu}/renew",
            lifecycle::renew,
            Doc::new("renewDossier", "Renew the demand for a year", Auth::Bearer, Produces::Json),
        )
        .post(
            "/api/v1/dossiers/{nu}/radiate",
            lifecycle::radiate,
            Doc::new(
                "radiateDossier",
                "Radiate the demand, with one of the accepted reasons",
                Auth::Bearer,
                Produces::Json,
            )
            .body(
                Consumes::Json,
                const { &[req("reason", Ty::Text, "why the demand is radiated (one of the accepted reasons)")] },
            ),
        )
}

/// Resolves the `{nu}` path segment: 422 for a malformed number, 404 for an
/// unknown one.
pub(crate) async fn find(vault: &Vault, nu: &str) -> Result<Dossier, Error> {
    let nu = NumeroUnique::parse(nu)?;
    vault.db().dossier_by_nu(&nu).await?.ok_or_else(|| Error::NotFound(format!("no dossier with numéro unique {nu}")))
}
