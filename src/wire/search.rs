//! Search results and their hits.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// One search hit.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct SearchHitDto {
    /// Record id.
    pub id: String,
    /// Reference.
    pub reference: String,
    /// Title.
    pub title: String,
    /// Node.
    pub node: String,
    /// The node's title in the plan.
    pub node_title: String,
    /// The record's date.
    pub date: String,
    /// Relevance (0 when sorted by date).
    pub score: f32,
    /// HTML: the text around the matches, escaped, matches in `<b>`.
    pub snippet: String,
    /// Its document type, if it has one.
    #[serde(rename = "type", default)]
    pub document_type: Option<String>,
}

/// A page of search results.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct SearchResultsDto {
    /// Matching records in all.
    pub total: u64,
    /// This page.
    pub hits: Vec<SearchHitDto>,
    /// Matching records by node.
    pub facets: BTreeMap<String, u64>,
    /// Matching records by document type.
    #[serde(default)]
    pub facet_types: BTreeMap<String, u64>,
    /// Matching records by year of their date.
    #[serde(default)]
    pub facet_years: BTreeMap<String, u64>,
    /// Matching records by producing service.
    #[serde(default)]
    pub facet_services: BTreeMap<String, u64>,
    /// The same counts with each node's title and path in the plan,
    /// ordered as the plan's tree (by path), for narrowing by node.
    pub facet_nodes: Vec<NodeFacetDto>,
    /// True when nothing matched as written and the hits allow one typo per word.
    pub fuzzy: bool,
    /// When the query found nothing or little: the same query with the
    /// words the archive does not hold replaced by the closest ones it
    /// does ("vouliez-vous dire").
    pub did_you_mean: Option<String>,
    /// When this page is full: pass it as `after` to get the next one.
    pub next: Option<String>,
    /// True when the search stopped at its time budget: hits and counts
    /// come from the part of the index searched by then.
    pub partial: bool,
}

/// Matching records in one node.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct NodeFacetDto {
    /// The node's code.
    pub code: String,
    /// Its title in the plan.
    pub title: String,
    /// Its path from the root, as codes (itself last).
    pub path: Vec<String>,
    /// Matching records in it.
    pub count: u64,
}

impl From<crate::domain::search::SearchResults> for SearchResultsDto {
    fn from(r: crate::domain::search::SearchResults) -> Self {
        let label = |code: &str| r.nodes.get(code).cloned().unwrap_or_default();
        let mut facet_nodes: Vec<NodeFacetDto> = r
            .facets
            .iter()
            .map(|(code, count)| {
                let l = label(code);
                NodeFacetDto {
                    code: code.clone(),
                    title: l.title,
                    path: l.path,
                    count: *count,
                }
            })
            .collect();
        facet_nodes.sort_by(|a, b| a.path.cmp(&b.path));
        SearchResultsDto {
            total: r.total,
            hits: r
                .hits
                .iter()
                .map(|h| {
                    let mut hit = SearchHitDto::from(h);
                    hit.node_title = label(&hit.node).title;
                    hit
                })
                .collect(),
            facets: r.facets.clone(),
            facet_types: r.types.clone(),
            facet_years: r.years.clone(),
            facet_services: r.services.clone(),
            facet_nodes,
            fuzzy: r.fuzzy,
            did_you_mean: r.suggestion.clone(),
            next: r.next.clone(),
            partial: r.partial,
        }
    }
}

impl From<&crate::domain::search::SearchHit> for SearchHitDto {
    fn from(h: &crate::domain::search::SearchHit) -> Self {
        SearchHitDto {
            id: h.id.to_string(),
            reference: h.reference.to_string(),
            title: h.title.clone(),
            node: h.node.to_string(),
            node_title: String::new(),
            date: h.date.to_string(),
            score: h.score,
            snippet: h.snippet.clone(),
            document_type: h.document_type.clone(),
        }
    }
}

/// `POST /reindex`: what bringing the index up to date did.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReindexDto {
    /// Records whose text was extracted again.
    pub extracted_again: usize,
    /// Records that still have no text.
    pub still_failed: usize,
}

impl From<crate::archive::ReindexReport> for ReindexDto {
    fn from(r: crate::archive::ReindexReport) -> Self {
        ReindexDto {
            extracted_again: r.extracted_again,
            still_failed: r.still_failed,
        }
    }
}
