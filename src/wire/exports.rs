//! Transfer packages: what to export, and for whom.

use serde::{Deserialize, Serialize};

/// `POST /exports`: which records, and the parties of the transfer.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewExportDto {
    /// A node and everything below it.
    pub node: Option<String>,
    /// What a full-text query finds.
    pub query: Option<String>,
    /// Records by reference or id.
    pub records: Option<Vec<String>>,
    /// The records of a transfer proposal.
    #[serde(default, deserialize_with = "super::whole_u64_or_none")]
    pub transfer: Option<u64>,
    /// The receiving archives service's identifier.
    pub archival_agency: Option<String>,
    /// The sending service's identifier.
    pub transferring_agency: Option<String>,
    /// The archival agreement.
    pub archival_agreement: Option<String>,
    /// A comment for the archives.
    pub comment: Option<String>,
}

impl TryFrom<NewExportDto> for crate::archive::exports::ExportRequest {
    type Error = crate::archive::ArchiveError;

    fn try_from(d: NewExportDto) -> Result<Self, Self::Error> {
        use crate::archive::exports::ExportSelection as S;
        let selection = match (d.node, d.query, d.records, d.transfer) {
            (Some(node), None, None, None) => S::Node(node),
            (None, Some(query), None, None) => S::Query(query),
            (None, None, Some(records), None) if !records.is_empty() => S::Records(records),
            (None, None, None, Some(id)) => S::Transfer(id),
            _ => {
                return Err(crate::domain::record::InvalidInput::new(
                    "selection",
                    "name exactly one of node, query, records or transfer",
                )
                .into());
            }
        };
        Ok(crate::archive::exports::ExportRequest {
            selection,
            archival_agency: d.archival_agency,
            transferring_agency: d.transferring_agency,
            archival_agreement: d.archival_agreement,
            comment: d.comment,
        })
    }
}

/// A record an import made (or, in a dry run, would make).
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ImportedRecordDto {
    /// Its identifiers in the package.
    pub from: Vec<String>,
    /// Its reference here (empty in a dry run: given when deposited).
    pub reference: String,
    /// Its id here (empty in a dry run).
    pub id: String,
    /// Its node here.
    pub node: String,
    /// Versions deposited.
    pub versions: usize,
}

/// `POST /imports`: what an import did, or would do.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ImportSummaryDto {
    /// The package's identifier.
    pub package: String,
    /// Whether the package carried a sealed journal (checked).
    pub sealed: bool,
    /// Whether nothing was imported (a dry run: every check only).
    pub dry_run: bool,
    /// The records, in the manifest's order.
    pub records: Vec<ImportedRecordDto>,
}

impl ImportSummaryDto {
    /// The wire form of an import's summary.
    pub fn new(summary: crate::archive::imports::ImportSummary, dry_run: bool) -> Self {
        ImportSummaryDto {
            package: summary.package,
            sealed: summary.sealed,
            dry_run,
            records: summary
                .records
                .into_iter()
                .map(|r| ImportedRecordDto {
                    from: r.from,
                    reference: r.reference,
                    id: r.id,
                    node: r.node,
                    versions: r.versions,
                })
                .collect(),
        }
    }
}
