//! The web pages as agents meet them: the search results page (`GET /?q=`)
//! and a record's page (`GET /documents/{ref}`), rendered by the server,
//! from 8 concurrent clients signed in with a session, on an archive of
//! 100,000 records deposited through the API; next to them, in the same
//! run, the JSON API for the same searches and the same records, so that
//! what rendering costs is the difference. The figures replace the section
//! `pages` of BENCHMARKS.md.
//!
//! Size: `COFFRE_BENCH_PAGES_RECORDS` (default 100000). The archive is kept
//! in `COFFRE_BENCH_HTTP_DATA/<size>` when that folder is given (shared
//! with the search-over-HTTP benchmark), filled under `eatmydata`.

#[path = "support/cli.rs"]
mod cli;
#[path = "support/corpus.rs"]
mod corpus;
#[path = "support/load.rs"]
mod load;
#[path = "support/report.rs"]
mod report;
#[path = "support/server.rs"]
mod server;

use chrono::Utc;
use corpus::CASES;
use load::{CLIENTS, REQUESTS_PER_CLIENT, agent, clients, fill, ms, node_of, percentile, records_held, total_found};
use server::{Served, fresh_archive};
use std::fmt::Write as _;
use std::time::Duration;

/// The password of the benchmark's agent.
const PASSWORD: &str = "une phrase de passe de banc d'essai";

/// Signs `user` in through the sign-in form; returns the session cookie.
fn sign_in(base: &str, user: &str) -> String {
    let agent = ureq::AgentBuilder::new().redirects(0).build();
    let form = agent.get(&format!("{base}/connexion")).call().expect("sign-in page");
    let form_cookie = form
        .all("set-cookie")
        .into_iter()
        .find_map(|c| {
            c.split(';')
                .next()
                .filter(|c| c.starts_with("coffre_formulaire="))
                .map(str::to_owned)
        })
        .expect("the form's cookie");
    let html = form.into_string().expect("page");
    let token = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the form's token")
        .to_owned();
    // A 303 is not an error here: ureq does not follow it (redirects(0)).
    let answer = match agent
        .post(&format!("{base}/connexion"))
        .set("Cookie", &form_cookie)
        .send_form(&[("user", user), ("password", PASSWORD), ("csrf", &token), ("suite", "/")])
    {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("sign in: {e}"),
    };
    assert_eq!(answer.status(), 303, "signed in");
    answer
        .all("set-cookie")
        .into_iter()
        .find_map(|c| {
            c.split(';')
                .next()
                .filter(|c| c.starts_with("coffre_session="))
                .map(str::to_owned)
        })
        .expect("the session cookie")
}

/// The query mix as `(page path, API path)`.
fn searches() -> Vec<(String, String)> {
    CASES
        .iter()
        .map(|c| {
            let mut page = vec![("q", c.text.to_owned())];
            let mut api = vec![("q", c.text.to_owned()), ("limit", "20".to_owned())];
            if let Some(node) = c.node.map(node_of) {
                page.push(("noeud", node.to_owned()));
                api.push(("node", node.to_owned()));
            }
            for (name, fr, value) in [("from", "du", c.from), ("to", "au", c.to)] {
                if let Some(v) = value {
                    api.push((name, v.to_owned()));
                    let french = chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d")
                        .map(|d| d.format("%d/%m/%Y").to_string())
                        .unwrap_or_default();
                    page.push((fr, french));
                }
            }
            (
                format!("/?{}", serde_urlencoded_pairs(&page)),
                format!("/api/v1/search?{}", serde_urlencoded_pairs(&api)),
            )
        })
        .collect()
}

