//! What the vault tells the engine about a request, in plain data.

/// Every action a policy can allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    DossierRegister,
    DossierRead,
    DossierRenew,
    DossierRadiate,
    PieceUpload,
    PieceRead,
    PieceReadRendition,
    PieceReadOriginal,
    DossierExport,
    AuditRead,
    GrantManage,
    ApplicantExport,
    PlatformManage,
}

impl Action {
    pub const ALL: [Action; 13] = [
        Self::DossierRegister,
        Self::DossierRead,
        Self::DossierRenew,
        Self::DossierRadiate,
        Self::PieceUpload,
        Self::PieceRead,
        Self::PieceReadRendition,
        Self::PieceReadOriginal,
        Self::DossierExport,
        Self::AuditRead,
        Self::GrantManage,
        Self::ApplicantExport,
        Self::PlatformManage,
    ];

    /// The action's name in the policies (`Vault::Action::"…"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DossierRegister => "dossier.register",
            Self::DossierRead => "dossier.read",
            Self::DossierRenew => "dossier.renew",
            Self::DossierRadiate => "dossier.radiate",
            Self::PieceUpload => "piece.upload",
            Self::PieceRead => "piece.read",
            Self::PieceReadRendition => "piece.read_rendition",
            Self::PieceReadOriginal => "piece.read_original",
            Self::DossierExport => "dossier.export",
            Self::AuditRead => "audit.read",
            Self::GrantManage => "grant.manage",
            Self::ApplicantExport => "applicant.export",
            Self::PlatformManage => "platform.manage",
        }
    }
}

/// An organisation as policies see it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OrgFacts {
    pub id: String,
    /// guichet, bailleur, reservataire, etat or gestionnaire.
    pub kind: String,
    pub registering: bool,
    pub communes: Vec<String>,
    pub departements: Vec<String>,
}

/// Who asks.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Principal {
    Agent {
        id: String,
        organisation: OrgFacts,
        active: bool,
    },
    /// An applicant signed in for their dossier (its id).
    Applicant {
        id: String,
        dossier: String,
    },
}

/// A dossier as policies see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DossierFacts {
    pub id: String,
    /// active or radiated.
    pub status: String,
    pub communes: Vec<String>,
    pub departements: Vec<String>,
}

/// What the request is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource {
    Dossier(DossierFacts),
    Platform,
}

/// The caller's organisation's explicit grant on the dossier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantFacts {
    /// Unix seconds.
    pub expires_at: i64,
    pub revoked: bool,
    pub purpose: String,
}

/// How a person signed in through an identity provider (ProConnect): the
/// level (`acr`) and the methods (`amr`) the provider vouched for. `None`
/// for machine clients and pasted tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInFacts {
    pub acr: String,
    pub amr: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessRequest {
    pub principal: Principal,
    pub action: Action,
    pub resource: Resource,
    /// Unix seconds.
    pub now: i64,
    pub purpose: Option<String>,
    pub grant: Option<GrantFacts>,
    pub signin: Option<SignInFacts>,
}

/// The answer, with the ids of the policies that decided it (`@id`
/// annotations): the permits that allowed it, or the forbids that denied
/// it; empty for a denial by default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub policies: Vec<String>,
}
