//! The full-text index in tantivy, tuned for French: a view of the journal
//! and the blobs, like the catalog.
//!
//! Analysis (`fr`, see [`super::index_french`]): simple tokenizer (which
//! splits elisions such as `l'`, `d'`, `qu'` from their word), lower case,
//! French stop words, Snowball French stemming and accent folding, a text's
//! words under both the stem of the word as written and that of the word
//! without accents; so `DÉLIBÉRATIONS`, `délibération` and `deliberation`,
//! `dernière` and `derniere` meet. A second, unstemmed and folded copy of title and
//! text (`fold`) serves tolerant matching (one typo per word) when a query
//! finds nothing as written.
//!
//! A record's words are one field (`body`): its title [`TITLE_WEIGHT`]
//! times, then its text. A word of a query is then one list of records to
//! walk, where a title field and a text field made it a union of two (at
//! 1,000,000 records a search made the first time took 1.5 times as
//! long), and a title's words count more in the same field (BM25F, the
//! fields weighed and sharing one length). The words of the query found
//! in the title also lift a record by the title's own score
//! ([`TITLE_LIFT`]), which only visits the records already found. The
//! text is stored apart (`text`) for snippets; the title keeps a field of
//! its own for `titre:`.
//!
//! The last journal seq applied is the commit payload (`{"format", "seq"}`);
//! an index of another [`INDEX_FORMAT`] is deleted and rebuilt. Documents are
//! keyed by record id: applying an event twice leaves one document.

use super::IndexError;
use super::index_french::{self, BothStems, TOKEN_MAX};
use crate::domain::record::{NodeCode, RecordId, Reference};
use crate::domain::search::{Cursor, SortValue};
use crate::domain::search::{IndexDocument, SearchHit, SearchQuery, SearchResults, SortOrder, TextStatus};
use chrono::NaiveDate;
use std::path::Path;
use std::sync::Mutex;
use tantivy::collector::{Collector, Count, TopDocs};
use tantivy::query::{BooleanQuery, EnableScoring, Occur, Query, QueryParser, RangeQuery, TermQuery};
use tantivy::schema::{
    FAST, Facet, FacetOptions, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing,
    TextOptions, Value,
};
use tantivy::snippet::SnippetGenerator;
use tantivy::tokenizer::{
    AsciiFoldingFilter, LowerCaser, RemoveLongFilter, SimpleTokenizer, TextAnalyzer, TokenStream, TokenizerManager,
};
use tantivy::{DateTime as TantivyDate, Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

/// The version of the schema and analysis. Raise it whenever either
/// changes: existing indexes are then rebuilt from the journal.
pub const INDEX_FORMAT: u64 = 10;

/// How many times a record's title counts among its words: a word of the
/// title weighs as much as this many of the text.
const TITLE_WEIGHT: usize = 2;

/// How much a word found in the title adds, on top, against the title's
/// own statistics: a short title holding the word scores high.
const TITLE_LIFT: f32 = 1.0;

/// Memory for each indexing thread's buffer: enough for a round of
/// deposits (the indexer commits at most `jobs::INDEX_BATCH` events at a
/// time), small beside the server's other needs. Tantivy sizes the hash
/// table it clears at each new segment from it.
const WRITER_HEAP_PER_THREAD: usize = 32 * 1024 * 1024;

/// Threads that analyse documents for the index: half the cores, the
/// other half left to the deposits that feed it (and to merges). On two
/// cores one thread indexes French texts at 3,000 deposits a second with
/// less work than two: a round's documents make one segment, one term
/// dictionary, not two of nearly the same words (BENCHMARKS.md, ingest).
/// Tantivy takes at most 8.
fn indexing_threads(cores: usize) -> usize {
    (cores / 2).clamp(1, 8)
}

/// Segments below this many documents count as one level for merging.
/// Under a stream of deposits each index round commits a segment of about
/// a thousand documents; with tantivy's floor (10,000) such a segment,
/// merged, stays in the small ones' level and is merged again with each
/// next seven until it passes about 17,000 documents, every document
/// rewritten two or three times. With this floor a document is rewritten
/// once a level, the levels growing eightfold.
const MERGE_FLOOR_DOCS: u32 = 1_000;

/// How the index's segments are merged: tantivy's logarithmic policy with
/// [`MERGE_FLOOR_DOCS`] as the smallest level.
fn merge_policy() -> tantivy::indexer::LogMergePolicy {
    let mut policy = tantivy::indexer::LogMergePolicy::default();
    policy.set_min_layer_size(MERGE_FLOOR_DOCS);
    policy
}

/// Characters of text around matches shown in a snippet.
const SNIPPET_CHARS: usize = 200;

struct Fields {
    id: Field,
    reference: Field,
    reference_prefixes: Field,
    record_fields: Field,
    title: Field,
    /// The record's words, searched: its title [`TITLE_WEIGHT`] times,
    /// then its text. Not stored.
    body: Field,
    /// The record's text, stored for snippets and reuse. Not indexed.
    text: Field,
    /// The title's words unstemmed, lower case and without accents: what
    /// a correction and the typo-tolerant retry read in titles. A text's
    /// unstemmed words are read from the stored text when needed (see
    /// [`TantivyIndex::closest_readable`]), never indexed: a second
    /// analysis of every text took a third of the index's work.
    title_fold: Field,
    node: Field,
    node_facet: Field,
    node_tree: Field,
    /// `/type/<type>`, `/year/<yyyy>`, `/service/<service>`: what the
    /// other facets count.
    kinds: Field,
    service: Field,
    document_type: Field,
    media: Field,
    content: Field,
    date: Field,
    ingested: Field,
    extractor: Field,
    extractor_version: Field,
    extraction_error: Field,
    text_failed: Field,
    chars: Field,
    readers: Field,
    order_key: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = |analyzer: &str, stored: bool| {
        let indexing = TextFieldIndexing::default()
            .set_tokenizer(analyzer)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions);
        let options = TextOptions::default().set_indexing_options(indexing);
        if stored { options.set_stored() } else { options }
    };
    let fields = Fields {
        id: b.add_text_field("id", STRING | STORED),
        reference: b.add_text_field("ref", STRING | STORED),
        reference_prefixes: b.add_text_field("ref_prefix", text("raw_lower", false)),
        // The plan's fields: words folded like the text, numbers as
        // numbers; fast, for ranges.
        record_fields: b.add_json_field(
            "fields",
            tantivy::schema::JsonObjectOptions::default()
                .set_indexing_options(
                    TextFieldIndexing::default()
                        .set_tokenizer("fold")
                        .set_index_option(IndexRecordOption::WithFreqsAndPositions),
                )
                .set_fast("raw"),
        ),
        title: b.add_text_field("title", text("fr", true)),
        body: b.add_text_field("body", text("fr", false)),
        text: b.add_text_field("text", STORED),
        title_fold: b.add_text_field("title_fold", text("fold", false)),
        node: b.add_text_field("node", text("code", true)),
        node_facet: b.add_facet_field("node_facet", FacetOptions::default()),
        node_tree: b.add_facet_field("node_tree", FacetOptions::default()),
        kinds: b.add_facet_field("kinds", FacetOptions::default()),
        service: b.add_text_field("service", text("fr", true)),
        document_type: b.add_text_field("type", text("fold", true)),
        media: b.add_text_field("media", STRING | STORED),
        // Which content the text was extracted from: the same content and
        // extractors give the same text, which a record's new description
        // does not need extracted again (an OCR takes seconds a page).
        content: b.add_text_field("content", STRING | STORED),
        date: b.add_date_field("date", INDEXED | FAST | STORED),
        ingested: b.add_date_field("ingested", INDEXED | FAST),
        extractor: b.add_text_field("extractor", STRING | STORED),
        extractor_version: b.add_u64_field("extractor_version", INDEXED | STORED | FAST),
        extraction_error: b.add_text_field("extraction_error", STORED),
        text_failed: b.add_u64_field("text_failed", INDEXED),
        chars: b.add_u64_field("chars", STORED),
        readers: b.add_text_field("readers", STRING),
        // Orders hits of equal score or date, so that pages follow each
        // other exactly (`domain::search::order_key`).
        order_key: b.add_u64_field("order_key", FAST),
    };
    (b.build(), fields)
}

/// Registers the analyzers of the index's fields in `analyzers`: with
/// `for_texts`, French text is analyzed as texts are (each word under both
/// its stems), otherwise as queries are.
fn register_analyzers(analyzers: &TokenizerManager, for_texts: bool) {
    if for_texts {
        analyzers.register("fr", TextAnalyzer::from(BothStems::new()));
    } else {
        analyzers.register("fr", index_french::query_analyzer());
    }
    let fold = TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(TOKEN_MAX))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build();
    // Node codes: `FIN-FAC` is the tokens `fin`, `fac`, so `node:FIN`
    // finds every node under FIN.
    let code = TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(LowerCaser)
        .build();
    analyzers.register("fold", fold);
    analyzers.register("code", code);
    // References, whatever their case, by any prefix that ends where a
    // part ends (`fin-fac-2024`): each prefix is one token.
    let raw_lower = TextAnalyzer::builder(tantivy::tokenizer::RawTokenizer::default())
        .filter(LowerCaser)
        .build();
    analyzers.register("raw_lower", raw_lower);
}

fn engine(e: tantivy::TantivyError) -> IndexError {
    IndexError::Engine(e.to_string())
}

/// The first day the index counts from.
const EPOCH: NaiveDate = NaiveDate::from_ymd_opt(1970, 1, 1).expect("a day of the calendar");

/// A record's date as the index keeps it: its day number from 1970-01-01,
/// in a date field's seconds. Tantivy counts a date's nanoseconds in an
/// i64, which ends in 1677 and 2262; kept as a day number, a date of any
/// year from 1 to 9999 keeps its order, its range filters and its value.
fn day(date: NaiveDate) -> TantivyDate {
    TantivyDate::from_timestamp_secs(date.signed_duration_since(EPOCH).num_days())
}

/// The date [`day`] keeps.
fn date_of(kept: TantivyDate) -> Option<NaiveDate> {
    EPOCH.checked_add_signed(chrono::Duration::try_days(kept.into_timestamp_secs())?)
}