fn serde_urlencoded_pairs(pairs: &[(&str, String)]) -> String {
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

/// Latencies and throughput of `CLIENTS` clients getting `paths` in turn
/// with `header`.
fn measure(base: &str, paths: &[String], header: (&str, &str)) -> (Vec<Duration>, f64) {
    let warm = agent();
    for path in paths {
        let _ = warm.get(&format!("{base}{path}")).set(header.0, header.1).call();
    }
    clients(|| {
        let agent = agent();
        move |i: usize| {
            let answer = agent
                .get(&format!("{base}{}", paths[i % paths.len()]))
                .set(header.0, header.1)
                .call()
                .expect("request");
            assert_eq!(answer.status(), 200);
            std::hint::black_box(answer.into_string().expect("body"));
        }
    })
}

fn main() {
    let n: u64 = std::env::var("COFFRE_BENCH_PAGES_RECORDS")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100_000);
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-work");
    std::fs::create_dir_all(&root).expect("bench folder");
    let kept = std::env::var_os("COFFRE_BENCH_HTTP_DATA").map(std::path::PathBuf::from);
    let (data, token) = match &kept {
        Some(folder) if folder.join(n.to_string()).join("catalog").exists() => {
            let dir = folder.join(n.to_string());
            let token = std::fs::read_to_string(dir.with_extension("token")).expect("the kept archive's token");
            (dir, token.trim().to_owned())
        }
        Some(folder) => {
            std::fs::create_dir_all(folder).expect("folder");
            let (data, token) = fresh_archive(folder, &n.to_string());
            std::fs::write(data.with_extension("token"), &token).expect("keep the token");
            (data, token)
        }
        None => fresh_archive(&root, "pages"),
    };
    let wrapper = std::process::Command::new("eatmydata")
        .arg("true")
        .status()
        .is_ok_and(|s| s.success())
        .then_some("eatmydata");
    {
        let loading = Served::start_under(&data, wrapper);
        let held = records_held(&agent(), &loading.base, &token);
        if held < n {
            let took = fill(&loading.base, &token, held, n);
            eprintln!("{n}: filled in {took:?}");
        }
    }
    let server = Served::start(&data);
    let base = server.base.clone();
    let auth = format!("Bearer {token}");
    // The benchmark's agent, signed in with a session like a person.
    let _ = agent()
        .post(&format!("{base}/api/v1/accounts"))
        .set("Authorization", &auth)
        .set("Content-Type", "application/json")
        .send_string(
            &serde_json::json!({"user": "banc", "display_name": "Banc d'essai", "role": "agent", "password": PASSWORD})
                .to_string(),
        );
    let cookie = sign_in(&base, "banc");
    while total_found(&agent(), &base, &token, "") < n {
        std::thread::sleep(Duration::from_millis(200));
    }
    let (page_searches, api_searches): (Vec<String>, Vec<String>) = searches().into_iter().unzip();
    // Records to open: the first hits of the mix.
    let mut references = Vec::new();
    for path in &api_searches {
        let answer: serde_json::Value = serde_json::from_str(
            &agent()
                .get(&format!("{base}{path}"))
                .set("Authorization", &auth)
                .call()
                .expect("search")
                .into_string()
                .expect("body"),
        )
        .expect("json");
        if let Some(r) = answer["hits"][0]["reference"].as_str() {
            references.push(r.to_owned());
        }
    }
    let page_records: Vec<String> = references.iter().map(|r| format!("/documents/{r}")).collect();
    let api_records: Vec<String> = references.iter().map(|r| format!("/api/v1/records/{r}")).collect();
    let session = ("Cookie", cookie.as_str());
    let bearer = ("Authorization", auth.as_str());
    let results = [
        (
            "search results page, `GET /?q=`",
            measure(&base, &page_searches, session),
        ),
        (
            "the same searches, `GET /api/v1/search`",
            measure(&base, &api_searches, bearer),
        ),
        (
            "record page, `GET /documents/{ref}`",
            measure(&base, &page_records, session),
        ),
        (
            "the same records, `GET /api/v1/records/{ref}`",
            measure(&base, &api_records, bearer),
        ),
    ];
    drop(server);
    if kept.is_none() {
        let _ = std::fs::remove_dir_all(&data);
    }
    let mut rows = String::new();
    for (what, (lat, rate)) in &results {
        eprintln!(
            "{what}: p50 {:?} p99 {:?} ({rate:.0}/s)",
            percentile(lat, 0.5),
            percentile(lat, 0.99)
        );
        let _ = writeln!(
            rows,
            "| {n} | {what} | {:.2} ms | {:.2} ms | {rate:.0} |",
            ms(percentile(lat, 0.5)),
            ms(percentile(lat, 0.99))
        );
    }
    let p50 = |i: usize| ms(percentile(&results[i].1.0, 0.5));
    let section = format!(
        "<!-- pages:begin -->\n\
         Command: `make bench` (`cargo bench --bench pages`). Date: {date}. Same machine as above.\n\n\
         The synthetic corpus, {n} records deposited through the API. {CLIENTS} clients, each with the session of \
         an agent signed in through the sign-in form, make {REQUESTS_PER_CLIENT} requests in turn: the search \
         results page over the query mix ({cases} queries: the page with its extracts, node labels, facets (the plan's \
         tree, types, years, services) and pages), and a record's page (the first hit of each query: description, fields, retention \
         in words, versions, history, a preview of plain text). Beside each, in the same run and from the same \
         clients with a token, the JSON API for the same searches and records.\n\n\
         | records | what | p50 | p99 | requests/s |\n|---|---|---|---|---|\n{rows}\n\
         Rendering a page costs {search:+.2} ms at p50 over the search's JSON, and {record:+.2} ms over the record's.\n\
         <!-- pages:end -->",
        date = Utc::now().format("%Y-%m-%d"),
        cases = CASES.len(),
        search = p50(0) - p50(1),
        record = p50(2) - p50(3),
    );
    report::write_section("pages", "Web pages", &section);
}
