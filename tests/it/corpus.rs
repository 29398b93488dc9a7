//! French text nobody on the project wrote: every file of two French
//! manuals that Debian ships (`aptitude-doc-fr`'s HTML manual and
//! `debian-faq-fr`'s HTML and text FAQ, installed by `make deps`) is
//! deposited over HTTP, and each document with text is then found by a
//! phrase of its own. A deposit refused with a 5xx (as a text starting
//! `La règle` once was) fails the test. Then the judged queries of
//! `benches/relevance/queries-fr.tsv` (the relevance benchmark's) must find
//! their document in the first five about as often as they do today.

use crate::common::*;
use serde_json::json;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The manuals' folders, deposited file by file.
const CORPUS_DIRS: &[&str] = &["/usr/share/doc/aptitude/html/fr", "/usr/share/doc/debian/FAQ/fr"];
/// The judged queries: query, expected file names, form.
const JUDGED: &str = include_str!("../../benches/relevance/queries-fr.tsv");
/// The share of judged queries with an expected document in the first
/// five below which the test fails (measured: 65 of 68; see BENCHMARKS.md).
const SUCCESS_AT_5_FLOOR: f64 = 0.9;

/// Gzipped text files, deposited decompressed.
const CORPUS_GZ: &[&str] = &["/usr/share/doc/debian/FAQ/debian-faq.fr.txt.gz"];

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e} (run `make deps`, which installs the corpus)", dir.display()))
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// The words a person reads in a document: tags, scripts and styles
/// removed, the few entities these manuals use decoded; words are runs of
/// letters or digits (apostrophes split them, as elisions do).
fn words_of(bytes: &[u8], html: bool) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes).into_owned();
    let text = if html {
        let no_blocks = regex::Regex::new(r"(?is)<(script|style|head)\b.*?</(script|style|head)>").unwrap();
        let no_tags = regex::Regex::new(r"(?s)<[^>]*>").unwrap();
        let text = no_blocks.replace_all(&text, " ");
        let text = no_tags.replace_all(&text, " ");
        text.replace("&nbsp;", " ")
            .replace("&#160;", " ")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&")
            .replace("&quot;", "\"")
    } else {
        text
    };
    // A word touching an entity left undecoded, or a sign (`#2014`), is
    // not one to look up: it stays as a blank that no phrase spans.
    let word = regex::Regex::new(r"[&#;]?[\p{L}\p{N}]+[&#;]?").unwrap();
    word.find_iter(&text)
        .map(|m| m.as_str())
        .map(|w| {
            if w.contains(['&', '#', ';']) {
                String::new()
            } else {
                w.to_lowercase()
            }
        })
        .collect()
}

/// For each document, a run of four words (each of three letters or more)
/// that stands in no other document: the phrase it is looked up by.
fn own_phrases(docs: &BTreeMap<String, Vec<String>>) -> BTreeMap<String, String> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for words in docs.values() {
        let mut here: Vec<String> = words.windows(4).map(|w| w.join(" ")).collect();
        here.sort();
        here.dedup();
        for phrase in here {
            *seen.entry(phrase).or_default() += 1;
        }
    }
    let mut out = BTreeMap::new();
    for (name, words) in docs {
        let own = words
            .windows(4)
            .filter(|w| w.iter().all(|x| x.chars().count() >= 3))
            .map(|w| w.join(" "))
            .find(|p| seen.get(p) == Some(&1));
        if let Some(phrase) = own {
            out.insert(name.clone(), phrase);
        }
    }
    out
}