/// The tantivy index.
pub struct TantivyIndex {
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    fields: Fields,
    /// The analyzers a query's words go through (French words stemmed
    /// once, where texts are indexed under both stems).
    query_analyzers: TokenizerManager,
    /// How long a search may take before it answers with what it found
    /// in the segments searched by then (see [`SearchResults::partial`]).
    budget: std::time::Duration,
    /// The facet ordinals of the segments searched, record by record.
    facet_tables: super::index_gather::FacetTables,
    /// What searches found lately in the large segments, and from how
    /// many records a segment is large (see `index_reuse`).
    reuse: super::index_reuse::Reuse,
    stable_docs: u32,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Payload {
    format: u64,
    seq: u64,
}

impl TantivyIndex {
    /// Opens the index in `dir`, creating it, or recreating it when its
    /// format differs from [`INDEX_FORMAT`].
    pub fn open(dir: &Path) -> Result<Self, IndexError> {
        std::fs::create_dir_all(dir).map_err(|e| IndexError::Engine(e.to_string()))?;
        let (schema, fields) = schema();
        let existing = Index::open_in_dir(dir).ok();
        let stale = existing.as_ref().is_some_and(|index| {
            let payload = index.load_metas().ok().and_then(|m| m.payload);
            let format = payload
                .and_then(|p| serde_json::from_str::<Payload>(&p).ok())
                .map(|p| p.format);
            // An index never committed has no payload: it is new, not stale.
            format.is_some_and(|f| f != INDEX_FORMAT) || index.schema() != schema
        });
        let index = match existing {
            Some(index) if !stale => index,
            other => {
                if other.is_some() {
                    tracing::warn!("the search index has another format; it is rebuilt from the journal");
                    drop(other);
                    std::fs::remove_dir_all(dir).map_err(|e| IndexError::Engine(e.to_string()))?;
                    std::fs::create_dir_all(dir).map_err(|e| IndexError::Engine(e.to_string()))?;
                }
                Index::create_in_dir(dir, schema).map_err(engine)?
            }
        };
        Self::with_index(index, fields)
    }

    /// An index in memory, for tests.
    pub fn in_memory() -> Result<Self, IndexError> {
        let (schema, fields) = schema();
        Self::with_index(Index::create_in_ram(schema), fields)
    }

    fn with_index(index: Index, fields: Fields) -> Result<Self, IndexError> {
        register_analyzers(index.tokenizers(), true);
        let query_analyzers = TokenizerManager::default();
        register_analyzers(&query_analyzers, false);
        let threads = indexing_threads(std::thread::available_parallelism().map_or(1, usize::from));
        let writer: IndexWriter = index
            .writer_with_num_threads(threads, WRITER_HEAP_PER_THREAD * threads)
            .map_err(engine)?;
        writer.set_merge_policy(Box::new(merge_policy()));
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(engine)?;
        Ok(TantivyIndex {
            index,
            reader,
            writer: Mutex::new(writer),
            fields,
            query_analyzers,
            budget: SEARCH_BUDGET,
            facet_tables: Default::default(),
            reuse: Default::default(),
            stable_docs: super::index_reuse::STABLE_DOCS,
        })
    }

    /// Forgets what searches found lately in the large segments, so that
    /// the next searches are made afresh: what a search costs the first
    /// time, for a measurement.
    pub fn forget_reused(&self) {
        self.reuse.forget();
    }

    fn writer(&self) -> std::sync::MutexGuard<'_, IndexWriter> {
        self.writer.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn to_document(&self, doc: &IndexDocument) -> TantivyDocument {
        let f = &self.fields;
        let mut d = TantivyDocument::default();
        d.add_text(f.id, doc.id.to_string());
        d.add_text(f.reference, doc.reference.as_str());
        for prefix in crate::domain::query::reference_prefixes(doc.reference.as_str()) {
            d.add_text(f.reference_prefixes, prefix);
        }
        if !doc.fields.is_empty() {
            use crate::domain::search::FieldValue;
            use tantivy::schema::OwnedValue;
            let object = doc
                .fields
                .iter()
                .map(|(name, value)| {
                    let value = match value {
                        FieldValue::Text(t) => OwnedValue::Str(t.clone()),
                        FieldValue::Number(n) => OwnedValue::F64(*n),
                    };
                    (name.clone(), value)
                })
                .collect();
            d.add_object(f.record_fields, object);
        }
        d.add_text(f.title, &doc.title);
        d.add_text(f.title_fold, &doc.title);
        for _ in 0..TITLE_WEIGHT {
            d.add_text(f.body, &doc.title);
        }
        d.add_text(f.body, &doc.text);
        d.add_text(f.text, &doc.text);
        d.add_text(f.node, doc.node.as_str());
        d.add_facet(f.node_facet, Facet::from_path([doc.node.as_str()]));
        let path: Vec<&str> = if doc.node_path.is_empty() {
            vec![doc.node.as_str()]
        } else {
            doc.node_path.iter().map(NodeCode::as_str).collect()
        };
        d.add_facet(f.node_tree, Facet::from_path(path));
        if let Some(service) = &doc.service {
            d.add_text(f.service, service);
            d.add_facet(f.kinds, Facet::from_path(["service", service.as_str()]));
        }
        if let Some(document_type) = &doc.document_type {
            d.add_text(f.document_type, document_type);
            d.add_facet(f.kinds, Facet::from_path(["type", document_type.as_str()]));
        }
        d.add_facet(
            f.kinds,
            Facet::from_path(["year".to_owned(), chrono::Datelike::year(&doc.date).to_string()]),
        );
        d.add_text(f.media, &doc.media_type);
        d.add_text(f.content, doc.content.hex());
        d.add_date(f.date, day(doc.date));
        d.add_date(
            f.ingested,
            TantivyDate::from_timestamp_micros(doc.ingested_at.timestamp_micros()),
        );
        d.add_text(f.extractor, &doc.extractor);
        d.add_u64(f.extractor_version, u64::from(doc.extractor_version));
        if let Some(error) = &doc.extraction_error {
            d.add_text(f.extraction_error, error);
        }
        d.add_u64(f.text_failed, u64::from(doc.extraction_error.is_some()));
        d.add_u64(f.chars, doc.text.chars().count() as u64);
        d.add_text(f.readers, &doc.reader);
        d.add_u64(f.order_key, crate::domain::search::order_key(&doc.id));
        d
    }

    fn find_id(&self, searcher: &tantivy::Searcher, id: &RecordId) -> Result<Option<TantivyDocument>, IndexError> {
        let query = TermQuery::new(
            Term::from_field_text(self.fields.id, &id.to_string()),
            IndexRecordOption::Basic,
        );
        let top = searcher
            .search(&query, &TopDocs::with_limit(1).order_by_score())
            .map_err(engine)?;
        match top.first() {
            Some((_, address)) => Ok(Some(searcher.doc(*address).map_err(engine)?)),
            None => Ok(None),
        }
    }

    fn parse(&self, text: &str, fuzzy: bool) -> Result<Box<dyn Query>, IndexError> {
        let f = &self.fields;
        let defaults = if fuzzy {
            vec![f.title_fold, f.body]
        } else {
            vec![f.body]
        };
        self.parse_in(text, defaults, fuzzy)
    }

    /// `text` read by the engine's parser, its words looked for in
    /// `defaults`.
    fn parse_in(&self, text: &str, defaults: Vec<Field>, fuzzy: bool) -> Result<Box<dyn Query>, IndexError> {
        let f = &self.fields;
        let mut parser = QueryParser::new(self.index.schema(), defaults, self.query_analyzers.clone());
        parser.set_conjunction_by_default();
        if fuzzy {
            parser.set_field_fuzzy(f.title_fold, false, 1, true);
            parser.set_field_fuzzy(f.body, false, 1, true);
        }
        // `text` was rendered by `domain::query`: every word is plain or
        // quoted, so what the engine still refuses is a value its field
        // cannot hold. Its own words stay in the log.
        parser.parse_query(text).map_err(|e| {
            tracing::info!(error = %e, query = text, "the engine refused a rendered query");
            IndexError::BadQuery(
                "La recherche n'a pas pu être comprise telle qu'écrite : vérifiez les valeurs données aux champs (date:2024-03, ref:FIN-FAC-2024-000001)."
                    .to_owned(),
            )
        })
    }

    /// Whether French analysis leaves anything of `text` to look for (a
    /// stop word leaves nothing).
    fn has_words(&self, text: &str) -> bool {
        self.query_analyzers.get("fr").is_none() || !self.stems(text).is_empty()
    }

    /// The query a person's text asks for: read leniently and bounded by
    /// `domain::query`, then given to the engine's parser; every record
    /// when nothing is left to look for.
    fn query_of(&self, q: &SearchQuery, fuzzy: bool) -> Result<Box<dyn Query>, IndexError> {
        let query = crate::domain::query::parse_with(&q.text, &q.record_fields)?.with_synonyms(&q.synonyms);
        if let Some(excluded) = query.exclusions_only() {
            let excluded = self.parse(&excluded, fuzzy)?;
            return Ok(Box::new(BooleanQuery::new(vec![
                (Occur::Must, Box::new(tantivy::query::AllQuery) as Box<dyn Query>),
                (Occur::MustNot, excluded),
            ])));
        }
        if let Some(clauses) = query.weighed_clauses() {
            use crate::domain::query::Occur as Written;
            // A stop word (`le`, `qui`, `cette`) is in no record's indexed
            // words: it is neither looked for nor counted among the words
            // a record must hold.
            let clauses: Vec<(Written, String)> = clauses
                .into_iter()
                .filter(|(o, t)| *o != Written::Default || self.has_words(t))
                .collect();
            let free = clauses.iter().filter(|(o, _)| *o == Written::Default).count();
            let mut subqueries = Vec::with_capacity(clauses.len());
            for (occur, text) in &clauses {
                let occur = match occur {
                    Written::Default => Occur::Should,
                    Written::Must => Occur::Must,
                    Written::Not => Occur::MustNot,
                };
                subqueries.push((occur, self.parse(text, fuzzy)?));
            }
            let words: Box<dyn Query> = Box::new(BooleanQuery::with_minimum_required_clauses(
                subqueries,
                crate::domain::query::should_match(free),
            ));
            // Words close together lift a record: the free words as a phrase
            // with some slack, never required and not counted among the
            // words held.
            // The plain words (no phrase, no field) of the clauses `keep` keeps.
            let plain_words = |keep: fn(&Written) -> bool| -> Vec<&str> {
                clauses
                    .iter()
                    .filter(|(o, t)| keep(o) && t.chars().all(char::is_alphanumeric))
                    .map(|(_, t)| t.as_str())
                    .collect()
            };
            let near = plain_words(|o| *o == Written::Default);
            let mut lifted = vec![(Occur::Must, words)];
            if near.len() >= 2
                && let Ok(phrase) = self.parse(&format!("\"{}\"~{PROXIMITY_SLOP}", near.join(" ")), fuzzy)
            {
                lifted.push((Occur::Should, phrase));
            }
            // A word in the title lifts a record more than in the text:
            // the title's own score, on top, for the words looked for.
            let sought = plain_words(|o| *o != Written::Not);
            if !fuzzy && !sought.is_empty() {
                let mut in_title = Vec::with_capacity(sought.len());
                for word in sought {
                    in_title.push((Occur::Should, self.parse_in(word, vec![self.fields.title], false)?));
                }
                lifted.push((
                    Occur::Should,
                    Box::new(tantivy::query::BoostQuery::new(
                        Box::new(BooleanQuery::new(in_title)),
                        TITLE_LIFT,
                    )),
                ));
            }
            if lifted.len() == 1 {
                return Ok(lifted.remove(0).1);
            }
            return Ok(Box::new(BooleanQuery::new(lifted)));
        }
        let rendered = query.render();
        if rendered.is_empty() {
            Ok(Box::new(tantivy::query::AllQuery))
        } else {
            self.parse(&rendered, fuzzy)
        }
    }

