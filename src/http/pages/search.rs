//! The search page: one box, results with their highlighted extracts,
//! the plan's nodes to narrow by, sort by relevance or date, pages. The
//! query lives in the address (`/?q=…&noeud=…&tri=…&page=…`), so a search
//! can be bookmarked and shared; the archive decides what the person may
//! see.

use super::{Frame, PageError, Signed, french, html, link};
use crate::archive::{Archive, ArchiveError};
use crate::domain::record::NodeCode;
use crate::domain::search::{SearchQuery, SearchResults, SortOrder};
use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::web::{self, Data};
use askama::Template;
use serde::Deserialize;

/// Results per page.
const PER_PAGE: usize = 20;

/// `?q=&noeud=&tri=&page=`.
#[derive(Deserialize, Default)]
pub struct SearchParams {
    #[serde(default)]
    q: String,
    #[serde(default)]
    noeud: String,
    #[serde(default)]
    tri: String,
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    annee: String,
    #[serde(default)]
    service: String,
    #[serde(default)]
    du: String,
    #[serde(default)]
    au: String,
    #[serde(default)]
    page: Option<String>,
}

/// A hit as the page shows it.
pub struct HitView {
    href: String,
    reference: String,
    title: String,
    node_label: String,
    date: String,
    date_iso: String,
    kind: String,
    /// The index's extract: the document's text escaped, matches in `<b>`.
    snippet: String,
}

/// A group of values to narrow by (types, years, services).
pub struct FacetGroup {
    /// `type`, `annee` or `service`.
    id: &'static str,
    heading: &'static str,
    values: Vec<FacetView>,
    /// Set when one of its values narrows the search: the link without it.
    reset_href: Option<String>,
}

