//! Full-text search.

use super::auth::Caller;
use super::error::ApiError;
use crate::archive::Archive;
use crate::domain::record::{NodeCode, parse_date};
use crate::domain::search::{PAGE_DEFAULT, SearchQuery, SortOrder};
use crate::wire::SearchResultsDto;
use actix_web::HttpResponse;
use actix_web::web::{self, Data};
use serde::Deserialize;

/// `?q=&node=&from=&to=&limit=&offset=&sort=&after=`.
#[derive(Deserialize)]
pub struct SearchParams {
    #[serde(default)]
    q: String,
    node: Option<String>,
    from: Option<String>,
    to: Option<String>,
    limit: Option<usize>,
    #[serde(default)]
    offset: usize,
    sort: Option<String>,
    after: Option<String>,
}

impl SearchParams {
    fn into_query(self) -> Result<SearchQuery, crate::archive::ArchiveError> {
        SearchQuery {
            text: self.q,
            node: self
                .node
                .filter(|n| !n.trim().is_empty())
                .map(|n| NodeCode::parse(&n))
                .transpose()?,
            from: self
                .from
                .filter(|d| !d.is_empty())
                .map(|d| parse_date("from", &d))
                .transpose()?,
            to: self
                .to
                .filter(|d| !d.is_empty())
                .map(|d| parse_date("to", &d))
                .transpose()?,
            limit: self.limit.unwrap_or(PAGE_DEFAULT),
            offset: self.offset,
            sort: SortOrder::parse(self.sort.as_deref().unwrap_or(""))?,
            // Set by the archive from the caller's role.
            node_path: Vec::new(),
            readers: Vec::new(),
            synonyms: Vec::new(),
            record_fields: Vec::new(),
            after: None,
        }
        .starting_after(self.after.as_deref())
        .map_err(crate::archive::ArchiveError::BadQuery)
    }
}

/// Searches the records' text and metadata.
#[utoipa::path(get, path = "/api/v1/search", tag = "search",
    params(
        ("q" = Option<String>, Query, description = "words, \"phrases\", -exclusions, OR, field:value (title, body, node, service, type, ref)"),
        ("node" = Option<String>, Query, description = "only this node"),
        ("from" = Option<String>, Query, description = "records dated on or after, YYYY-MM-DD"),
        ("to" = Option<String>, Query, description = "records dated on or before, YYYY-MM-DD"),
        ("limit" = Option<usize>, Query, minimum = 1, maximum = 1000, description = "hits per page (20 by default, 1000 at most)"),
        ("offset" = Option<usize>, Query, minimum = 0, maximum = 9999, description = "hits skipped (offset + limit at most 10000; deeper pages go by `after`)"),
        ("after" = Option<String>, Query, description = "the `next` of the previous page: this page starts right after it, however deep"),
        ("sort" = Option<String>, Query, description = "relevance (default), date (newest first) or date_asc")),
    responses((status = 200, body = SearchResultsDto), (status = 400), (status = 422)))]
pub async fn search(
    caller: Caller,
    archive: Data<Archive>,
    params: web::Query<SearchParams>,
) -> Result<HttpResponse, ApiError> {
    let query = params.into_inner().into_query()?;
    let results = web::block(move || archive.search(&caller.0, query)).await??;
    Ok(HttpResponse::Ok().json(SearchResultsDto::from(results)))
}

/// Brings the index up to date and extracts text again where it failed or
/// where the extractors changed (what `coffre reindex` does).
#[utoipa::path(post, path = "/api/v1/reindex", tag = "search",
    responses((status = 200, body = crate::wire::ReindexDto), (status = 401), (status = 403)))]
pub async fn reindex(caller: Caller, archive: Data<Archive>) -> Result<HttpResponse, ApiError> {
    let report = web::block(move || archive.reindex(&caller.0)).await??;
    Ok(HttpResponse::Ok().json(crate::wire::ReindexDto::from(report)))
}
