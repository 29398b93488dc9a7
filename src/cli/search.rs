//! `coffre search`: full-text search from the command line. Brings the
//! index up to the journal first, so that it answers for every record.

use super::{Context, Failure, Target, print_json};
use crate::archive::{Actor, ArchiveError};
use crate::domain::record::{NodeCode, parse_date};
use crate::domain::search::{PAGE_DEFAULT, SearchQuery, SortOrder};
use crate::wire::SearchResultsDto;
use clap::Args;

/// `coffre search` arguments.
#[derive(Args, Debug)]
pub struct SearchArgs {
    /// Words, "phrases", -exclusions, OR, field:value (title, body, node, service, type, ref).
    pub query: String,
    /// Only this node.
    #[arg(long)]
    pub node: Option<String>,
    /// Records dated on or after, YYYY-MM-DD.
    #[arg(long)]
    pub from: Option<String>,
    /// Records dated on or before, YYYY-MM-DD.
    #[arg(long)]
    pub to: Option<String>,
    /// Hits shown.
    #[arg(long, default_value_t = PAGE_DEFAULT)]
    pub limit: usize,
    /// Hits skipped.
    #[arg(long, default_value_t = 0)]
    pub offset: usize,
    /// Start after this cursor (the `next` a previous page printed).
    #[arg(long)]
    pub after: Option<String>,
    /// relevance, date (newest first) or date_asc.
    #[arg(long, default_value = "relevance")]
    pub sort: String,
    /// One JSON object per hit.
    #[arg(long)]
    pub json: bool,
}

fn query_of(args: &SearchArgs) -> Result<SearchQuery, ArchiveError> {
    SearchQuery {
        text: args.query.clone(),
        node: args.node.as_deref().map(NodeCode::parse).transpose()?,
        from: args.from.as_deref().map(|d| parse_date("from", d)).transpose()?,
        to: args.to.as_deref().map(|d| parse_date("to", d)).transpose()?,
        limit: args.limit,
        offset: args.offset,
        sort: SortOrder::parse(&args.sort)?,
        // Set by the archive from the plan and the caller's role.
        node_path: Vec::new(),
        readers: Vec::new(),
        synonyms: Vec::new(),
        record_fields: Vec::new(),
        after: None,
    }
    .starting_after(args.after.as_deref())
    .map_err(ArchiveError::BadQuery)
}

/// The search's parameters in the API's query string.
fn query_string(args: &SearchArgs) -> String {
    let limit = args.limit.to_string();
    let offset = args.offset.to_string();
    let mut params: Vec<(&str, &str)> = vec![("q", &args.query), ("limit", &limit), ("sort", &args.sort)];
    for (name, value) in [
        ("node", &args.node),
        ("from", &args.from),
        ("to", &args.to),
        ("after", &args.after),
    ] {
        if let Some(v) = value {
            params.push((name, v));
        }
    }
    if args.offset > 0 {
        params.push(("offset", &offset));
    }
    serde_urlencoded::to_string(params).unwrap_or_default()
}

/// Runs `coffre search`, on the data directory or through the server.
pub fn run(ctx: &Context, args: SearchArgs) -> Result<(), Failure> {
    let results = match ctx.target()? {
        Target::Local(archive) => {
            let query = query_of(&args)?;
            archive.index_all()?;
            SearchResultsDto::from(archive.search(&Actor::command_line(), query)?)
        }
        Target::Remote(remote) => remote.get_json(&format!("/api/v1/search?{}", query_string(&args)))?,
    };
    for hit in &results.hits {
        if args.json {
            print_json(hit)?;
        } else {
            println!(
                "{}\t{}\t{}\t{:.2}\t{}",
                hit.reference, hit.date, hit.node, hit.score, hit.title
            );
        }
    }
    if !args.json {
        let facets: Vec<String> = results.facets.iter().map(|(node, n)| format!("{node}: {n}")).collect();
        eprintln!(
            "{}{} ({})",
            super::count(results.total, "document trouvé", "documents trouvés"),
            if results.fuzzy {
                ", en tolérant une faute par mot"
            } else {
                ""
            },
            facets.join(", ")
        );
    }
    if results.partial {
        eprintln!("recherche arrêtée au bout du temps imparti : ces résultats ne viennent que d'une partie de l'index");
    }
    if let Some(next) = &results.next {
        eprintln!("page suivante : --after {next}");
    }
    Ok(())
}

/// Runs `coffre reindex`, on the data directory or through the server.
pub fn reindex(ctx: &Context) -> Result<(), Failure> {
    let report: crate::wire::ReindexDto = match ctx.target()? {
        Target::Local(archive) => archive.reindex(&Actor::command_line())?.into(),
        Target::Remote(remote) => remote.post_json("/api/v1/reindex", &serde_json::json!({}))?,
    };
    println!(
        "index à jour ; texte extrait à nouveau pour {} ; {} encore sans texte",
        super::count(report.extracted_again as u64, "document", "documents"),
        super::count(report.still_failed as u64, "document", "documents")
    );
    Ok(())
}