/// A node to narrow by, with how many hits it holds.
pub struct FacetView {
    href: String,
    label: String,
    code: String,
    count: u64,
    depth: usize,
    selected: bool,
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    frame: Frame,
    q: String,
    node: String,
    kind: String,
    year: String,
    service: String,
    from: String,
    to: String,
    /// A date that could not be read: which field (`du`, `au`), and why.
    date_error: Option<(&'static str, String)>,
    sort: &'static str,
    searched: bool,
    error: Option<String>,
    summary: String,
    hits: Vec<HitView>,
    facets: Vec<FacetView>,
    groups: Vec<FacetGroup>,
    all_nodes_href: String,
    suggestion: Option<(String, String)>,
    fuzzy: bool,
    partial: bool,
    page: usize,
    first_rank: usize,
    previous_href: Option<String>,
    next_href: Option<String>,
}

/// `3 documents trouvés`.
fn summary(total: u64) -> String {
    match total {
        0 => "Aucun document trouvé".into(),
        1 => "1 document trouvé".into(),
        n => format!("{} documents trouvés", french::group_thousands(&n.to_string())),
    }
}

/// The search page.
pub async fn page(
    signed: Signed,
    archive: Data<Archive>,
    params: web::Query<SearchParams>,
) -> Result<HttpResponse, PageError> {
    let params = params.into_inner();
    let sort = if params.tri == "date" { "date" } else { "pertinence" };
    let page_number = params
        .page
        .as_deref()
        .and_then(|p| p.trim().parse::<usize>().ok())
        .filter(|p| *p >= 1)
        .unwrap_or(1);
    let mut view = SearchPage {
        frame: signed.frame("Rechercher", "search"),
        q: params.q.clone(),
        node: params.noeud.trim().to_owned(),
        kind: params.kind.trim().to_owned(),
        year: params.annee.trim().to_owned(),
        service: params.service.trim().to_owned(),
        from: params.du.trim().to_owned(),
        to: params.au.trim().to_owned(),
        date_error: None,
        sort,
        searched: false,
        error: None,
        summary: String::new(),
        hits: Vec::new(),
        facets: Vec::new(),
        groups: Vec::new(),
        all_nodes_href: link(
            "/",
            &[
                ("q", &params.q),
                ("du", &params.du),
                ("au", &params.au),
                ("tri", sort_param(sort)),
            ],
        ),
        suggestion: None,
        fuzzy: false,
        partial: false,
        page: page_number,
        first_rank: (page_number - 1) * PER_PAGE + 1,
        previous_href: None,
        next_href: None,
    };
    let (from, to) = match (read_date("du", &view.from), read_date("au", &view.to)) {
        (Ok(from), Ok(to)) => (from, to),
        (Err(e), _) | (_, Err(e)) => {
            view.frame.title = "Recherche refusée".into();
            view.date_error = Some(e);
            return Ok(html(super::status_of(crate::errors::Code::InvalidQuery), &view));
        }
    };
    let narrowed =
        !params.kind.trim().is_empty() || !params.annee.trim().is_empty() || !params.service.trim().is_empty();
    if params.q.trim().is_empty() && view.node.is_empty() && from.is_none() && to.is_none() && !narrowed {
        view.frame.title = "Rechercher".into();
        return Ok(html(StatusCode::OK, &view));
    }
    view.searched = true;
    // A year narrows the period to it (within the dates typed, if any).
    let (from, to) = match params.annee.trim().parse::<i32>().ok().and_then(|y| {
        Some((
            chrono::NaiveDate::from_ymd_opt(y, 1, 1)?,
            chrono::NaiveDate::from_ymd_opt(y, 12, 31)?,
        ))
    }) {
        Some((first, last)) => (
            Some(from.map_or(first, |f| f.max(first))),
            Some(to.map_or(last, |t| t.min(last))),
        ),
        None => (from, to),
    };
    let query = match build_query(&params, sort, page_number).map(|q| SearchQuery { from, to, ..q }) {
        Ok(q) => q,
        Err(e) => return Ok(refused(view, &e)),
    };
    let actor = signed.actor.clone();
    let outcome = web::block(move || archive.search(&actor, query)).await?;
    match outcome {
        Ok(results) => {
            view.groups = groups(&params, sort, &results);
            fill(&mut view, results);
            Ok(html(StatusCode::OK, &view))
        }
        Err(e @ (ArchiveError::BadQuery(_) | ArchiveError::LimitExceeded(_) | ArchiveError::Invalid(_))) => {
            Ok(refused(view, &e))
        }
        Err(e) => Err(e.into()),
    }
}

/// Reads a date typed in the `du` or `au` field, in French or ISO form.
fn read_date(field: &'static str, text: &str) -> Result<Option<chrono::NaiveDate>, (&'static str, String)> {
    if text.is_empty() {
        return Ok(None);
    }
    french::parse_date(text).map(Some).ok_or_else(|| {
        (
            field,
            format!("« {text} » n'est pas une date : écrivez-la sous la forme 15/03/2024"),
        )
    })
}

/// The type, year and service groups: each value a link that narrows the
/// search to it, the one chosen marked, with a link back without it.
fn groups(params: &SearchParams, sort: &str, results: &SearchResults) -> Vec<FacetGroup> {
    let base = |kind: &str, annee: &str, service: &str| {
        link(
            "/",
            &[
                ("q", &params.q),
                ("noeud", params.noeud.trim()),
                ("type", kind),
                ("annee", annee),
                ("service", service),
                ("du", params.du.trim()),
                ("au", params.au.trim()),
                ("tri", sort_param(sort)),
            ],
        )
    };
    let (kind, annee, service) = (params.kind.trim(), params.annee.trim(), params.service.trim());
    let group =
        |id: &'static str, heading: &'static str, counts: &std::collections::BTreeMap<String, u64>, chosen: &str| {
            let mut values: Vec<FacetView> = counts
                .iter()
                .map(|(value, count)| FacetView {
                    href: match id {
                        "type" => base(value, annee, service),
                        "annee" => base(kind, value, service),
                        _ => base(kind, annee, value),
                    },
                    label: value.clone(),
                    code: String::new(),
                    count: *count,
                    depth: 0,
                    selected: value == chosen,
                })
                .collect();
            if id == "annee" {
                values.reverse();
            } else {
                values.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.label.cmp(&b.label)));
            }
            FacetGroup {
                id,
                heading,
                values,
                reset_href: (!chosen.is_empty()).then(|| match id {
                    "type" => base("", annee, service),
                    "annee" => base(kind, "", service),
                    _ => base(kind, annee, ""),
                }),
            }
        };
    [
        group("type", "Type de document", &results.types, kind),
        group("annee", "Année", &results.years, annee),
        group("service", "Service producteur", &results.services, service),
    ]
    .into_iter()
    .filter(|g| !g.values.is_empty())
    .collect()
}

fn sort_param(sort: &str) -> &'static str {
    if sort == "date" { "date" } else { "" }
}

/// A field's value as a clause of the query language: `type:"arrêté"`.
fn clause(field: &str, value: &str) -> String {
    format!(" {field}:\"{}\"", value.replace('"', " "))
}