    /// Who may read what, as the cheapest clause that says it on what
    /// `searcher` holds: nothing when the caller may read every key the
    /// index holds; the few keys it may not read excluded, when they are
    /// fewer than those it may; else the keys it may read required. (A
    /// union of keys to intersect with every hit costs more than the rest
    /// of a search on a large index.)
    fn readers_clause(&self, q: &SearchQuery, searcher: &tantivy::Searcher) -> Option<(Occur, Box<dyn Query>)> {
        let any_of = |keys: &[&str]| -> Box<dyn Query> {
            let terms: Vec<(Occur, Box<dyn Query>)> = keys
                .iter()
                .map(|key| {
                    let term = Term::from_field_text(self.fields.readers, key);
                    (
                        Occur::Should,
                        Box::new(TermQuery::new(term, IndexRecordOption::Basic)) as Box<dyn Query>,
                    )
                })
                .collect();
            Box::new(BooleanQuery::new(terms))
        };
        let readable: std::collections::BTreeSet<&str> = q.readers.iter().map(String::as_str).collect();
        let Some(held) = self.reader_keys_held(searcher) else {
            let keys: Vec<&str> = readable.into_iter().collect();
            return Some((Occur::Must, any_of(&keys)));
        };
        let (allowed, denied): (Vec<&str>, Vec<&str>) =
            held.iter().map(String::as_str).partition(|k| readable.contains(k));
        if denied.is_empty() {
            None
        } else if allowed.is_empty() {
            Some((Occur::Must, Box::new(tantivy::query::EmptyQuery)))
        } else if denied.len() < allowed.len() {
            Some((Occur::MustNot, any_of(&denied)))
        } else {
            Some((Occur::Must, any_of(&allowed)))
        }
    }

    /// The reader keys of the records `searcher` holds (`None` when a
    /// segment's terms cannot be read).
    fn reader_keys_held(&self, searcher: &tantivy::Searcher) -> Option<std::collections::BTreeSet<String>> {
        let mut keys = std::collections::BTreeSet::new();
        for segment in searcher.segment_readers() {
            let inverted = segment.inverted_index(self.fields.readers).ok()?;
            let mut terms = inverted.terms().stream().ok()?;
            while terms.advance() {
                keys.insert(String::from_utf8_lossy(terms.key()).into_owned());
            }
        }
        Some(keys)
    }

    fn filtered(&self, base: Box<dyn Query>, q: &SearchQuery, searcher: &tantivy::Searcher) -> Box<dyn Query> {
        let f = &self.fields;
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, base)];
        if let Some(node) = &q.node {
            // A facet term matches its facet and every facet below it.
            let facet = if q.node_path.is_empty() {
                Facet::from_path([node.as_str()])
            } else {
                Facet::from_path(q.node_path.iter().map(NodeCode::as_str))
            };
            clauses.push((
                Occur::Must,
                Box::new(TermQuery::new(
                    Term::from_facet(f.node_tree, &facet),
                    IndexRecordOption::Basic,
                )),
            ));
        }
        if let Some(readers) = self.readers_clause(q, searcher) {
            clauses.push(readers);
        }
        if q.from.is_some() || q.to.is_some() {
            use std::ops::Bound;
            let lower = q.from.map_or(Bound::Unbounded, |d| {
                Bound::Included(Term::from_field_date(f.date, day(d)))
            });
            let upper = q.to.map_or(Bound::Unbounded, |d| {
                Bound::Included(Term::from_field_date(f.date, day(d)))
            });
            clauses.push((Occur::Must, Box::new(RangeQuery::new(lower, upper))));
        }
        Box::new(BooleanQuery::new(clauses))
    }

    fn run(&self, q: &SearchQuery, fuzzy: bool) -> Result<SearchResults, IndexError> {
        use super::index_gather::{Gather, Rank};
        let f = &self.fields;
        let base = self.query_of(q, fuzzy)?;
        let searcher = self.reader.searcher();
        let query = self.filtered(base, q, &searcher);
        // One pass over the hits, segment by segment within the time
        // budget: the counts (total, by node, by kind) and the page.
        let rank = match q.sort {
            SortOrder::Relevance => Rank::Score,
            SortOrder::DateDesc => Rank::DateDesc,
            SortOrder::DateAsc => Rank::DateAsc,
        };
        self.facet_tables.keep_only(&searcher);
        let gather = Gather {
            rank,
            want: q.offset + q.limit,
            after: q.after.map(|c| rank.place_of(c.after, c.key)),
            tables: &self.facet_tables,
        };
        let (gathered, searched) = self.gather_within(&searcher, &*query, gather, std::time::Instant::now())?;
        let partial = searched < searcher.segment_readers().len();
        let ranked: Vec<_> = gathered.top.into_iter().skip(q.offset).collect();
        let next = (ranked.len() == q.limit)
            .then(|| ranked.last())
            .flatten()
            .map(|(value, key, _)| {
                q.cursor_text(&Cursor {
                    after: *value,
                    key: *key,
                })
            });
        let addresses: Vec<(f32, tantivy::DocAddress)> = ranked
            .into_iter()
            .map(|(value, _, address)| match value {
                SortValue::Score(score) => (score, address),
                SortValue::Date(_) => (0.0, address),
            })
            .collect();
        // The query's words in `body`, marked in the stored text.
        let snippets = SnippetGenerator::create(&searcher, &*query, f.body).map(|mut g| {
            g.set_max_num_chars(SNIPPET_CHARS);
            g
        });
        let mut hits = Vec::with_capacity(addresses.len());
        for (score, address) in addresses {
            let doc: TantivyDocument = searcher.doc(address).map_err(engine)?;
            let text_of = |field| {
                doc.get_first(field)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_owned()
            };
            let Some(id) = RecordId::parse(&text_of(f.id)) else {
                continue;
            };
            let date = doc
                .get_first(f.date)
                .and_then(|v| v.as_datetime())
                .and_then(date_of)
                .unwrap_or_default();
            let snippet = match &snippets {
                Ok(generator) => generator.snippet(&text_of(f.text)).to_html(),
                Err(_) => String::new(),
            };
            hits.push(SearchHit {
                id,
                reference: Reference::from_naming(text_of(f.reference)),
                title: text_of(f.title),
                node: NodeCode::parse(&text_of(f.node)).map_err(|e| IndexError::Engine(e.to_string()))?,
                date,
                score,
                snippet,
                document_type: Some(text_of(f.document_type)).filter(|t| !t.is_empty()),
            });
        }
        let mut kinds = gathered.kinds;
        let mut count_of = |kind: &str| kinds.remove(kind).unwrap_or_default();
        Ok(SearchResults {
            total: gathered.total,
            hits,
            facets: gathered.nodes,
            types: count_of("type"),
            years: count_of("year"),
            services: count_of("service"),
            fuzzy,
            nodes: std::collections::BTreeMap::new(),
            suggestion: None,
            next,
            partial,
        })
    }

    /// Runs `gather` over the index's segments, one after the other,
    /// until the time budget counted from `started` is spent (after the
    /// first segment at least), taking a stable segment's share from what
    /// the same search found there lately when it can (`index_reuse`).
    /// The fruit, and how many segments it covers.
    fn gather_within(
        &self,
        searcher: &tantivy::Searcher,
        query: &dyn Query,
        gather: super::index_gather::Gather<'_>,
        started: std::time::Instant,
    ) -> Result<(super::index_gather::Gathered, usize), IndexError> {
        use super::index_reuse::{Asked, Stable};
        let stable = Stable::of(searcher, self.stable_docs);
        let scoring = match (&stable, gather.requires_scoring()) {
            (_, false) => EnableScoring::disabled_from_searcher(searcher),
            (Some(stable), true) => EnableScoring::enabled_from_statistics_provider(stable, searcher),
            (None, true) => EnableScoring::enabled_from_searcher(searcher),
        };
        // The stable segments, and the query's text that keys what they keep.
        let reused: Option<(&Stable<'_>, std::sync::Arc<str>)> = stable
            .as_ref()
            .filter(|_| self.reuse.keeps(gather.want))
            .map(|stable| (stable, format!("{query:?}").into()));
        let mut weight = None;
        let mut fruits = Vec::new();
        for (ord, segment) in searcher.segment_readers().iter().enumerate() {
            if !fruits.is_empty() && started.elapsed() >= self.budget {
                break;
            }
            let ord = u32::try_from(ord).map_err(|e| IndexError::Engine(e.to_string()))?;
            let asked = match &reused {
                Some((stable, text)) if stable.holds(segment) => Some((
                    *stable,
                    Asked {
                        query: std::sync::Arc::clone(text),
                        rank: gather.rank,
                        want: gather.want,
                        after: gather.after,
                        segment: segment.segment_id(),
                        deleted: segment.num_deleted_docs(),
                    },
                )),
                _ => None,
            };
            if let Some((stable, asked)) = &asked
                && let Some(kept) = self.reuse.find(stable, asked)
            {
                fruits.push(kept.in_segment(ord));
                continue;
            }
            let weight = match &mut weight {
                Some(weight) => weight,
                None => weight.insert(query.weight(scoring).map_err(engine)?),
            };
            let fruit = gather.collect_segment(&**weight, ord, segment).map_err(engine)?;
            if let Some((stable, asked)) = asked {
                self.reuse.keep(stable, asked, std::sync::Arc::new(fruit.clone()));
            }
            fruits.push(fruit);
        }
        let searched = fruits.len();
        Ok((gather.merge_fruits(fruits).map_err(engine)?, searched))
    }
}

