//! Full-text search as the archive sees it: what is asked and what comes
//! back, independent of the engine that answers.

use super::record::{InvalidInput, NodeCode, RecordId, Reference};
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::BTreeMap;

/// The most hits one page may hold.
pub const PAGE_MAX: usize = 1000;
/// Hits per page when the caller does not say.
pub const PAGE_DEFAULT: usize = 20;

/// How hits are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortOrder {
    /// Best match first.
    Relevance,
    /// Most recent record date first.
    DateDesc,
    /// Oldest record date first.
    DateAsc,
}

impl SortOrder {
    /// The words [`SortOrder::parse`] reads (blank is relevance).
    pub const WORDS: &'static [&'static str] = &["relevance", "date", "date_desc", "date_asc"];

    /// Parses `relevance`, `date` (newest first) or `date_asc`.
    pub fn parse(text: &str) -> Result<Self, InvalidInput> {
        match text.trim() {
            "" | "relevance" => Ok(SortOrder::Relevance),
            "date" | "date_desc" => Ok(SortOrder::DateDesc),
            "date_asc" => Ok(SortOrder::DateAsc),
            other => Err(InvalidInput::new(
                "sort",
                format!("« {other} » n'est pas un ordre ; utilisez relevance, date ou date_asc"),
            )),
        }
    }
}

/// A search.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchQuery {
    /// The query text: words, "phrases", -exclusions, OR, field:value.
    pub text: String,
    /// Only records of this node and the nodes below it.
    pub node: Option<NodeCode>,
    /// The path of `node` in the plan, root first (the archive fills it in
    /// from the plan in force; without it, `node` is taken as a root).
    pub node_path: Vec<NodeCode>,
    /// Only records dated on or after this day.
    pub from: Option<NaiveDate>,
    /// Only records dated on or before this day.
    pub to: Option<NaiveDate>,
    /// Hits per page.
    pub limit: usize,
    /// Hits skipped.
    pub offset: usize,
    /// Order.
    pub sort: SortOrder,
    /// Who asks, as reader keys (see [`IndexDocument::reader`]): only
    /// records whose key is one of them are found.
    pub readers: Vec<String>,
    /// The plan's groups of synonyms (the archive fills them in): a word
    /// of one finds the others.
    pub synonyms: Vec<Vec<String>>,
    /// The fields the plan defines, searchable by name (the archive fills
    /// them in).
    pub record_fields: Vec<super::query::RecordField>,
    /// Where the previous page ended: this page starts after it (deep
    /// pages go by cursor, not by offset).
    pub after: Option<Cursor>,
}

/// The reader key of a node's records: a caller finds them if the plan
/// lets its role read the node, and so holds the key.
pub fn node_reader_key(node: &NodeCode) -> String {
    format!("node:{node}")
}

/// The deepest a page may start: past it, a search should be narrowed
/// (by node, by dates) rather than paged through.
pub const OFFSET_MAX: usize = 10_000;

impl SearchQuery {
    /// A search for `text` over every node, the first page by relevance,
    /// readable by no one yet (the caller sets the readers).
    pub fn for_text(text: &str) -> Self {
        SearchQuery {
            text: text.to_owned(),
            node: None,
            node_path: Vec::new(),
            from: None,
            to: None,
            limit: PAGE_DEFAULT,
            offset: 0,
            sort: SortOrder::Relevance,
            readers: Vec::new(),
            synonyms: Vec::new(),
            record_fields: Vec::new(),
            after: None,
        }
    }

    /// What a cursor binds to: the words, filters and order of this
    /// search (not its page).
    fn binding(&self) -> u32 {
        let said = format!(
            "{}\u{1f}{}\u{1f}{:?}\u{1f}{:?}\u{1f}{:?}",
            self.text,
            self.node.as_ref().map(NodeCode::as_str).unwrap_or_default(),
            self.from,
            self.to,
            self.sort
        );
        let digest = super::hash::Sha256::of(said.as_bytes());
        let b = digest.as_bytes();
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }

    /// `cursor` as the caller may pass it back as `after` to get the page
    /// after it, for this same search.
    pub fn cursor_text(&self, cursor: &Cursor) -> String {
        let (kind, value) = match cursor.after {
            SortValue::Score(s) => ('s', u64::from(s.to_bits())),
            SortValue::Date(d) => ('d', d as u64),
        };
        format!("{kind}{value:x}.{:x}.{:x}", cursor.key, self.binding())
    }

