//! Relevance: how often each engine puts the right document first, on a
//! French corpus nobody on the project wrote (the HTML manuals of Debian's
//! `aptitude-doc-fr` and `debian-faq-fr`, installed by `make deps`) and the
//! judged queries of `benches/relevance/queries-fr.tsv`.
//!
//! coffre runs as users run it: `coffre serve`, every page deposited over
//! HTTP with its HTML title as the record's title, every query through
//! `GET /api/v1/search`. PostgreSQL (the `french` configuration with
//! `unaccent`, title weighed A and text B, `ts_rank`) and SQLite FTS5
//! (`unicode61 remove_diacritics 2`, `bm25` with the title weighed 5) get
//! the same titles and the same text (coffre's own HTML extraction), each
//! in two ways of reading a query: every word required (the usual
//! `websearch_to_tsquery`, FTS5's implicit AND) and any word (OR).
//!
//! Run with `make bench`; the figures replace the relevance section of
//! BENCHMARKS.md.

#[path = "support/cli.rs"]
mod cli;
#[path = "support/pg_cluster.rs"]
mod pg_cluster;
#[path = "support/report.rs"]
mod report;
#[path = "support/server.rs"]
mod server;

use coffre::extract::{ExtractOptions, extract};
use pg_cluster::Postgres;
use server::{Served, fresh_archive, multipart};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

const CORPUS_DIRS: &[&str] = &["/usr/share/doc/aptitude/html/fr", "/usr/share/doc/debian/FAQ/fr"];
const QUERIES: &str = include_str!("relevance/queries-fr.tsv");
const PG_PORT: &str = "55434";
/// How deep each engine's answer is read.
const DEPTH: usize = 10;

/// A query and the documents that answer it.
struct Judged {
    query: String,
    expected: Vec<String>,
    form: String,
    /// Whether the query belongs to the set written after the engine was
    /// tuned on the first (a `# set: held out` line opens it).
    held_out: bool,
}

fn judged() -> Vec<Judged> {
    let mut held_out = false;
    let mut judged = Vec::new();
    for line in QUERIES.lines() {
        if line.trim() == "# set: held out" {
            held_out = true;
        }
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let mut cols = line.split('\t');
        let query = cols.next().unwrap_or_default().to_owned();
        let expected = cols.next().unwrap_or_default().split(' ').map(str::to_owned).collect();
        let form = cols.next().unwrap_or_default().to_owned();
        judged.push(Judged {
            query,
            expected,
            form,
            held_out,
        });
    }
    judged
}

/// A page of the corpus: its file name, HTML title, text and bytes.
struct Page {
    name: String,
    title: String,
    text: String,
    bytes: Vec<u8>,
}

fn corpus() -> Vec<Page> {
    let title_re = regex::Regex::new(r"(?is)<title[^>]*>(.*?)</title>").expect("regex");
    let mut pages = Vec::new();
    for dir in CORPUS_DIRS {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{dir}: {e} (run `make deps`, which installs the corpus)"))
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "html"))
            .collect();
        paths.sort();
        for path in paths {
            let bytes = std::fs::read(&path).expect("read a page");
            let html = String::from_utf8_lossy(&bytes);
            let title = title_re
                .captures(&html)
                .map(|c| c[1].split_whitespace().collect::<Vec<_>>().join(" "))
                .unwrap_or_default()
                .replace("&#160;", " ")
                .replace("&nbsp;", " ");
            let text = extract("text/html", &mut &bytes[..], ExtractOptions { ocr: false }).text;
            let name = path.file_name().expect("file name").to_string_lossy().into_owned();
            pages.push(Page {
                name,
                title,
                text,
                bytes,
            });
        }
    }
    pages
}

/// An engine's answers: for each query, the names of the documents it
/// ranks first, best first.
type Answers = Vec<Vec<String>>;

