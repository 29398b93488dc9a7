//! Search results and their hits.

use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// One search hit.
#[derive(Serialize, ToSchema)]
pub struct SearchHitDto {
    /// Record id.
    pub id: String,
    /// Reference.
    pub reference: String,
    /// Title.
    pub title: String,
    /// Node.
    pub node: String,
    /// The record's date.
    pub date: String,
    /// Relevance (0 when sorted by date).
    pub score: f32,
    /// HTML: the text around the matches, escaped, matches in `<b>`.
    pub snippet: String,
}

/// A page of search results.
#[derive(Serialize, ToSchema)]
pub struct SearchResultsDto {
    /// Matching records in all.
    pub total: u64,
    /// This page.
    pub hits: Vec<SearchHitDto>,
    /// Matching records by node.
    pub facets: BTreeMap<String, u64>,
    /// True when nothing matched as written and the hits allow one typo per word.
    pub fuzzy: bool,
}

impl From<crate::domain::search::SearchResults> for SearchResultsDto {
    fn from(r: crate::domain::search::SearchResults) -> Self {
        SearchResultsDto {
            total: r.total,
            hits: r.hits.iter().map(SearchHitDto::from).collect(),
            facets: r.facets,
            fuzzy: r.fuzzy,
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
            date: h.date.to_string(),
            score: h.score,
            snippet: h.snippet.clone(),
        }
    }
}