    /// This query, starting after the cursor `text` (`None`: from the
    /// first page); refused, in French, when the cursor is not one this
    /// same search gave, or comes with an offset.
    pub fn starting_after(mut self, text: Option<&str>) -> Result<Self, String> {
        let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
            return Ok(self);
        };
        if self.offset > 0 {
            return Err(
                "« after » et « offset » ne vont pas ensemble : après un curseur, la page commence juste après lui."
                    .to_owned(),
            );
        }
        self.after = Some(self.read_cursor(text)?);
        Ok(self)
    }

    /// Reads a cursor given back as `after`; refused (in French) when it is
    /// not one this same search gave.
    pub fn read_cursor(&self, text: &str) -> Result<Cursor, String> {
        let refused = || {
            "Le curseur « after » n'est pas celui d'une page de cette recherche : reprenez-la depuis la première page (sans « after ») et passez le « next » de chaque réponse à la suivante, sans changer les mots, les filtres ni l'ordre.".to_owned()
        };
        let mut parts = text.trim().split('.');
        let (Some(head), Some(key), Some(binding), None) = (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(refused());
        };
        let hex = |t: &str| {
            u64::from_str_radix(t, 16)
                .ok()
                .filter(|_| !t.is_empty() && t.len() <= 16)
        };
        let (Some(key), Some(binding)) = (hex(key), hex(binding)) else {
            return Err(refused());
        };
        if binding != u64::from(self.binding()) {
            return Err(refused());
        }
        let after = match (head.chars().next(), head.get(1..).and_then(hex)) {
            (Some('s'), Some(bits)) if self.sort == SortOrder::Relevance => {
                SortValue::Score(f32::from_bits(u32::try_from(bits).map_err(|_| refused())?))
            }
            (Some('d'), Some(value)) if self.sort != SortOrder::Relevance => SortValue::Date(value as i64),
            _ => return Err(refused()),
        };
        Ok(Cursor { after, key })
    }

    /// The bound this query's paging goes over, said in French, if any.
    pub fn over_limit(&self) -> Option<String> {
        if self.limit > PAGE_MAX {
            return Some(format!(
                "« limit » vaut au plus {PAGE_MAX} résultats par page ({} demandés).",
                self.limit
            ));
        }
        if self.offset.saturating_add(self.limit) > OFFSET_MAX {
            return Some(format!(
                "Les résultats s'arrêtent au {OFFSET_MAX}e : « offset » + « limit » vaut au plus {OFFSET_MAX}. Pour aller plus loin, passez de page en page par « after » (le « next » de chaque réponse), ou affinez la recherche (nœud, dates, mots)."
            ));
        }
        None
    }

    /// Checks the paging and the date range.
    pub fn checked(self) -> Result<Self, InvalidInput> {
        if self.limit == 0 || self.limit > PAGE_MAX {
            return Err(InvalidInput::new("limit", format!("entre 1 et {PAGE_MAX}")));
        }
        if let (Some(from), Some(to)) = (self.from, self.to)
            && from > to
        {
            return Err(InvalidInput::new("from", format!("{from} est après to={to}")));
        }
        Ok(self)
    }
}

/// What orders hits: a relevance score, or a record's date (seconds
/// since 1970, UTC midnight).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SortValue {
    /// By relevance.
    Score(f32),
    /// By date.
    Date(i64),
}

/// Where a page of hits ended. Hits are ordered by their sort value, then
/// by their [`order_key`], so that a page can start exactly after the last
/// hit of the one before, however deep.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cursor {
    /// The last hit's sort value.
    pub after: SortValue,
    /// The last hit's order key.
    pub key: u64,
}

/// A record's place among hits of equal score or date: 64 bits of the
/// SHA-256 of its id, fixed for its life.
pub fn order_key(id: &RecordId) -> u64 {
    let digest = super::hash::Sha256::of(id.to_string().as_bytes());
    let b = digest.as_bytes();
    u64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
}