fn coffre_answers(root: &Path, pages: &[Page], queries: &[Judged]) -> Answers {
    let (data, token) = fresh_archive(root, "relevance");
    let server = Served::start(&data);
    let agent = ureq::AgentBuilder::new().build();
    let auth = format!("Bearer {token}");
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    for page in pages {
        let metadata = serde_json::json!({"node": "ADM-ART", "date": "2024-03-15", "title": page.title}).to_string();
        let body = multipart(&metadata, &page.bytes, &page.name);
        let answer = agent
            .post(&format!("{}/api/v1/records", server.base))
            .set("Authorization", &auth)
            .set("Content-Type", "multipart/form-data; boundary=bench-boundary")
            .send_bytes(&body)
            .expect("deposit");
        let record: serde_json::Value = serde_json::from_str(&answer.into_string().expect("answer")).expect("json");
        let reference = record["reference"].as_str().expect("reference").to_owned();
        names.insert(reference, page.name.clone());
    }
    let search = |q: &str, limit: usize| -> serde_json::Value {
        let answer = agent
            .get(&format!("{}/api/v1/search", server.base))
            .query("q", q)
            .query("limit", &limit.to_string())
            .set("Authorization", &auth)
            .call()
            .unwrap_or_else(|e| panic!("search {q:?}: {e}"));
        serde_json::from_str(&answer.into_string().expect("answer")).expect("json")
    };
    // Deposits are searchable once the index has caught up.
    for _ in 0..600 {
        if search("", 1)["total"].as_u64() == Some(pages.len() as u64) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    queries
        .iter()
        .map(|j| {
            search(&j.query, DEPTH)["hits"]
                .as_array()
                .map(|hits| {
                    hits.iter()
                        .filter_map(|h| h["reference"].as_str())
                        .filter_map(|r| names.get(r).cloned())
                        .collect()
                })
                .unwrap_or_default()
        })
        .collect()
}

/// PostgreSQL with `french` + `unaccent`: every word required
/// (`websearch_to_tsquery`) or any word (its terms joined by `|`).
fn postgres_answers(pg: &Postgres, pages: &[Page], queries: &[Judged]) -> Option<(Answers, Answers)> {
    let mut client = pg.client()?;
    client
        .batch_execute(
            "CREATE EXTENSION IF NOT EXISTS unaccent;
             DROP TEXT SEARCH CONFIGURATION IF EXISTS fr_unaccent;
             CREATE TEXT SEARCH CONFIGURATION fr_unaccent (COPY = french);
             ALTER TEXT SEARCH CONFIGURATION fr_unaccent
               ALTER MAPPING FOR hword, hword_part, word WITH unaccent, french_stem;
             DROP TABLE IF EXISTS pages;
             CREATE TABLE pages (name text, title text, body text,
               tsv tsvector GENERATED ALWAYS AS (
                 setweight(to_tsvector('fr_unaccent', title), 'A') ||
                 setweight(to_tsvector('fr_unaccent', body), 'B')) STORED);",
        )
        .ok()?;
    for page in pages {
        client
            .execute(
                "INSERT INTO pages (name, title, body) VALUES ($1, $2, $3)",
                &[&page.name, &page.title, &page.text],
            )
            .ok()?;
    }
    client
        .batch_execute("CREATE INDEX pages_tsv ON pages USING gin (tsv); ANALYZE pages;")
        .ok()?;
    let all = client
        .prepare(
            "SELECT name FROM pages, websearch_to_tsquery('fr_unaccent', $1) q
             WHERE tsv @@ q ORDER BY ts_rank(tsv, q) DESC, name LIMIT 10",
        )
        .ok()?;
    let any = client
        .prepare(
            "SELECT name FROM pages,
               (SELECT replace(websearch_to_tsquery('fr_unaccent', $1)::text, ' & ', ' | ')::tsquery AS q) w
             WHERE tsv @@ w.q ORDER BY ts_rank(tsv, w.q) DESC, name LIMIT 10",
        )
        .ok()?;
    let mut answers = |statement: &postgres::Statement| -> Option<Answers> {
        queries
            .iter()
            .map(|j| {
                let rows = client.query(statement, &[&j.query]).ok()?;
                Some(rows.iter().map(|r| r.get::<_, String>(0)).collect())
            })
            .collect()
    };
    let every = answers(&all)?;
    let some = answers(&any)?;
    Some((every, some))
}

/// SQLite FTS5 through the `sqlite3` command: every word required, or any.
fn sqlite_answers(root: &Path, pages: &[Page], queries: &[Judged]) -> Option<(Answers, Answers)> {
    let quote = |s: &str| s.replace('\'', "''");
    let word = regex::Regex::new(r"[\p{L}\p{N}]+").expect("regex");
    let mut script = String::from(
        "CREATE VIRTUAL TABLE pages USING fts5(name UNINDEXED, title, body, \
         tokenize = 'unicode61 remove_diacritics 2');\nBEGIN;\n",
    );
    for page in pages {
        let _ = writeln!(
            script,
            "INSERT INTO pages VALUES ('{}', '{}', '{}');",
            quote(&page.name),
            quote(&page.title),
            quote(&page.text)
        );
    }
    script.push_str("COMMIT;\n");
    for (joiner, tag) in [(" ", "all"), (" OR ", "any")] {
        for (i, j) in queries.iter().enumerate() {
            let words: Vec<String> = word
                .find_iter(&j.query)
                .map(|m| format!("\"{}\"", m.as_str()))
                .collect();
            if words.is_empty() {
                continue;
            }
            let _ = writeln!(
                script,
                "SELECT '{tag}', {i}, name FROM pages WHERE pages MATCH '{}' ORDER BY bm25(pages, 0.0, 5.0, 1.0), name LIMIT 10;",
                quote(&words.join(joiner))
            );
        }
    }
    let db = root.join("relevance.sqlite");
    let _ = std::fs::remove_file(&db);
    let mut child = Command::new("sqlite3")
        .arg(&db)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .ok()?;
    let mut stdin = child.stdin.take()?;
    let writer = std::thread::spawn(move || stdin.write_all(script.as_bytes()));
    let out = child.wait_with_output().ok()?;
    writer.join().ok()?.ok()?;
    let mut every: Answers = vec![Vec::new(); queries.len()];
    let mut some: Answers = vec![Vec::new(); queries.len()];
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let mut cols = line.splitn(3, '|');
        let (Some(tag), Some(i), Some(name)) = (cols.next(), cols.next(), cols.next()) else {
            continue;
        };
        let Ok(i) = i.parse::<usize>() else { continue };
        let target = if tag == "all" { &mut every } else { &mut some };
        if let Some(list) = target.get_mut(i) {
            list.push(name.to_owned());
        }
    }
    Some((every, some))
}

