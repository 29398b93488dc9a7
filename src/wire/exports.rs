//! Transfer packages: what to export, and for whom.

use serde::Deserialize;

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