#[test]
fn every_file_of_a_french_manual_is_deposited_and_each_text_found_by_its_own_phrase() {
    let mut files = Vec::new();
    for dir in CORPUS_DIRS {
        files_under(Path::new(dir), &mut files);
    }
    let mut contents: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|p| {
            let name = p.to_string_lossy().into_owned();
            (name, std::fs::read(p).expect("read a corpus file"))
        })
        .collect();
    for gz in CORPUS_GZ {
        let out = std::process::Command::new("gzip")
            .args(["-dc", gz])
            .output()
            .expect("gzip");
        assert!(out.status.success(), "{gz}: run `make deps`");
        contents.push((gz.trim_end_matches(".gz").to_owned(), out.stdout));
    }
    assert!(contents.len() >= 100, "a corpus of {} files", contents.len());

    let Fresh { tmp: _tmp, data, token } = fresh_archive();
    let server = Server::start(&data, &[]);
    let agent = new_token(&server, &token, "agent", "guichet");
    let mut references: BTreeMap<String, String> = BTreeMap::new();
    let title_re = regex::Regex::new(r"(?is)<title[^>]*>(.*?)</title>").unwrap();
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    for (name, bytes) in &contents {
        let filename = Path::new(name).file_name().unwrap().to_string_lossy().into_owned();
        // A page's title, as the agent who files it would type it.
        let mut metadata = json!({"node": "ADM-ART", "date": "2024-03-15"});
        if let Some(title) = title_re.captures(&String::from_utf8_lossy(bytes)) {
            let title = title[1]
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .replace("&#160;", " ");
            if !title.is_empty() {
                metadata["title"] = json!(title);
            }
        }
        let answer = deposit(&server, &agent, bytes, &filename, &metadata).expect("deposit");
        assert_eq!(
            answer.status,
            201,
            "{name} was refused: {}",
            String::from_utf8_lossy(&answer.body)
        );
        let reference = answer.json()["reference"].as_str().unwrap().to_owned();
        if name.ends_with(".html") {
            names.insert(reference.clone(), filename.clone());
        }
        references.insert(name.clone(), reference);
    }

    // Every document with text, by a phrase no other document holds.
    let docs: BTreeMap<String, Vec<String>> = contents
        .iter()
        .filter(|(name, _)| name.ends_with(".html") || name.ends_with(".txt"))
        .map(|(name, bytes)| (name.clone(), words_of(bytes, name.ends_with(".html"))))
        .collect();
    let phrases = own_phrases(&docs);
    assert!(
        phrases.len() * 10 >= docs.len() * 8,
        "only {} of {} documents have a phrase of their own",
        phrases.len(),
        docs.len()
    );
    let total = contents.len() as u64;
    for _ in 0..600 {
        let all = get(&server.url("/api/v1/search?q=&limit=1"), &agent).json();
        if all["total"].as_u64() == Some(total) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut missed = Vec::new();
    for (name, phrase) in &phrases {
        let q = format!("\"{phrase}\"");
        let url = server.url(&format!("/api/v1/search?limit=10&q={}", url_encode(&q)));
        let answer = get(&url, &agent);
        assert_eq!(answer.status, 200, "{q}: {}", String::from_utf8_lossy(&answer.body));
        if !hit_refs(&answer.json()).contains(&references[name]) {
            missed.push(format!("{name}: {q}"));
        }
    }
    assert!(
        missed.is_empty(),
        "not found by their own phrase:\n{}",
        missed.join("\n")
    );

    // The judged queries, as people type them.
    let mut found = 0;
    let mut report = Vec::new();
    let judged: Vec<&str> = JUDGED
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    for line in &judged {
        let mut cols = line.split('\t');
        let (query, expected) = (cols.next().unwrap(), cols.next().unwrap());
        let url = server.url(&format!("/api/v1/search?limit=5&q={}", url_encode(query)));
        let answer = get(&url, &agent);
        assert_eq!(answer.status, 200, "{query}: {}", String::from_utf8_lossy(&answer.body));
        let top: Vec<String> = answer.json()["hits"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|h| names.get(h["reference"].as_str()?).cloned())
            .collect();
        if top.iter().any(|n| expected.split(' ').any(|e| e == n)) {
            found += 1;
        } else {
            report.push(format!("{query} (expected {expected}): {top:?}"));
        }
    }
    let share = found as f64 / judged.len() as f64;
    assert!(
        share >= SUCCESS_AT_5_FLOOR,
        "{found} of {} judged queries find their document in the first five; missed:\n{}",
        judged.len(),
        report.join("\n")
    );
}