/// The rank (1-based) of the first expected document in an answer.
fn first_relevant(answer: &[String], expected: &[String]) -> Option<usize> {
    answer
        .iter()
        .take(DEPTH)
        .position(|n| expected.contains(n))
        .map(|p| p + 1)
}

/// success@5 and MRR@10 over a set of queries.
fn scores<'a>(answers: &Answers, queries: impl Iterator<Item = (usize, &'a Judged)>) -> (f64, f64, usize) {
    let (mut hits, mut rr, mut n) = (0usize, 0f64, 0usize);
    for (i, j) in queries {
        n += 1;
        if let Some(rank) = first_relevant(&answers[i], &j.expected) {
            rr += 1.0 / rank as f64;
            if rank <= 5 {
                hits += 1;
            }
        }
    }
    let n_f = n.max(1) as f64;
    (hits as f64 / n_f, rr / n_f, n)
}

fn main() {
    let root = std::env::temp_dir().join(format!("coffre-bench-relevance-{}", std::process::id()));
    std::fs::create_dir_all(&root).expect("bench folder");
    let queries = judged();
    let pages = corpus();
    let known: Vec<&str> = pages.iter().map(|p| p.name.as_str()).collect();
    for j in &queries {
        for e in &j.expected {
            assert!(known.contains(&e.as_str()), "{}: no page {e} in the corpus", j.query);
        }
    }
    let mut engines: Vec<(String, Answers)> = Vec::new();
    engines.push((
        "coffre (`GET /api/v1/search`, as shipped)".into(),
        coffre_answers(&root, &pages, &queries),
    ));
    // `COFFRE_RELEVANCE_ONLY=coffre`: coffre's answers and misses alone,
    // BENCHMARKS.md left as it is (to try a change quickly).
    let coffre_only = std::env::var("COFFRE_RELEVANCE_ONLY").is_ok_and(|v| v == "coffre");
    let pg = if coffre_only {
        None
    } else {
        Postgres::start(&root, PG_PORT)
    };
    match pg.as_ref().and_then(|pg| postgres_answers(pg, &pages, &queries)) {
        Some((every, some)) => {
            engines.push((
                "PostgreSQL `french` + `unaccent`, every word (`websearch_to_tsquery`)".into(),
                every,
            ));
            engines.push(("PostgreSQL `french` + `unaccent`, any word (OR)".into(), some));
        }
        None => eprintln!("PostgreSQL could not be started or queried; its rows stay out"),
    }
    drop(pg);
    match if coffre_only {
        None
    } else {
        sqlite_answers(&root, &pages, &queries)
    } {
        Some((every, some)) => {
            engines.push(("SQLite FTS5, every word".into(), every));
            engines.push(("SQLite FTS5, any word (OR)".into(), some));
        }
        None => eprintln!("sqlite3 could not be run; its rows stay out"),
    }
    let _ = std::fs::remove_dir_all(&root);

    let mut forms: Vec<&str> = queries.iter().map(|j| j.form.as_str()).collect();
    forms.sort();
    forms.dedup();
    let mut overall = String::new();
    let mut by_form = format!(
        "| engine | {} |\n|---|{}\n",
        forms.join(" | "),
        "---|".repeat(forms.len())
    );
    for (engine, answers) in &engines {
        let (s5, mrr, _) = scores(answers, queries.iter().enumerate());
        let (first_s5, first_mrr, _) = scores(answers, queries.iter().enumerate().filter(|(_, j)| !j.held_out));
        let (held_s5, held_mrr, _) = scores(answers, queries.iter().enumerate().filter(|(_, j)| j.held_out));
        let _ = writeln!(
            overall,
            "| {engine} | {:.0} % | {mrr:.3} | {:.0} % | {first_mrr:.3} | {:.0} % | {held_mrr:.3} |",
            s5 * 100.0,
            first_s5 * 100.0,
            held_s5 * 100.0
        );
        let cells: Vec<String> = forms
            .iter()
            .map(|f| {
                let (s5, _, n) = scores(answers, queries.iter().enumerate().filter(|(_, j)| j.form == *f));
                format!("{:.0} % of {n}", s5 * 100.0)
            })
            .collect();
        let _ = writeln!(by_form, "| {engine} | {} |", cells.join(" | "));
        eprintln!(
            "{engine}: success@5 {s5:.3}, MRR@10 {mrr:.3} (first set {first_s5:.3} {first_mrr:.3}, \
             held out {held_s5:.3} {held_mrr:.3}); not in the top 5:"
        );
        for (i, j) in queries.iter().enumerate() {
            let rank = first_relevant(&answers[i], &j.expected);
            if coffre_only && rank.is_some_and(|r| (2..=5).contains(&r)) {
                eprintln!(
                    "  (ranked {}) {:?}: {:?}",
                    rank.unwrap_or(0),
                    j.query,
                    &answers[i][..answers[i].len().min(5)]
                );
            }
            if rank.is_none_or(|r| r > 5) {
                eprintln!(
                    "  {}{:?} (expected {:?}): {:?}",
                    if j.held_out { "[held out] " } else { "" },
                    j.query,
                    j.expected,
                    &answers[i][..answers[i].len().min(5)]
                );
            }
        }
    }
    if coffre_only {
        return;
    }
    let first = queries.iter().filter(|j| !j.held_out).count();
    let section = format!(
        "<!-- relevance:begin -->\n\
         Command: `make bench` (`cargo bench --bench relevance`). Date: {date}.\n\n\
         {pages} French HTML pages nobody on the project wrote (the manuals of Debian's `aptitude-doc-fr` and \
         `debian-faq-fr`) and {n} judged queries (`benches/relevance/queries-fr.tsv`, written before any engine ran \
         on them: other inflections, no accents, capitals, elisions, questions, typos). coffre is the shipped server: \
         every page deposited over HTTP with its HTML title as title, every query through `GET /api/v1/search`. \
         PostgreSQL {pg} and SQLite {sqlite} get the same titles and text (coffre's HTML extraction), the title \
         weighed above the text. success@5: the share of queries with an expected document in the first five; \
         MRR@10: the mean of 1/rank of the first expected document in the first ten (0 when absent).\n\n\
         The queries come in two sets. The first {first} were written on 2026-11-29, and coffre's search was \
         changed after reading its misses on them. The other {held} were written on 2026-12-05 before the \
         changes of that day and run on no engine before (the held-out set): on them, no engine was tuned.\n\n\
         | engine | success@5 | MRR@10 | first set: success@5 | MRR@10 | held out: success@5 | MRR@10 |\n\
         |---|---|---|---|---|---|---|\n{overall}\n\
         success@5 by form of query:\n\n{by_form}\
         <!-- relevance:end -->",
        date = chrono::Utc::now().format("%Y-%m-%d"),
        pages = pages.len(),
        n = queries.len(),
        held = queries.len() - first,
        pg = version_of("psql", "psql (PostgreSQL) "),
        sqlite = version_of("sqlite3", ""),
    );
    report::write_section("relevance", "Relevance", &section);
}

/// The first word of a tool's `--version` answer, after `prefix`.
fn version_of(tool: &str, prefix: &str) -> String {
    Command::new(tool)
        .arg("--version")
        .output()
        .ok()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .trim()
                .trim_start_matches(prefix)
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned()
        })
        .unwrap_or_default()
}