fn build_query(params: &SearchParams, sort: &str, page: usize) -> Result<SearchQuery, ArchiveError> {
    let node = params.noeud.trim();
    let mut text = params.q.clone();
    if !params.kind.trim().is_empty() {
        text.push_str(&clause("type", params.kind.trim()));
    }
    if !params.service.trim().is_empty() {
        text.push_str(&clause("service", params.service.trim()));
    }
    Ok(SearchQuery {
        text,
        node: if node.is_empty() {
            None
        } else {
            Some(NodeCode::parse(node)?)
        },
        from: None,
        to: None,
        limit: PER_PAGE,
        offset: (page - 1).saturating_mul(PER_PAGE),
        sort: if sort == "date" {
            SortOrder::DateDesc
        } else {
            SortOrder::Relevance
        },
        node_path: Vec::new(),
        readers: Vec::new(),
        synonyms: Vec::new(),
        record_fields: Vec::new(),
        after: None,
    })
}

/// The page again, with the reason the search was refused next to the box.
fn refused(mut view: SearchPage, e: &ArchiveError) -> HttpResponse {
    let (status, _, message) = super::explain(e);
    view.error = Some(message);
    view.searched = false;
    view.frame.title = "Recherche refusée".into();
    html(status, &view)
}

fn fill(view: &mut SearchPage, results: SearchResults) {
    let q = view.q.clone();
    let sort = sort_param(view.sort);
    let label = |code: &str| {
        results
            .nodes
            .get(code)
            .map(|n| n.title.clone())
            .unwrap_or_else(|| code.to_owned())
    };
    view.frame.title = format!(
        "{} – {}",
        if q.is_empty() { "Recherche" } else { &q },
        summary(results.total)
    );
    view.summary = summary(results.total);
    view.hits = results
        .hits
        .iter()
        .map(|hit| HitView {
            href: format!("/documents/{}", hit.reference),
            reference: hit.reference.to_string(),
            title: if hit.title.trim().is_empty() {
                hit.reference.to_string()
            } else {
                hit.title.clone()
            },
            node_label: label(hit.node.as_str()),
            date: french::date(hit.date),
            date_iso: hit.date.to_string(),
            kind: hit.document_type.clone().unwrap_or_default(),
            snippet: hit.snippet.clone(),
        })
        .collect();
    // The facets as a tree: each node under its parent, by the codes'
    // path in the plan.
    let mut facets: Vec<(Vec<String>, FacetView)> = results
        .facets
        .iter()
        .map(|(code, count)| {
            let path = results
                .nodes
                .get(code)
                .map(|n| n.path.clone())
                .unwrap_or_else(|| vec![code.clone()]);
            let view_node = FacetView {
                href: link(
                    "/",
                    &[
                        ("q", &q),
                        ("noeud", code),
                        ("du", &view.from),
                        ("au", &view.to),
                        ("tri", sort),
                    ],
                ),
                label: label(code),
                code: code.clone(),
                count: *count,
                depth: path.len().saturating_sub(1).min(5),
                selected: *code == view.node,
            };
            (path, view_node)
        })
        .collect();
    facets.sort_by(|a, b| a.0.cmp(&b.0));
    view.facets = facets.into_iter().map(|(_, f)| f).collect();
    view.fuzzy = results.fuzzy;
    view.partial = results.partial;
    // A correction is offered when the words found nothing as typed; when
    // they found something, it would only distract.
    let offered = results.total == 0 || results.fuzzy;
    view.suggestion = results.suggestion.as_ref().filter(|_| offered).map(|s| {
        (
            s.clone(),
            link(
                "/",
                &[
                    ("q", s),
                    ("noeud", &view.node),
                    ("du", &view.from),
                    ("au", &view.to),
                    ("tri", sort),
                ],
            ),
        )
    });
    let page_link = |n: usize| {
        let number = n.to_string();
        link(
            "/",
            &[
                ("q", &q),
                ("noeud", &view.node),
                ("type", &view.kind),
                ("annee", &view.year),
                ("service", &view.service),
                ("du", &view.from),
                ("au", &view.to),
                ("tri", sort),
                ("page", if n > 1 { &number } else { "" }),
            ],
        )
    };
    if view.page > 1 {
        view.previous_href = Some(page_link(view.page - 1));
    }
    let shown = view.page.saturating_mul(PER_PAGE) as u64;
    if results.total > shown && shown + (PER_PAGE as u64) <= crate::domain::search::OFFSET_MAX as u64 {
        view.next_href = Some(page_link(view.page + 1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_read_in_french() {
        assert_eq!(summary(0), "Aucun document trouvé");
        assert_eq!(summary(1), "1 document trouvé");
        assert_eq!(summary(12_345), "12\u{202f}345 documents trouvés");
    }
}