/// How far apart, in words, the words of a query may stand and still lift
/// a record as if written together.
const PROXIMITY_SLOP: u32 = 4;

/// How long a search may run before it answers with what it has found.
pub const SEARCH_BUDGET: std::time::Duration = std::time::Duration::from_secs(2);

/// Below this many records found, a corrected query is suggested.
const SUGGEST_BELOW: u64 = 3;

/// Candidates looked at for each word to correct, most frequent first.
const SUGGEST_CANDIDATES: usize = 8;

impl TantivyIndex {
    /// The query's words (those a typo may hide in) that no record's title
    /// or text holds, each with its folded form.
    fn words_not_held(&self, q: &SearchQuery) -> Result<Vec<(String, String)>, IndexError> {
        let Ok(parsed) = crate::domain::query::parse(&q.text) else {
            return Ok(Vec::new());
        };
        let mut unheld = Vec::new();
        for word in crate::domain::search::correctable_words(&parsed) {
            let folded = self.fold(&word);
            if !folded.is_empty() && !self.holds(&word, &folded)? {
                unheld.push((word, folded));
            }
        }
        Ok(unheld)
    }

    /// The query with each of its words `unheld` replaced by the closest
    /// word the index holds that a record the caller may read holds;
    /// `None` when nothing was replaced.
    fn suggestion(&self, q: &SearchQuery, unheld: &[(String, String)]) -> Result<Option<String>, IndexError> {
        let mut suggested = q.text.clone();
        let mut changed = false;
        for (word, folded) in unheld {
            if let Some(better) = self.closest_readable(folded, q)? {
                suggested = suggested.replacen(word.as_str(), &better, 1);
                changed = true;
            }
        }
        Ok(changed.then_some(suggested))
    }

    /// A word as the fold analyzer reads it (lower case, no accents).
    fn fold(&self, word: &str) -> String {
        let mut analyzer = match self.index.tokenizers().get("fold") {
            Some(a) => a,
            None => return String::new(),
        };
        let mut stream = analyzer.token_stream(word);
        let mut out = String::new();
        while stream.advance() {
            out.push_str(&stream.token().text);
        }
        out
    }

    /// The terms a query's `word` asks the stemmed field for (none for a
    /// stop word).
    fn stems(&self, word: &str) -> Vec<String> {
        let Some(mut analyzer) = self.query_analyzers.get("fr") else {
            return Vec::new();
        };
        let mut stems = Vec::new();
        analyzer.token_stream(word).process(&mut |t| stems.push(t.text.clone()));
        stems
    }