/// One record found.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchHit {
    /// Record id.
    pub id: RecordId,
    /// Reference.
    pub reference: Reference,
    /// Title.
    pub title: String,
    /// Node.
    pub node: NodeCode,
    /// The record's date.
    pub date: NaiveDate,
    /// Relevance score (0 when sorted by date).
    pub score: f32,
    /// An HTML fragment of the text around the matches: the document's own
    /// text escaped, matched words in `<b>`.
    pub snippet: String,
    /// Its document type, if it has one.
    pub document_type: Option<String>,
}

/// A page of results.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SearchResults {
    /// How many records match in all.
    pub total: u64,
    /// This page.
    pub hits: Vec<SearchHit>,
    /// Matching records by node.
    pub facets: BTreeMap<String, u64>,
    /// Matching records by document type.
    pub types: BTreeMap<String, u64>,
    /// Matching records by year of their date.
    pub years: BTreeMap<String, u64>,
    /// Matching records by producing service.
    pub services: BTreeMap<String, u64>,
    /// Whether the query found nothing as written and these hits come from
    /// tolerant matching (one typo per word).
    pub fuzzy: bool,
    /// What the plan says of each node the facets and hits name (the
    /// archive fills it in; the index knows only codes).
    pub nodes: BTreeMap<String, NodeLabel>,
    /// When the query found nothing or little: the query with its words the
    /// index does not hold replaced by the closest ones it does ("did you
    /// mean"), among records the caller may read.
    pub suggestion: Option<String>,
    /// Where this page ends, when it is full, as the caller passes it back
    /// as `after` for the next page (see [`SearchQuery::cursor_text`]).
    pub next: Option<String>,
    /// Whether the search stopped at its time budget: the hits and counts
    /// are those found in the part of the index searched by then.
    pub partial: bool,
}

/// The words of a query worth correcting: those written plainly, outside
/// phrases and fields, as typed.
pub fn correctable_words(query: &super::query::Query) -> Vec<String> {
    use super::query::{Atom, Item, Occur};
    query
        .items
        .iter()
        .filter_map(|item| match item {
            Item::Clause {
                occur: Occur::Default | Occur::Must,
                field: None,
                atom: Atom::Word(w),
            } if w.chars().count() >= 4 && w.chars().all(char::is_alphabetic) => Some(w.clone()),
            _ => None,
        })
        .collect()
}

/// The number of single-character edits between two words, a swap of
/// two neighbours counting one (as the index's typo tolerance counts).
pub fn edit_distance(a: &str, b: &str) -> usize {
    strsim::osa_distance(a, b)
}

/// A field's value as the index holds it.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    /// Words, found as words.
    Text(String),
    /// A number (decimal, integer), found by value and by range.
    Number(f64),
}

/// A node as people read it in results: its title and its path.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NodeLabel {
    /// The node's title in the plan.
    pub title: String,
    /// Its path from the root, as codes (itself last).
    pub path: Vec<String>,
}

/// What the index holds for one record.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexDocument {
    /// Record id.
    pub id: RecordId,
    /// Reference.
    pub reference: Reference,
    /// Title.
    pub title: String,
    /// Node.
    pub node: NodeCode,
    /// The node's path in the plan, root first.
    pub node_path: Vec<NodeCode>,
    /// Producing service.
    pub service: Option<String>,
    /// Document type.
    pub document_type: Option<String>,
    /// The record's date.
    pub date: NaiveDate,
    /// Media type of the latest version.
    pub media_type: String,
    /// Digest of the latest version's content (whose text this is).
    pub content: crate::domain::hash::Sha256,
    /// When the record was deposited.
    pub ingested_at: DateTime<Utc>,
    /// Extracted text of the latest version.
    pub text: String,
    /// Which extractor produced it.
    pub extractor: String,
    /// Why extraction failed, if it did.
    pub extraction_error: Option<String>,
    /// The version of the extractors that produced the text.
    pub extractor_version: u32,
    /// Who may read the record: its one reader key (see
    /// [`node_reader_key`]); a search finds it for callers holding the key.
    pub reader: String,
    /// The record's fields, as the plan types them.
    pub fields: Vec<(String, FieldValue)>,
}

/// How a record's text was obtained, as the index holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextStatus {
    /// Which extractor ran (`none` when the format has none).
    pub extractor: String,
    /// The version of the extractors.
    pub extractor_version: u32,
    /// Characters of text extracted.
    pub chars: u64,
    /// Why no text could be had, if so.
    pub error: Option<String>,
}
