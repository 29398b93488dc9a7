//! The collectivité's identity.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A producing service.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceDto {
    /// Its code (what deposits name in `service`).
    pub code: String,
    /// Its name.
    pub name: String,
}

/// The archives service.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ArchivesServiceDto {
    /// Its name.
    #[serde(default)]
    pub name: String,
    /// Its identifier in SEDA packages (ArchivalAgency), such as `FRAD033`.
    #[serde(default)]
    pub identifier: String,
    /// Who gives visas for eliminations.
    #[serde(default)]
    pub authority: String,
    /// Whether only people in the `visa` role give visas, never the person
    /// who proposed the elimination.
    #[serde(default)]
    pub visa_reserved: bool,
}

/// The collectivité's logo, at the head of its papers.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LogoDto {
    /// The image file's SHA-256 (`GET /api/v1/identity/logo` gives it).
    pub sha256: String,
    /// `image/png` or `image/jpeg`.
    pub media_type: String,
    /// Width in pixels.
    #[serde(deserialize_with = "super::whole")]
    pub width: u32,
    /// Height in pixels.
    #[serde(deserialize_with = "super::whole")]
    pub height: u32,
}

/// `GET`/`PUT /identity`: the collectivité whose archives these are.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdentityDto {
    /// Its name.
    pub name: String,
    /// Its SIREN (9 digits, checked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub siren: Option<String>,
    /// Its SIRET (14 digits, checked; starts with the SIREN).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub siret: Option<String>,
    /// Its producing services.
    #[serde(default)]
    pub services: Vec<ServiceDto>,
    /// Its archives service.
    #[serde(default)]
    pub archives: ArchivesServiceDto,
    /// Its logo, if it has one. Read only here: `PUT /api/v1/identity/logo`
    /// gives it and `DELETE` takes it away; a `PUT /identity` keeps it
    /// whatever this says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(read_only)]
    pub logo: Option<LogoDto>,
}

impl From<crate::domain::identity::Identity> for IdentityDto {
    fn from(i: crate::domain::identity::Identity) -> Self {
        IdentityDto {
            name: i.name,
            siren: i.siren,
            siret: i.siret,
            services: i
                .services
                .into_iter()
                .map(|s| ServiceDto {
                    code: s.code,
                    name: s.name,
                })
                .collect(),
            archives: ArchivesServiceDto {
                name: i.archives.name,
                identifier: i.archives.identifier,
                authority: i.archives.authority,
                visa_reserved: i.archives.visa_reserved,
            },
            logo: i.logo.map(|l| LogoDto {
                sha256: l.sha256.hex(),
                media_type: l.media_type,
                width: l.width,
                height: l.height,
            }),
        }
    }
}

impl From<IdentityDto> for crate::domain::identity::Identity {
    fn from(d: IdentityDto) -> Self {
        use crate::domain::identity::{ArchivesService, ProducingService};
        crate::domain::identity::Identity {
            name: d.name,
            siren: d.siren,
            siret: d.siret,
            services: d
                .services
                .into_iter()
                .map(|s| ProducingService {
                    code: s.code,
                    name: s.name,
                })
                .collect(),
            archives: ArchivesService {
                name: d.archives.name,
                identifier: d.archives.identifier,
                authority: d.archives.authority,
                visa_reserved: d.archives.visa_reserved,
            },
            logo: None,
        }
    }
}