    /// Whether some record's title holds the word (`folded`), or some
    /// record's text a word of its stem (a stop word, which every text
    /// holds, is held).
    fn holds(&self, word: &str, folded: &str) -> Result<bool, IndexError> {
        let searcher = self.reader.searcher();
        let held = |field: Field, text: &str| -> Result<bool, IndexError> {
            Ok(searcher.doc_freq(&Term::from_field_text(field, text)).map_err(engine)? > 0)
        };
        if held(self.fields.title_fold, folded)? {
            return Ok(true);
        }
        for stem in self.stems(word) {
            if !held(self.fields.body, &stem)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// The terms of `field` within `distance` edits of `word`, each with
    /// how many records hold it and its edits.
    fn terms_near(
        &self,
        searcher: &tantivy::Searcher,
        field: Field,
        word: &str,
        distance: u8,
    ) -> Result<std::collections::HashMap<String, (u64, usize)>, IndexError> {
        let fuzzy = tantivy::query::FuzzyTermQuery::new(Term::from_field_text(field, word), distance, true);
        let mut found: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
        for segment in searcher.segment_readers() {
            let inverted = segment.inverted_index(field).map_err(engine)?;
            let automaton = fuzzy.automaton().map_err(engine)?;
            let mut stream = inverted
                .terms()
                .search(automaton)
                .into_stream()
                .map_err(|e| IndexError::Engine(e.to_string()))?;
            while stream.advance() {
                let term = String::from_utf8_lossy(stream.key()).into_owned();
                *found.entry(term).or_default() += u64::from(stream.value().doc_freq);
            }
        }
        Ok(found
            .into_iter()
            .map(|(term, freq)| {
                let edits = crate::domain::search::edit_distance(word, &term);
                (term, (freq, edits))
            })
            .collect())
    }

    /// The closest word to `folded` (one edit for short words, two
    /// beyond) that a record the caller may read holds; the most frequent
    /// among the closest.
    ///
    /// Titles' words are in the index as written (folded); texts' words
    /// only as stems, so a text's word is found through its stem: a word
    /// some edits away from `folded` has a stem as many edits away from
    /// one of `folded`'s beginnings (a stem is its word less an ending of
    /// at most [`STEM_ENDING_MAX`] letters). The stems nearest, most
    /// frequent first, each lead to a record the caller may read that
    /// holds one, whose stored title and text give the words themselves.
    fn closest_readable(&self, folded: &str, q: &SearchQuery) -> Result<Option<String>, IndexError> {
        use std::cmp::Reverse;
        let distance: u8 = if folded.chars().count() <= 5 { 1 } else { 2 };
        let searcher = self.reader.searcher();
        let mut candidates: Vec<(usize, Reverse<u64>, String)> = Vec::new();
        // Titles' words, each checked readable, closest first.
        let mut titles: Vec<(usize, Reverse<u64>, String)> = self
            .terms_near(&searcher, self.fields.title_fold, folded, distance)?
            .into_iter()
            .filter(|(word, _)| word != folded)
            .map(|(word, (freq, edits))| (edits, Reverse(freq), word))
            .collect();
        titles.sort();
        for (edits, freq, word) in titles.into_iter().take(SUGGEST_CANDIDATES) {
            let held = TermQuery::new(
                Term::from_field_text(self.fields.title_fold, &word),
                IndexRecordOption::Basic,
            );
            let visible = self.filtered(Box::new(held), q, &searcher);
            if searcher.search(&*visible, &Count).map_err(engine)? > 0 {
                candidates.push((edits, freq, word));
                break;
            }
        }
        // Texts' words, through their stems: near the whole word first,
        // then near ever shorter beginnings, the nearest and most frequent
        // stems first, until a record's text gives words near `folded`;
        // at most `SUGGEST_CANDIDATES` records read.
        let letters: Vec<char> = folded.chars().collect();
        let shortest = letters
            .len()
            .saturating_sub(STEM_ENDING_MAX)
            .max(STEM_BEGINNING_MIN)
            .min(letters.len());
        let mut reads = 0;
        let mut tried: std::collections::HashSet<String> = std::collections::HashSet::new();
        for length in (shortest..=letters.len()).rev() {
            if reads >= SUGGEST_CANDIDATES {
                break;
            }
            let beginning: String = letters[..length].iter().collect();
            let mut stems: Vec<(usize, Reverse<u64>, String)> = self
                .terms_near(&searcher, self.fields.body, &beginning, distance)?
                .into_iter()
                .filter(|(stem, _)| !tried.contains(stem))
                .map(|(stem, (freq, edits))| (edits, Reverse(freq), stem))
                .collect();
            stems.sort();
            let mut found = false;
            for (_, freq, stem) in stems {
                if found || reads >= SUGGEST_CANDIDATES {
                    break;
                }
                reads += 1;
                let held = TermQuery::new(Term::from_field_text(self.fields.body, &stem), IndexRecordOption::Basic);
                tried.insert(stem);
                let visible = self.filtered(Box::new(held), q, &searcher);
                let top = searcher
                    .search(&*visible, &TopDocs::with_limit(1).order_by_score())
                    .map_err(engine)?;
                let Some((_, address)) = top.first() else {
                    continue;
                };
                let doc: TantivyDocument = searcher.doc(*address).map_err(engine)?;
                for field in [self.fields.title, self.fields.text] {
                    let written = doc.get_first(field).and_then(|v| v.as_str()).unwrap_or_default();
                    for word in self.words_near(written, folded, distance.into()) {
                        found = true;
                        candidates.push((crate::domain::search::edit_distance(folded, &word), freq, word));
                    }
                }
            }
            if found {
                break;
            }
        }
        candidates.sort();
        Ok(candidates.into_iter().next().map(|(_, _, word)| word))
    }

    /// The distinct words of `text` (folded) within `distance` edits of
    /// `folded`, other than it.
    fn words_near(&self, text: &str, folded: &str, distance: usize) -> Vec<String> {
        let Some(mut analyzer) = self.index.tokenizers().get("fold") else {
            return Vec::new();
        };
        let length = folded.chars().count();
        let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
        let mut near = Vec::new();
        analyzer.token_stream(text).process(&mut |token| {
            let word = token.text.as_str();
            if word == folded || word.chars().count().abs_diff(length) > distance || seen.contains(word) {
                return;
            }
            seen.insert(word.to_owned());
            if crate::domain::search::edit_distance(folded, word) <= distance {
                near.push(word.to_owned());
            }
        });
        near
    }
}

/// The longest ending French stemming takes off a word (`-ations`, and
/// one letter to spare): a word's stem is one of its beginnings at most
/// this much shorter.
const STEM_ENDING_MAX: usize = 6;

/// The shortest beginning of a word to correct looked for among stems.
const STEM_BEGINNING_MIN: usize = 3;

impl super::TextIndex for TantivyIndex {
    fn applied(&self) -> Result<u64, IndexError> {
        let metas = self.index.load_metas().map_err(engine)?;
        Ok(metas
            .payload
            .and_then(|p| serde_json::from_str::<Payload>(&p).ok())
            .map_or(0, |p| p.seq))
    }

    fn put(&self, doc: &IndexDocument) -> Result<(), IndexError> {
        let writer = self.writer();
        writer.delete_term(Term::from_field_text(self.fields.id, &doc.id.to_string()));
        writer.add_document(self.to_document(doc)).map_err(engine)?;
        Ok(())
    }

    fn add(&self, doc: &IndexDocument) -> Result<(), IndexError> {
        // No deletion to queue: each one is looked up in every segment at
        // the next commit.
        self.writer().add_document(self.to_document(doc)).map_err(engine)?;
        Ok(())
    }

    fn discard(&self) -> Result<(), IndexError> {
        self.writer().rollback().map_err(engine)?;
        Ok(())
    }

    fn commit(&self, seq: u64) -> Result<(), IndexError> {
        let payload = serde_json::to_string(&Payload {
            format: INDEX_FORMAT,
            seq,
        })
        .map_err(|e| IndexError::Engine(e.to_string()))?;
        {
            let mut writer = self.writer();
            let mut prepared = writer.prepare_commit().map_err(engine)?;
            prepared.set_payload(&payload);
            prepared.commit().map_err(engine)?;
        }
        self.reader.reload().map_err(engine)
    }

    fn text_status(&self, id: &RecordId) -> Result<Option<TextStatus>, IndexError> {
        let f = &self.fields;
        let searcher = self.reader.searcher();
        Ok(self.find_id(&searcher, id)?.map(|doc| TextStatus {
            extractor: doc
                .get_first(f.extractor)
                .and_then(|v| v.as_str())
                .unwrap_or("none")
                .to_owned(),
            extractor_version: doc.get_first(f.extractor_version).and_then(|v| v.as_u64()).unwrap_or(0) as u32,
            chars: doc.get_first(f.chars).and_then(|v| v.as_u64()).unwrap_or(0),
            error: doc
                .get_first(f.extraction_error)
                .and_then(|v| v.as_str())
                .map(str::to_owned),
        }))
    }

    fn extracted_text(&self, id: &RecordId, max_chars: usize) -> Result<Option<String>, IndexError> {
        let searcher = self.reader.searcher();
        Ok(self.find_id(&searcher, id)?.map(|doc| {
            doc.get_first(self.fields.text)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .chars()
                .take(max_chars)
                .collect()
        }))
    }

    fn reusable_text(
        &self,
        id: &RecordId,
        content: &crate::domain::hash::Sha256,
        extractor_version: u32,
    ) -> Result<Option<(String, String)>, IndexError> {
        let f = &self.fields;
        let searcher = self.reader.searcher();
        let Some(doc) = self.find_id(&searcher, id)? else {
            return Ok(None);
        };
        let same_content = doc.get_first(f.content).and_then(|v| v.as_str()) == Some(content.hex().as_str());
        let same_extractors =
            doc.get_first(f.extractor_version).and_then(|v| v.as_u64()) == Some(u64::from(extractor_version));
        if !same_content || !same_extractors || doc.get_first(f.extraction_error).is_some() {
            return Ok(None);
        }
        let text = doc
            .get_first(f.text)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned();
        let extractor = doc
            .get_first(f.extractor)
            .and_then(|v| v.as_str())
            .unwrap_or("none")
            .to_owned();
        Ok(Some((text, extractor)))
    }

    fn needing_extraction(&self, current_version: u32) -> Result<Vec<RecordId>, IndexError> {
        use std::ops::Bound;
        let f = &self.fields;
        let failed = TermQuery::new(Term::from_field_u64(f.text_failed, 1), IndexRecordOption::Basic);
        let older = RangeQuery::new(
            Bound::Included(Term::from_field_u64(f.extractor_version, 0)),
            Bound::Excluded(Term::from_field_u64(f.extractor_version, u64::from(current_version))),
        );
        let query = BooleanQuery::new(vec![
            (Occur::Should, Box::new(failed) as Box<dyn Query>),
            (Occur::Should, Box::new(older)),
        ]);
        let searcher = self.reader.searcher();
        let found = searcher
            .search(&query, &tantivy::collector::DocSetCollector)
            .map_err(engine)?;
        let mut ids = Vec::with_capacity(found.len());
        for address in found {
            let doc: TantivyDocument = searcher.doc(address).map_err(engine)?;
            if let Some(id) = doc.get_first(f.id).and_then(|v| v.as_str()).and_then(RecordId::parse) {
                ids.push(id);
            }
        }
        Ok(ids)
    }

    fn extraction_failures(&self) -> Result<Vec<(RecordId, String)>, IndexError> {
        let f = &self.fields;
        let failed = TermQuery::new(Term::from_field_u64(f.text_failed, 1), IndexRecordOption::Basic);
        let searcher = self.reader.searcher();
        let found = searcher
            .search(&failed, &tantivy::collector::DocSetCollector)
            .map_err(engine)?;
        let mut out = Vec::with_capacity(found.len());
        for address in found {
            let doc: TantivyDocument = searcher.doc(address).map_err(engine)?;
            if let Some(id) = doc.get_first(f.id).and_then(|v| v.as_str()).and_then(RecordId::parse) {
                let extractor = doc.get_first(f.extractor).and_then(|v| v.as_str()).unwrap_or("none");
                out.push((id, extractor.to_owned()));
            }
        }
        out.sort();
        Ok(out)
    }

    fn reuse_counts(&self) -> (u64, u64) {
        self.reuse.counts()
    }

    fn purge(&self, ids: &[RecordId], seq: u64) -> Result<(), IndexError> {
        {
            let writer = self.writer();
            for id in ids {
                writer.delete_term(Term::from_field_text(self.fields.id, &id.to_string()));
            }
        }
        self.commit(seq)?;
        // Deleted documents stay in their segments' files until those are
        // rewritten: merge every segment into one without them, then
        // remove the old files.
        let segments = self.index.searchable_segment_ids().map_err(engine)?;
        let mut writer = self.writer();
        if segments.len() > 1 || self.reader.searcher().segment_readers().iter().any(|r| r.has_deletes()) {
            writer.merge(&segments).wait().map_err(engine)?;
        }
        writer.garbage_collect_files().wait().map_err(engine)?;
        drop(writer);
        self.reader.reload().map_err(engine)
    }

    fn matching_ids(&self, q: &SearchQuery) -> Result<Vec<RecordId>, IndexError> {
        let base = self.query_of(q, false)?;
        let searcher = self.reader.searcher();
        let query = self.filtered(base, q, &searcher);
        let addresses = searcher
            .search(&*query, &tantivy::collector::DocSetCollector)
            .map_err(engine)?;
        let mut ids = Vec::with_capacity(addresses.len());
        for address in addresses {
            let doc: TantivyDocument = searcher.doc(address).map_err(engine)?;
            if let Some(id) = doc
                .get_first(self.fields.id)
                .and_then(|v| v.as_str())
                .and_then(RecordId::parse)
            {
                ids.push(id);
            }
        }
        ids.sort();
        ids.dedup();
        Ok(ids)
    }

    fn search(&self, q: &SearchQuery) -> Result<SearchResults, IndexError> {
        let mut exact = self.run(q, false)?;
        if exact.total >= SUGGEST_BELOW || q.text.trim().is_empty() {
            return Ok(exact);
        }
        let unheld = self.words_not_held(q)?;
        let suggestion = self.suggestion(q, &unheld)?;
        if exact.total > 0 {
            exact.suggestion = suggestion;
            return Ok(exact);
        }
        // Nothing as written: the closest words the archive holds, ranked
        // as any query is; failing that, one typo allowed per word.
        if let Some(corrected) = &suggestion {
            let asked = SearchQuery {
                text: corrected.clone(),
                ..q.clone()
            };
            let mut found = self.run(&asked, false)?;
            if found.total > 0 {
                // The next page is asked for with the words as typed.
                found.next = found
                    .next
                    .as_deref()
                    .and_then(|next| asked.read_cursor(next).ok())
                    .map(|cursor| q.cursor_text(&cursor));
                found.fuzzy = true;
                found.suggestion = suggestion;
                return Ok(found);
            }
        }
        // A typo hides only in a word that no record holds: when every
        // word is held, nothing was found because no record matches.
        if unheld.is_empty() {
            exact.suggestion = suggestion;
            return Ok(exact);
        }
        let mut found = match self.run(q, true) {
            Ok(tolerant) if tolerant.total > 0 => tolerant,
            _ => exact,
        };
        found.suggestion = suggestion;
        Ok(found)
    }
}

#[cfg(test)]
#[path = "index_reuse_tests.rs"]
mod reuse_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::TextIndex;

    pub(super) fn doc(n: u128, node: &str, title: &str, text: &str, date: &str) -> IndexDocument {
        IndexDocument {
            id: RecordId::parse(&format!("0190a000-0000-7000-8000-{n:012}")).unwrap(),
            reference: Reference::from_naming(format!("{node}-2025-{n:06}")),
            title: title.into(),
            node: NodeCode::parse(node).unwrap(),
            node_path: vec![
                NodeCode::parse(node.split('-').next().unwrap()).unwrap(),
                NodeCode::parse(node).unwrap(),
            ],
            service: Some("Direction des finances".into()),
            document_type: Some(if node.starts_with("FIN") {
                "Facture".into()
            } else {
                "Délibération".into()
            }),
            date: NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap(),
            media_type: "text/plain".into(),
            content: crate::domain::hash::Sha256::of(text.as_bytes()),
            ingested_at: chrono::Utc::now(),
            text: text.into(),
            extractor: "text".into(),
            extraction_error: if text.is_empty() { Some("no text".into()) } else { None },
            extractor_version: 1,
            reader: if node == "RH-DOS" {
                "role:archivist".into()
            } else {
                "*".into()
            },
            fields: Vec::new(),
        }
    }

    pub(super) fn query(text: &str) -> SearchQuery {
        SearchQuery {
            limit: 10,
            readers: vec!["*".into(), "role:agent".into()],
            ..SearchQuery::for_text(text)
        }
    }

    fn refs(index: &TantivyIndex, q: SearchQuery) -> Vec<String> {
        let mut r: Vec<String> = index
            .search(&q)
            .unwrap()
            .hits
            .into_iter()
            .map(|h| h.reference.to_string())
            .collect();
        r.sort();
        r
    }

    fn mandate() -> IndexDocument {
        doc(
            3,
            "FIN-MAN",
            "Mandat de paiement",
            "Mandat pour la facture de chauffage.",
            "2025-06-30",
        )
    }

    /// The counts of one pass (from the segments' facet tables) are those
    /// the engine's own facet collector gives, segment by segment, and the
    /// tables of merged segments are forgotten.
    #[test]
    fn counts_by_node_and_kind_agree_with_the_engines_facet_collector() {
        use tantivy::collector::FacetCollector;
        let index = sample();
        for n in 10..40u128 {
            let (node, date) = if n % 3 == 0 {
                ("FIN-FAC", "2023-05-02")
            } else {
                ("ADM-DEL", "2022-11-30")
            };
            let mut d = doc(
                n,
                node,
                "Facture ou délibération",
                "Une école et des fournitures.",
                date,
            );
            d.document_type = Some(if n % 2 == 0 { "facture" } else { "délibération" }.into());
            d.service = (n % 5 != 0).then(|| "Finances".to_owned());
            index.put(&d).unwrap();
            if n % 10 == 0 {
                index.commit(n as u64).unwrap();
            }
        }
        index.commit(100).unwrap();
        for text in ["", "école", "facture", "-facture"] {
            let found = index.search(&query(text)).unwrap();
            let searcher = index.reader.searcher();
            let engine_query = index.filtered(index.query_of(&query(text), false).unwrap(), &query(text), &searcher);
            let mut nodes = FacetCollector::for_field("node_facet");
            nodes.add_facet("/");
            let mut kinds = FacetCollector::for_field("kinds");
            for kind in ["/type", "/year", "/service"] {
                kinds.add_facet(kind);
            }
            let (node_counts, kind_counts) = searcher.search(&*engine_query, &(nodes, kinds)).unwrap();
            let expected: std::collections::BTreeMap<String, u64> =
                node_counts.get("/").map(|(f, n)| (f.to_path().join("/"), n)).collect();
            assert_eq!(found.facets, expected, "{text:?}");
            for (kind, got) in [
                ("/type", &found.types),
                ("/year", &found.years),
                ("/service", &found.services),
            ] {
                let expected: std::collections::BTreeMap<String, u64> = kind_counts
                    .get(kind)
                    .filter_map(|(f, n)| f.to_path().last().map(|v| ((*v).to_owned(), n)))
                    .collect();
                assert_eq!(got, &expected, "{text:?} {kind}");
            }
            assert_eq!(found.total, found.facets.values().sum::<u64>(), "{text:?}");
        }
        assert!(!index.search(&query("école")).unwrap().years.is_empty());
        let segments = index.reader.searcher().segment_readers().len();
        assert_eq!(index.facet_tables.len(), segments);
        // Merged into one (a merge the engine started on its own may take
        // some of the segments first: asked again then).
        for _ in 0..50 {
            let ids = index.index.searchable_segment_ids().unwrap();
            if ids.len() == 1 || index.writer().merge(&ids).wait().is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        index.commit(101).unwrap();
        index.search(&query("école")).unwrap();
        assert_eq!(index.facet_tables.len(), 1, "the merged segments' tables are forgotten");
    }

    fn sample() -> TantivyIndex {
        let index = TantivyIndex::in_memory().unwrap();
        index
            .put(&doc(
                1,
                "ADM-DEL",
                "Délibérations du conseil",
                "Le conseil municipal a voté les DÉLIBÉRATIONS sur l'école.",
                "2024-03-01",
            ))
            .unwrap();
        index
            .put(&doc(
                2,
                "FIN-FAC",
                "Facture fournisseur",
                "Facture de fournitures scolaires pour l'école <b>Jules Ferry</b>.",
                "2025-01-15",
            ))
            .unwrap();
        index.put(&mandate()).unwrap();
        index.commit(3).unwrap();
        index
    }

    /// Forty invoices over ten dates (four on each), several segments,
    /// half of them alike word for word (equal scores).
    fn forty_invoices(index: &TantivyIndex) {
        for n in 0..40u128 {
            let text = if n % 2 == 0 {
                "Facture de chauffage.".to_owned()
            } else {
                format!("Facture de chauffage et d'entretien, lot {n}.")
            };
            let date = format!("2024-03-{:02}", 1 + n % 10);
            index.put(&doc(100 + n, "FIN-FAC", "Facture", &text, &date)).unwrap();
            if n % 10 == 9 {
                index.commit(101 + n as u64).unwrap();
            }
        }
    }

    /// Every page of `q` by cursor, `limit` at a time.
    fn pages(index: &TantivyIndex, q: &SearchQuery) -> Vec<Vec<SearchHit>> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = index
                .search(&q.clone().starting_after(after.as_deref()).unwrap())
                .unwrap();
            let next = page.next.clone();
            if !page.hits.is_empty() {
                out.push(page.hits);
            }
            match next {
                Some(n) => after = Some(n),
                None => return out,
            }
            assert!(out.len() <= 200, "pages never end");
        }
    }

    fn ids(hits: &[SearchHit]) -> Vec<String> {
        hits.iter().map(|h| h.id.to_string()).collect()
    }

    /// Each page `offset+limit` of « facture chauffage » in `sort` is that
    /// slice of `all` (every hit in one page).
    fn assert_pages_by_offset_agree(
        index: &TantivyIndex,
        sort: SortOrder,
        all: &[SearchHit],
        pages: &[(usize, usize)],
    ) {
        for &(offset, limit) in pages {
            let page = index
                .search(&SearchQuery {
                    offset,
                    limit,
                    sort,
                    ..query("facture chauffage")
                })
                .unwrap();
            let end = (offset + limit).min(all.len());
            assert_eq!(ids(&page.hits), ids(&all[offset..end]), "{sort:?} {offset}+{limit}");
        }
    }

    #[test]
    fn pages_by_cursor_follow_each_other_exactly_in_every_order() {
        let index = TantivyIndex::in_memory().unwrap();
        forty_invoices(&index);
        for sort in [SortOrder::Relevance, SortOrder::DateDesc, SortOrder::DateAsc] {
            let all = index
                .search(&SearchQuery {
                    limit: 40,
                    sort,
                    ..query("facture chauffage")
                })
                .unwrap();
            assert_eq!(all.total, 40);
            assert_eq!(all.hits.len(), 40);
            let q = SearchQuery {
                limit: 7,
                sort,
                ..query("facture chauffage")
            };
            let paged: Vec<SearchHit> = pages(&index, &q).into_iter().flatten().collect();
            assert_eq!(
                ids(&paged),
                ids(&all.hits),
                "{sort:?}: pages by cursor differ from one page"
            );
            // Pages by offset give the same order (the quick collection by
            // score, or every hit looked at when equal scores straddle).
            assert_pages_by_offset_agree(&index, sort, &all.hits, &[(0, 3), (5, 7), (14, 20), (33, 7)]);
            // The order is the one asked for.
            for pair in paged.windows(2) {
                match sort {
                    SortOrder::Relevance => assert!(pair[0].score >= pair[1].score),
                    SortOrder::DateDesc => assert!(pair[0].date >= pair[1].date),
                    SortOrder::DateAsc => assert!(pair[0].date <= pair[1].date),
                }
            }
        }
        // The last page, full, still gives a cursor; the page after it is
        // empty and gives none.
        let q = SearchQuery {
            limit: 20,
            ..query("facture")
        };
        let pages = pages(&index, &q);
        assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [20, 20]);
    }

    #[test]
    fn hits_tied_by_the_hundred_follow_their_order_keys_across_segments_and_pages() {
        // Three texts and three dates for 150 records in five segments:
        // every score and every date is shared by dozens of hits, in each
        // segment, so the page's order among them is the order keys'.
        let index = TantivyIndex::in_memory().unwrap();
        let texts = [
            "Facture de chauffage.",
            "Facture de chauffage du gymnase.",
            "Facture de chauffage du gymnase municipal, lot unique.",
        ];
        for n in 0..150u128 {
            let text = texts[(n % 3) as usize];
            let date = format!("2024-03-{:02}", 1 + (n / 3) % 3);
            index.put(&doc(500 + n, "FIN-FAC", "Facture", text, &date)).unwrap();
            if n % 30 == 29 {
                index.commit(501 + n as u64).unwrap();
            }
        }
        let key = |h: &SearchHit| crate::domain::search::order_key(&h.id);
        for sort in [SortOrder::Relevance, SortOrder::DateDesc, SortOrder::DateAsc] {
            let all = index
                .search(&SearchQuery {
                    limit: 150,
                    sort,
                    ..query("facture chauffage")
                })
                .unwrap();
            assert_eq!(all.hits.len(), 150);
            for pair in all.hits.windows(2) {
                let (a, b) = (&pair[0], &pair[1]);
                let in_order = match sort {
                    SortOrder::Relevance => a.score > b.score || (a.score == b.score && key(a) > key(b)),
                    SortOrder::DateDesc => a.date > b.date || (a.date == b.date && key(a) > key(b)),
                    SortOrder::DateAsc => a.date < b.date || (a.date == b.date && key(a) < key(b)),
                };
                assert!(in_order, "{sort:?}: {} before {}", a.reference, b.reference);
            }
            for limit in [1, 4, 13] {
                let q = SearchQuery {
                    limit,
                    sort,
                    ..query("facture chauffage")
                };
                let paged: Vec<SearchHit> = pages(&index, &q).into_iter().flatten().collect();
                assert_eq!(ids(&paged), ids(&all.hits), "{sort:?}, {limit} a page");
            }
            assert_pages_by_offset_agree(&index, sort, &all.hits, &[(0, 5), (17, 9), (100, 50)]);
        }
    }

    #[test]
    fn a_cursor_from_another_search_or_with_an_offset_is_refused() {
        let index = TantivyIndex::in_memory().unwrap();
        forty_invoices(&index);
        let first = index
            .search(&SearchQuery {
                limit: 5,
                ..query("facture")
            })
            .unwrap();
        let next = first.next.unwrap();
        for other in [
            query("chauffage"),
            SearchQuery {
                sort: SortOrder::DateDesc,
                ..query("facture")
            },
            SearchQuery {
                node: Some(NodeCode::parse("FIN").unwrap()),
                ..query("facture")
            },
        ] {
            let refused = other.starting_after(Some(&next)).unwrap_err();
            assert!(refused.contains("« after »"), "{refused}");
        }
        for garbage in [
            "",
            "x",
            "s1.2",
            "s1.2.3.4",
            "szz.1.1",
            "d1.1.1",
            "s1.10000000000000000.1",
        ] {
            if garbage.is_empty() {
                assert!(query("facture").starting_after(Some(garbage)).unwrap().after.is_none());
            } else {
                assert!(query("facture").starting_after(Some(garbage)).is_err(), "{garbage}");
            }
        }
        let with_offset = SearchQuery {
            offset: 5,
            ..query("facture")
        };
        assert!(with_offset.starting_after(Some(&next)).unwrap_err().contains("offset"));
    }

    #[test]
    fn each_caller_finds_exactly_the_records_of_its_keys_however_the_filter_is_written() {
        let index = TantivyIndex::in_memory().unwrap();
        for (n, key) in ["a", "b", "c", "d", "d"].iter().enumerate() {
            let mut d = doc(
                200 + n as u128,
                "FIN-FAC",
                "Facture",
                "Facture de chauffage.",
                "2024-03-01",
            );
            d.reader = format!("node:{key}");
            index.put(&d).unwrap();
            // Keys spread over two segments.
            if n == 2 {
                index.commit(1).unwrap();
            }
        }
        index.commit(2).unwrap();
        for (keys, found) in [
            (vec!["a", "b", "c"], 3),           // the one key it may not read excluded
            (vec!["a"], 1),                     // the key it may read required
            (vec!["d", "a"], 3),                // as many of each: required
            (vec!["a", "b", "c", "d", "x"], 5), // every key held: no filter
            (vec![], 0),
            (vec!["x"], 0),
        ] {
            let q = SearchQuery {
                readers: keys.iter().map(|k| format!("node:{k}")).collect(),
                ..query("facture")
            };
            assert_eq!(index.search(&q).unwrap().total, found, "{keys:?}");
            assert_eq!(index.matching_ids(&q).unwrap().len() as u64, found, "{keys:?}");
        }
    }

    #[test]
    fn a_search_past_its_time_budget_answers_with_the_segments_searched() {
        let mut index = TantivyIndex::in_memory().unwrap();
        index
            .writer()
            .set_merge_policy(Box::new(tantivy::indexer::NoMergePolicy));
        forty_invoices(&index);
        assert!(index.reader.searcher().segment_readers().len() >= 4);
        let full = index.search(&query("facture")).unwrap();
        assert_eq!((full.total, full.partial), (40, false));
        index.budget = std::time::Duration::ZERO;
        let partial = index.search(&query("facture")).unwrap();
        assert!(partial.partial);
        assert!(partial.total > 0 && partial.total < 40, "{}", partial.total);
        assert_eq!(partial.hits.len() as u64, partial.total.min(10));
    }

    #[test]
    fn french_analysis_meets_plurals_accents_case_and_elisions() {
        let index = sample();
        assert_eq!(refs(&index, query("délibération")), ["ADM-DEL-2025-000001"]);
        assert_eq!(refs(&index, query("deliberation")), ["ADM-DEL-2025-000001"]);
        assert_eq!(refs(&index, query("DÉLIBÉRATIONS")), ["ADM-DEL-2025-000001"]);
        assert_eq!(
            refs(&index, query("école")),
            ["ADM-DEL-2025-000001", "FIN-FAC-2025-000002"]
        );
        assert_eq!(
            refs(&index, query("factures")),
            ["FIN-FAC-2025-000002", "FIN-MAN-2025-000003"]
        );
        assert_eq!(index.applied().unwrap(), 3);
        // Accents do not change what meets: a word typed without them
        // finds the word written with them, and the other way round.
        for (word, bare) in [
            ("créer", "creer"),
            ("répertoires", "repertoires"),
            ("élève", "eleve"),
            ("système", "systeme"),
            ("délibérations", "deliberations"),
            ("élections", "elections"),
            ("dernière", "derniere"),
            ("sécurité", "securite"),
        ] {
            let terms = |analyzers: &TokenizerManager, w: &str| {
                let mut analyzer = analyzers.get("fr").expect("the French analyzer");
                let mut stream = analyzer.token_stream(w);
                let mut out = Vec::new();
                while stream.advance() {
                    out.push(stream.token().text.clone());
                }
                out
            };
            let indexed = terms(index.index.tokenizers(), word);
            let asked = terms(&index.query_analyzers, bare);
            assert!(
                asked.iter().all(|t| indexed.contains(t)),
                "{word} {indexed:?} / {bare} {asked:?}"
            );
            let stems = |w: &str| terms(&index.query_analyzers, w);
            assert!(
                stems(word)
                    .iter()
                    .all(|t| terms(index.index.tokenizers(), word).contains(t))
            );
        }
    }

    #[test]
    fn phrases_exclusions_fields_dates_and_facets() {
        let index = sample();
        assert_eq!(
            refs(&index, query("\"fournitures scolaires\"")),
            ["FIN-FAC-2025-000002"]
        );
        assert_eq!(refs(&index, query("facture -chauffage")), ["FIN-FAC-2025-000002"]);
        assert_eq!(refs(&index, query("facture node:MAN")), ["FIN-MAN-2025-000003"]);
        assert_eq!(refs(&index, query("école type:deliberation")), ["ADM-DEL-2025-000001"]);
        assert_eq!(
            refs(&index, query("node:FIN")),
            ["FIN-FAC-2025-000002", "FIN-MAN-2025-000003"]
        );
        assert_eq!(refs(&index, query("école OR chauffage")).len(), 3);
        let mut q = query("facture");
        q.from = NaiveDate::from_ymd_opt(2025, 6, 1);
        assert_eq!(refs(&index, q), ["FIN-MAN-2025-000003"]);
        let mut q = query("");
        q.node = NodeCode::parse("FIN").ok();
        q.node_path = vec![NodeCode::parse("FIN").unwrap()];
        assert_eq!(refs(&index, q), ["FIN-FAC-2025-000002", "FIN-MAN-2025-000003"]);
        let mut q = query("");
        q.node = NodeCode::parse("FIN-MAN").ok();
        q.node_path = vec![NodeCode::parse("FIN").unwrap(), NodeCode::parse("FIN-MAN").unwrap()];
        assert_eq!(refs(&index, q), ["FIN-MAN-2025-000003"]);
        let results = index.search(&query("facture")).unwrap();
        assert_eq!(results.total, 2);
        assert_eq!(results.facets.get("FIN-FAC"), Some(&1));
        assert_eq!(results.facets.get("FIN-MAN"), Some(&1));
        // The other facets: by type, year and service, as stored.
        assert_eq!(results.types.get("Facture"), Some(&2), "{:?}", results.types);
        assert_eq!(results.years.values().sum::<u64>(), 2, "{:?}", results.years);
        assert_eq!(results.services.get("Direction des finances"), Some(&2));
        assert!(
            results
                .hits
                .iter()
                .all(|h| h.document_type.as_deref() == Some("Facture"))
        );
        // Punctuation is read as words; a misused operator is refused, in
        // French, saying where.
        assert_eq!(refs(&index, query("facture AND (")).len(), 2);
        assert_eq!(
            refs(&index, query("fournitures scolaires pour l'école")),
            ["FIN-FAC-2025-000002"]
        );
        match index.search(&query("facture nosuchfield:x")) {
            Err(IndexError::Query(e)) => {
                let message = e.to_string();
                assert!(message.contains("« nosuchfield » (caractère 9)"), "{message}")
            }
            other => panic!("not a bad query: {other:?}"),
        }
        assert_eq!(
            refs(&index, query("facture date:[2025-01-01 TO 2025-03-31]")),
            ["FIN-FAC-2025-000002"]
        );
        assert_eq!(refs(&index, query("date:2025-01")), ["FIN-FAC-2025-000002"]);
        // References whatever their case, and by prefix.
        assert_eq!(refs(&index, query("fin-fac-2025-000002")), ["FIN-FAC-2025-000002"]);
        assert_eq!(refs(&index, query("fin-fac-2025")), ["FIN-FAC-2025-000002"]);
        assert_eq!(
            refs(&index, query("ref:fin")),
            ["FIN-FAC-2025-000002", "FIN-MAN-2025-000003"]
        );
        assert_eq!(refs(&index, query("ref:Fin-Man-2025-000003")), ["FIN-MAN-2025-000003"]);
        assert!(
            refs(&index, query("ref:fin-fa")).is_empty(),
            "a prefix ends where a part ends"
        );
    }

    /// Tantivy's own dates end in 1677 and 2262; a parish register of 1620
    /// or a date in 9995 is indexed, filtered, sorted and shown as it is.
    #[test]
    fn dates_of_any_year_are_kept_filtered_and_sorted() {
        let index = TantivyIndex::in_memory().unwrap();
        let dated = [
            (1, "1620-05-01"),
            (2, "2025-06-30"),
            (3, "9995-03-22"),
            (4, "0001-01-01"),
        ];
        for (n, date) in dated {
            index
                .put(&doc(n, "ADM-DEL", "Registre", "registre paroissial", date))
                .unwrap();
        }
        index.commit(1).unwrap();
        let day = |text: &str| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok();
        let mut q = query("registre");
        q.from = day("8247-04-02");
        q.to = day("9995-03-22");
        assert_eq!(refs(&index, q), ["ADM-DEL-2025-000003"]);
        let mut q = query("registre");
        q.from = day("1600-01-01");
        q.to = day("1650-12-31");
        assert_eq!(refs(&index, q), ["ADM-DEL-2025-000001"]);
        let mut q = query("registre");
        q.sort = crate::domain::search::SortOrder::DateAsc;
        let hits = index.search(&q).unwrap().hits;
        let dates: Vec<String> = hits.iter().map(|h| h.date.to_string()).collect();
        assert_eq!(dates, ["0001-01-01", "1620-05-01", "2025-06-30", "9995-03-22"]);
    }

    #[test]
    fn the_plans_fields_are_searched_by_name_and_numbers_by_range() {
        use crate::domain::query::RecordField;
        use crate::domain::search::FieldValue;
        let index = sample();
        let mut invoice = doc(7, "FIN-FAC", "Facture", "pain et croissants", "2024-03-15");
        invoice.fields = vec![
            ("fournisseur".into(), FieldValue::Text("Boulangerie Dupain".into())),
            ("numero_facture".into(), FieldValue::Text("FA-2024-00123".into())),
            ("montant_ttc".into(), FieldValue::Number(1200.5)),
        ];
        index.put(&invoice).unwrap();
        index.commit(9).unwrap();
        let with_fields = |text: &str| {
            let mut q = query(text);
            q.record_fields = vec![
                RecordField {
                    name: "fournisseur".into(),
                    numeric: false,
                },
                RecordField {
                    name: "numero_facture".into(),
                    numeric: false,
                },
                RecordField {
                    name: "montant_ttc".into(),
                    numeric: true,
                },
            ];
            q
        };
        let invoice = ["FIN-FAC-2025-000007"];
        assert_eq!(refs(&index, with_fields("fournisseur:dupain")), invoice);
        assert_eq!(refs(&index, with_fields("fournisseur:\"boulangerie dupain\"")), invoice);
        assert_eq!(refs(&index, with_fields("numero_facture:FA-2024-00123")), invoice);
        assert_eq!(refs(&index, with_fields("montant_ttc:[1000 TO 5000]")), invoice);
        assert_eq!(refs(&index, with_fields("montant_ttc:1200,50")), invoice);
        assert!(refs(&index, with_fields("montant_ttc:[1300 TO *]")).is_empty());
        assert!(refs(&index, with_fields("fournisseur:martin")).is_empty());
    }

    #[test]
    fn snippets_mark_matches_and_escape_html() {
        let index = sample();
        let results = index.search(&query("Jules")).unwrap();
        let snippet = &results.hits[0].snippet;
        assert!(snippet.contains("<b>Jules</b>"), "{snippet}");
        assert!(snippet.contains("&lt;b&gt;"), "{snippet}");
    }

    #[test]
    fn a_word_of_the_title_weighs_more_than_in_the_text_and_is_found_alone() {
        let index = TantivyIndex::in_memory().unwrap();
        let filler = "Le service a transmis les pièces au comptable public après contrôle.";
        index
            .put(&doc(
                1,
                "ADM-ART",
                "Rapport annuel",
                &format!("{filler} Voirie communale."),
                "2024-03-01",
            ))
            .unwrap();
        index
            .put(&doc(
                2,
                "ADM-ART",
                "Voirie communale",
                &format!("{filler} Rapport annuel."),
                "2024-03-01",
            ))
            .unwrap();
        index
            .put(&doc(
                3,
                "ADM-ART",
                "Subvention",
                "Gymnase et stationnement.",
                "2024-03-01",
            ))
            .unwrap();
        index.commit(1).unwrap();
        let ranked = |text: &str| -> Vec<String> {
            let hits = index.search(&query(text)).unwrap().hits;
            hits.into_iter().map(|h| h.reference.to_string()).collect()
        };
        // The same words once in each text: the record whose title holds
        // them comes first.
        assert_eq!(ranked("voirie"), ["ADM-ART-2025-000002", "ADM-ART-2025-000001"]);
        assert_eq!(ranked("rapport"), ["ADM-ART-2025-000001", "ADM-ART-2025-000002"]);
        // A word only the title holds is found; snippets show the text
        // alone, and the text kept is the text.
        let found = index.search(&query("subventions")).unwrap();
        assert_eq!(found.total, 1);
        let snippet = &index.search(&query("gymnase")).unwrap().hits[0].snippet;
        assert_eq!(snippet, "<b>Gymnase</b> et stationnement");
        assert_eq!(
            index.extracted_text(&found.hits[0].id, 100).unwrap().as_deref(),
            Some("Gymnase et stationnement.")
        );
        // Several words: the title holding both ranks first.
        assert_eq!(ranked("voirie communale")[0], "ADM-ART-2025-000002");
    }

    #[test]
    fn text_status_and_readers() {
        let index = sample();
        index
            .put(&doc(4, "RH-DOS", "Dossier", "contrat de travail", "2020-01-01"))
            .unwrap();
        index.put(&doc(5, "FIN-FAC", "Scan", "", "2020-01-01")).unwrap();
        index.commit(5).unwrap();
        assert!(
            refs(&index, query("contrat")).is_empty(),
            "an agent does not read RH-DOS"
        );
        let mut q = query("contrat");
        q.readers = vec!["*".into(), "role:archivist".into()];
        assert_eq!(refs(&index, q), ["RH-DOS-2025-000004"]);
        // A correction never names a word only records the caller may not
        // read hold.
        assert_eq!(index.search(&query("contrta")).unwrap().suggestion, None);
        let mut q = query("contrta");
        q.readers = vec!["*".into(), "role:archivist".into()];
        assert_eq!(index.search(&q).unwrap().suggestion.as_deref(), Some("contrat"));
        let id = |n: u128| RecordId::parse(&format!("0190a000-0000-7000-8000-{n:012}")).unwrap();
        let status = index.text_status(&id(2)).unwrap().unwrap();
        assert_eq!((status.extractor.as_str(), status.error), ("text", None));
        assert!(status.chars > 20);
        assert_eq!(
            index.text_status(&id(5)).unwrap().unwrap().error.as_deref(),
            Some("no text")
        );
        assert_eq!(index.needing_extraction(1).unwrap(), vec![id(5)]);
        assert_eq!(index.needing_extraction(2).unwrap().len(), 5);
        assert_eq!(index.text_status(&id(9)).unwrap(), None);
    }

    #[test]
    fn half_the_cores_index_and_the_rest_feed_them() {
        let threads: Vec<usize> = [1, 2, 3, 4, 8, 16, 64].into_iter().map(indexing_threads).collect();
        assert_eq!(threads, [1, 1, 1, 2, 4, 8, 8]);
    }

    #[test]
    fn rounds_of_a_thousand_documents_are_merged_once_a_level() {
        use tantivy::indexer::MergePolicy;
        // Seven segments of a thousand (index rounds under load) and the
        // one eight of them made: the merged one is not merged again with
        // the next seven small ones, which wait for an eighth.
        let mut schema = Schema::builder();
        let n = schema.add_u64_field("n", tantivy::schema::INDEXED);
        let rounds = Index::create_in_ram(schema.build());
        let mut writer: IndexWriter = rounds.writer_with_num_threads(1, 15_000_000).unwrap();
        writer.set_merge_policy(Box::new(tantivy::indexer::NoMergePolicy));
        let mut commit = |docs: u64| {
            for i in 0..docs {
                writer.add_document(tantivy::doc!(n => i)).unwrap();
            }
            writer.commit().unwrap();
            rounds.searchable_segment_metas().unwrap()
        };
        for _ in 0..6 {
            commit(1_000);
        }
        commit(8_000);
        let segments = commit(1_000);
        assert!(merge_policy().compute_merge_candidates(&segments).is_empty());
        let segments = commit(1_000);
        let candidates = merge_policy().compute_merge_candidates(&segments);
        assert_eq!(candidates.len(), 1);
        assert_eq!(candidates[0].0.len(), 8, "the eight small ones, not the merged one");
        // Tantivy's own floor would have merged all nine.
        assert_eq!(
            tantivy::indexer::LogMergePolicy::default().compute_merge_candidates(&segments)[0]
                .0
                .len(),
            9
        );
        // The index writes with this policy.
        let index = TantivyIndex::in_memory().unwrap();
        let installed = format!("{:?}", index.writer().get_merge_policy());
        assert!(
            installed.contains(&format!("min_layer_size: {MERGE_FLOOR_DOCS}")),
            "{installed}"
        );
    }

    #[test]
    fn a_typo_still_finds_and_reindexing_does_not_duplicate() {
        let index = sample();
        let results = index.search(&query("chaufage")).unwrap();
        assert!(results.fuzzy);
        assert_eq!(results.suggestion.as_deref(), Some("chauffage"), "did you mean");
        let few = index.search(&query("facture chaufage")).unwrap();
        assert_eq!(few.suggestion.as_deref(), Some("facture chauffage"));
        assert_eq!(
            index.search(&query("facture")).unwrap().suggestion,
            None,
            "found as written"
        );
        assert_eq!(results.hits[0].reference.as_str(), "FIN-MAN-2025-000003");
        index.put(&mandate()).unwrap();
        index.commit(4).unwrap();
        assert_eq!(index.search(&query("chauffage")).unwrap().total, 1);
    }

    #[test]
    fn words_the_archive_holds_are_not_taken_for_typos() {
        let index = TantivyIndex::in_memory().unwrap();
        index
            .put(&doc(
                1,
                "FIN-FAC",
                "Pont",
                "Réfection du pont, chauffage du local",
                "2024-03-01",
            ))
            .unwrap();
        index
            .put(&doc(
                2,
                "FIN-FAC",
                "Port",
                "Entretien du port de plaisance",
                "2024-03-02",
            ))
            .unwrap();
        index.commit(2).unwrap();
        // Every record holding « pont » holds « chauffage »: nothing matches,
        // and « port », one letter away, is another word, not a correction.
        let none = index.search(&query("pont -chauffage")).unwrap();
        assert_eq!((none.total, none.fuzzy, none.suggestion), (0, false, None));
        // A word no record holds is still corrected.
        let typo = index.search(&query("prot -chauffage")).unwrap();
        assert_eq!((typo.total, typo.fuzzy), (1, true), "retried for the typo");
    }

    #[test]
    fn a_word_written_only_in_texts_is_corrected_as_written_whatever_its_typo_does_to_its_stem() {
        let index = TantivyIndex::in_memory().unwrap();
        let texts = [
            "Les subventions accordées aux associations sportives de la commune.",
            "Délibérations du conseil : subventions et dépendances du domaine public.",
        ];
        for (n, text) in texts.iter().enumerate() {
            index
                .put(&doc(400 + n as u128, "FIN-FAC", "Note", text, "2024-03-01"))
                .unwrap();
        }
        index.commit(1).unwrap();
        // Each typo leaves a stem no text has (`associatoins`, `dependences`
        // → `dependent`, `deliberatoins`): the word is found through one of
        // its beginnings, and suggested as the text writes it (folded).
        for (typed, meant) in [
            ("associatoins", "associations"),
            ("subvnetions", "subventions"),
            ("dependences", "dependances"),
            ("deliberatoins", "deliberations"),
        ] {
            let found = index.search(&query(typed)).unwrap();
            assert_eq!(found.suggestion.as_deref(), Some(meant), "{typed}");
            assert!(found.total > 0 && found.fuzzy, "{typed} finds with the correction");
        }
        // A word whose stem a text holds is no typo: found as written.
        let plural = index.search(&query("association")).unwrap();
        assert_eq!((plural.total, plural.fuzzy, plural.suggestion), (1, false, None));
    }

    #[test]
    fn a_query_that_finds_nothing_is_answered_for_the_closest_words_held() {
        let index = TantivyIndex::in_memory().unwrap();
        let texts = [
            ("Résolution des dépendances", "Comment les dépendances sont résolues."),
            (
                "Résolution immédiate",
                "Les dépendances manquantes et leur résolution immédiate, pas à pas.",
            ),
            (
                "Dépendances recommandées",
                "Une résolution tient compte des dépendances recommandées.",
            ),
        ];
        for (n, (title, text)) in texts.iter().enumerate() {
            index
                .put(&doc(300 + n as u128, "FIN-FAC", title, text, "2024-03-01"))
                .unwrap();
        }
        index.commit(1).unwrap();
        let q = SearchQuery {
            limit: 1,
            ..query("resolution des dependences")
        };
        let first = index.search(&q).unwrap();
        assert!(first.fuzzy);
        assert_eq!(first.suggestion.as_deref(), Some("resolution des dependances"));
        assert_eq!(first.total, 3);
        assert_eq!(
            first.hits[0].title, "Résolution des dépendances",
            "ranked as written right"
        );
        // The next page is asked for with the words as typed.
        let mut seen = vec![first.hits[0].id];
        let mut next = first.next;
        while let Some(after) = next {
            let page = index.search(&q.clone().starting_after(Some(&after)).unwrap()).unwrap();
            seen.extend(page.hits.iter().map(|h| h.id));
            next = page.next;
            assert!(seen.len() <= 3);
        }
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 3);
    }
}
