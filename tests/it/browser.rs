//! The web pages in a real browser: Debian's chromium, headless, driven
//! over WebDriver by its chromedriver, against a real server. Each page of
//! the journeys is checked with axe-core (no violation of impact serious
//! or critical) and photographed at 1280×800 and 390×844 into
//! `target/ui-screens/` for review.
//!
//! `make test` installs chromium, chromium-driver and axe-core (`make
//! deps uitools`); without them these tests fail and say so.

use crate::classify::{cii, factur_x};
use crate::common::*;
use crate::formats::pdf_with_text;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

fn axe_source() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/ui-tools/node_modules/axe-core/axe.min.js");
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("axe-core is needed at {} (run `make uitools`): {e}", path.display()))
}

fn screens_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/ui-screens");
    std::fs::create_dir_all(&dir).expect("screens folder");
    dir
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A chromedriver and one headless chromium session, driven synchronously.
struct Browser {
    driver: Child,
    client: Option<Client>,
    runtime: tokio::runtime::Runtime,
    _profile: tempfile::TempDir,
    axe: String,
}

/// Whether pages may run scripts.
#[derive(Clone, Copy, PartialEq)]
enum Scripts {
    On,
    Off,
}

impl Browser {
    fn start(scripts: Scripts) -> Browser {
        for tool in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                Path::new(tool).exists(),
                "{tool} is missing: the browser tests need Debian's chromium and chromium-driver (run `make deps`)"
            );
        }
        let port = free_port();
        let mut driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let profile = tempfile::tempdir().expect("a profile folder");
        let mut options = json!({
            "binary": CHROMIUM,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--disable-quic", "--lang=fr-FR", "--window-size=1280,800",
                format!("--user-data-dir={}", profile.path().display()),
            ],
        });
        if scripts == Scripts::Off {
            options["prefs"] = json!({"profile.managed_default_content_settings.javascript": 2});
        }
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("goog:chromeOptions".into(), options);
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            let attempt = runtime.block_on(
                ClientBuilder::new(connector)
                    .capabilities(capabilities.clone())
                    .connect(&url),
            );
            match attempt {
                Ok(client) => break client,
                Err(e) if Instant::now() > deadline => {
                    let _ = driver.kill();
                    panic!("chromium did not start under chromedriver: {e}");
                }
                Err(_) => std::thread::sleep(Duration::from_millis(200)),
            }
        };
        Browser {
            driver,
            client: Some(client),
            runtime,
            _profile: profile,
            axe: axe_source(),
        }
    }

    fn client(&self) -> &Client {
        self.client.as_ref().expect("a session")
    }

    fn goto(&self, url: &str) {
        self.runtime.block_on(self.client().goto(url)).expect("navigate");
    }

    fn url(&self) -> String {
        self.runtime
            .block_on(self.client().current_url())
            .expect("current url")
            .to_string()
    }

    fn fill(&self, css: &str, text: &str) {
        self.runtime.block_on(async {
            let field = self.client().find(Locator::Css(css)).await.expect(css);
            field.clear().await.expect("clear");
            field.send_keys(text).await.expect("type");
        });
    }

    /// Sets a field's value at once (a long text would take long typed).
    fn set_value(&self, css: &str, text: &str) {
        self.runtime.block_on(async {
            self.client()
                .execute(
                    "document.querySelector(arguments[0]).value = arguments[1];",
                    vec![json!(css), json!(text)],
                )
                .await
                .expect("set the value");
        });
    }

    fn click(&self, css: &str) {
        self.runtime.block_on(async {
            self.client()
                .find(Locator::Css(css))
                .await
                .unwrap_or_else(|e| panic!("{css}: {e}"))
                .click()
                .await
                .expect("click");
        });
    }

    fn attr(&self, css: &str, name: &str) -> String {
        self.runtime.block_on(async {
            self.client()
                .find(Locator::Css(css))
                .await
                .unwrap_or_else(|e| panic!("{css}: {e}"))
                .attr(name)
                .await
                .expect("attribute")
                .unwrap_or_default()
        })
    }

    /// The text of the whole page, as a person reads it (asked again for a
    /// moment while a page that reloads itself is being replaced).
    fn text(&self) -> String {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let read = self.runtime.block_on(async {
                match self.client().find(Locator::Css("body")).await {
                    Ok(body) => body.text().await.map_err(|e| e.to_string()),
                    Err(e) => Err(e.to_string()),
                }
            });
            match read {
                Ok(text) => return text,
                Err(e) if Instant::now() > deadline => panic!("the page's text: {e}"),
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    /// The page's HTML as the browser holds it.
    fn source(&self) -> String {
        self.runtime.block_on(self.client().source()).expect("source")
    }

    /// Clicks what navigates, then waits until the address holds `expected`
    /// and the new page has loaded.
    fn follow(&self, css: &str, expected: &str) {
        self.click(css);
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.url().contains(expected) {
            assert!(
                Instant::now() < deadline,
                "after clicking {css}: still at {}",
                self.url()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        self.runtime
            .block_on(self.client().wait().for_element(Locator::Css("footer.pied")))
            .expect("the page loads");
    }

    /// Chooses the option of a `<select>` with this value.
    fn choose(&self, css: &str, value: &str) {
        self.runtime.block_on(async {
            self.client()
                .find(Locator::Css(css))
                .await
                .unwrap_or_else(|e| panic!("{css}: {e}"))
                .select_by_value(value)
                .await
                .unwrap_or_else(|e| panic!("{css} = {value}: {e}"));
        });
    }

    /// Gives files to a file field, as a person choosing them would.
    fn attach(&self, css: &str, files: &[&Path]) {
        let paths: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
        self.runtime.block_on(async {
            self.client()
                .find(Locator::Css(css))
                .await
                .unwrap_or_else(|e| panic!("{css}: {e}"))
                .send_keys(&paths.join("\n"))
                .await
                .expect("attach files");
        });
    }

    /// What a script run in the page returns.
    fn script(&self, js: &str) -> Value {
        self.runtime
            .block_on(self.client().execute(js, vec![]))
            .unwrap_or_else(|e| panic!("{js}: {e}"))
    }

    /// The value of a form field.
    fn value(&self, css: &str) -> String {
        self.runtime.block_on(async {
            self.client()
                .find(Locator::Css(css))
                .await
                .unwrap_or_else(|e| panic!("{css}: {e}"))
                .prop("value")
                .await
                .expect("value")
                .unwrap_or_default()
        })
    }

    fn count(&self, css: &str) -> usize {
        self.runtime
            .block_on(self.client().find_all(Locator::Css(css)))
            .expect("find")
            .len()
    }

    /// The session cookie the browser holds, as a `Cookie:` header.
    fn cookie_header(&self) -> String {
        let cookies = self.runtime.block_on(self.client().get_all_cookies()).expect("cookies");
        cookies
            .iter()
            .map(|c| format!("{}={}", c.name(), c.value()))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Checks the page with axe-core against WCAG 2.1 A and AA; fails on any
    /// violation of impact serious or critical.
    fn check_accessibility(&self, page: &str) {
        let script = r#"
            const done = arguments[arguments.length - 1];
            axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})
              .then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                      nodes: v.nodes.map(n => n.target.join(' '))}))))
              .catch(e => done([{id: 'axe-error', impact: 'critical', help: String(e), nodes: []}]));
        "#;
        let violations = self.runtime.block_on(async {
            self.client().execute(&self.axe, vec![]).await.expect("inject axe-core");
            self.client().execute_async(script, vec![]).await.expect("run axe-core")
        });
        let grave: Vec<&Value> = violations
            .as_array()
            .map(|v| {
                v.iter()
                    .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
                    .collect()
            })
            .unwrap_or_default();
        assert!(grave.is_empty(), "{page}: accessibility violations: {grave:#?}");
    }

    /// Photographs the page at a desktop's and a phone's size; at each,
    /// the page reflows into the window (WCAG 1.4.10: no scrolling
    /// sideways but inside a table's own scrolling region).
    fn photograph(&self, name: &str) {
        let dir = screens_dir();
        for (label, width, height) in [("1280x800", 1280, 800), ("390x844", 390, 844)] {
            let png = self.runtime.block_on(async {
                self.client().set_window_size(width, height).await.expect("resize");
                self.client().screenshot().await.expect("screenshot")
            });
            std::fs::write(dir.join(format!("{name}-{label}.png")), png).expect("write screenshot");
            let widths =
                self.script("return [document.documentElement.clientWidth, document.documentElement.scrollWidth];");
            assert!(
                widths[1].as_i64() <= widths[0].as_i64(),
                "{name} at {label}: the page is wider than the window (client, scroll widths: {widths})"
            );
        }
        self.runtime
            .block_on(self.client().set_window_size(1280, 800))
            .expect("resize back");
    }

    /// Checks and photographs the page the browser is on.
    fn review(&self, name: &str) {
        self.check_accessibility(name);
        self.photograph(name);
    }

    /// Signs in; the browser then shows where the form led (the search
    /// page, or the form again with its error).
    fn sign_in(&self, base: &str, user: &str, password: &str) {
        self.goto(&format!("{base}/connexion"));
        self.fill("#user", user);
        self.fill("#password", password);
        let before = self.source();
        self.click("form.formulaire button[type=submit]");
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.source() == before {
            assert!(Instant::now() < deadline, "the sign-in form led nowhere");
            std::thread::sleep(Duration::from_millis(50));
        }
        self.runtime
            .block_on(self.client().wait().for_element(Locator::Css("footer.pied")))
            .expect("the page loads");
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            let _ = self.runtime.block_on(client.close());
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

const AGENT_PASSWORD: &str = "une phrase de passe assez longue";

/// An archive with an agent's account, a PDF invoice from the bakery in
/// FIN-FAC, and a personnel file the agent may not read.
struct Scene {
    _fresh: Fresh,
    admin: String,
    server: Server,
    invoice: Vec<u8>,
    invoice_ref: String,
    hr_ref: String,
}

fn scene() -> Scene {
    let fresh = fresh_archive();
    let server = Server::start(&fresh.data, &[]);
    let admin = fresh.token.clone();
    let a = post_json(
        &server.url("/api/v1/accounts"),
        &admin,
        &json!({"user": "agnes", "display_name": "Agnès Martin", "role": "agent", "password": AGENT_PASSWORD}),
    );
    assert_eq!(a.status, 201, "{}", String::from_utf8_lossy(&a.body));
    let invoice = pdf_with_text(&[
        "Boulangerie du Centre - Facture F-2024-118",
        "Pains et viennoiseries pour la cantine scolaire",
        "Montant TTC : 1 200,00 EUR",
    ]);
    let meta = json!({"node": "FIN-FAC", "title": "Facture boulangerie du Centre", "date": "2024-03-15",
        "fields": {"fournisseur": "Boulangerie du Centre", "numero_facture": "F-2024-118", "montant_ttc": "1200.00"}});
    let a = deposit(&server, &admin, &invoice, "facture-boulangerie.pdf", &meta).expect("deposit");
    assert_eq!(a.status, 201, "{}", String::from_utf8_lossy(&a.body));
    let invoice_ref = a.json()["reference"].as_str().expect("reference").to_owned();
    let meta = json!({"node": "RH-DOS", "title": "Dossier de Jeanne Secrète", "date": "2024-02-01",
        "fields": {"matricule": "A1234", "birth_date": "1980-05-06"}});
    let a = deposit(
        &server,
        &admin,
        b"Dossier individuel: boulangerie syndicale, Jeanne Secrete",
        "dossier.txt",
        &meta,
    )
    .expect("deposit");
    assert_eq!(a.status, 201, "{}", String::from_utf8_lossy(&a.body));
    let hr_ref = a.json()["reference"].as_str().expect("reference").to_owned();
    wait_searchable(&server, &admin, "boulangerie", 2);
    Scene {
        admin,
        _fresh: fresh,
        server,
        invoice,
        invoice_ref,
        hr_ref,
    }
}

/// Opens an account for a person of `role` in the scene's archive.
fn open_account(scene: &Scene, user: &str, name: &str, role: &str, password: &str) {
    let a = post_json(
        &scene.server.url("/api/v1/accounts"),
        &scene.admin,
        &json!({"user": user, "display_name": name, "role": role, "password": password}),
    );
    assert_eq!(a.status, 201, "{}", String::from_utf8_lossy(&a.body));
}

/// Waits until `words` find `n` records (the indexer follows the journal).
fn wait_searchable(server: &Server, token: &str, words: &str, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let a = get(&server.url(&format!("/api/v1/search?q={}", url_encode(words))), token);
        if a.json()["total"].as_u64() == Some(n) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "not searchable: {}",
            String::from_utf8_lossy(&a.body)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A GET with the browser's cookies, answered without following redirects.
fn get_with_cookies(url: &str, cookies: &str) -> (u16, Vec<u8>, Option<String>) {
    let agent = ureq::AgentBuilder::new().redirects(0).build();
    let response = match agent.get(url).set("Cookie", cookies).call() {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("GET {url}: {e}"),
    };
    let status = response.status();
    let disposition = response.header("content-disposition").map(str::to_owned);
    let mut body = Vec::new();
    std::io::Read::read_to_end(&mut response.into_reader(), &mut body).expect("body");
    (status, body, disposition)
}

#[test]
fn an_agent_signs_in_searches_opens_a_record_downloads_it_and_signs_out() {
    let scene = scene();
    let base = scene.server.base.clone();
    let browser = Browser::start(Scripts::On);

    // Not signed in: the search page sends to the sign-in page.
    browser.goto(&format!("{base}/?q=boulangerie"));
    assert!(browser.url().contains("/connexion"), "{}", browser.url());
    browser.review("connexion");

    // A wrong password is refused, with the reason at the top of the form.
    browser.sign_in(&base, "agnes", "pas le bon mot de passe");
    assert!(
        browser.text().contains("identifiant ou mot de passe incorrect"),
        "{}",
        browser.text()
    );
    browser.review("connexion-refusee");

    // The right one lands on the search page, the person named in the banner.
    browser.sign_in(&base, "agnes", AGENT_PASSWORD);
    assert_eq!(browser.url(), format!("{base}/"));
    assert!(browser.text().contains("Agnès Martin"), "{}", browser.text());
    browser.review("recherche-vide");

    // Search, in the words an agent types.
    browser.fill("#q", "factures boulangerie");
    browser.follow("form.recherche button[type=submit]", "q=factures");
    assert!(
        browser.url().contains("q=factures+boulangerie"),
        "the query stays in the address: {}",
        browser.url()
    );
    let text = browser.text();
    assert!(text.contains("1 document trouvé"), "{text}");
    assert!(text.contains(&scene.invoice_ref), "{text}");
    assert!(text.contains("Factures"), "the node's label, not only its code: {text}");
    assert!(text.contains("15/03/2024"), "French dates: {text}");
    assert!(!text.contains(&scene.hr_ref) && !text.contains("Secrète"), "{text}");
    assert!(
        !text.contains("Dossiers individuels"),
        "no facet for a node the agent may not read: {text}"
    );
    assert!(
        browser.count(".extrait b") >= 1,
        "the match is highlighted in the extract: {}",
        browser.source()
    );
    assert!(text.contains("Type de document") && text.contains("Année"), "{text}");
    browser.review("recherche-resultats");
    browser.follow("a[href*='annee=2024']", "annee=2024");
    assert!(
        browser.text().contains("1 document trouvé"),
        "narrowed to 2024: {}",
        browser.text()
    );
    assert!(
        browser.url().contains("q=factures+boulangerie"),
        "the words stay: {}",
        browser.url()
    );
    browser.follow("a[href*='type=facture']", "type=facture");
    assert!(
        browser.text().contains("1 document trouvé"),
        "narrowed to invoices: {}",
        browser.text()
    );
    browser.review("recherche-affinee");

    // Open the record from the results.
    browser.follow(".hits h3 a", "/documents/");
    assert!(
        browser.url().ends_with(&format!("/documents/{}", scene.invoice_ref)),
        "{}",
        browser.url()
    );
    let text = browser.text();
    assert!(text.contains("Facture boulangerie du Centre"), "{text}");
    assert!(text.contains("à détruire le"), "retention in words: {text}");
    assert!(text.contains("héritée de") || text.contains("du nœud"), "{text}");
    assert!(text.contains("Boulangerie du Centre"), "the plan's fields: {text}");
    assert!(
        text.contains("admin (administrateur)"),
        "who deposited it, by name and role in French: {text}"
    );
    browser.review("document");

    // The download is the deposited bytes, to the byte.
    let href = browser.attr("a[download]", "href");
    let cookies = browser.cookie_header();
    let (status, body, disposition) = get_with_cookies(&format!("{base}{}", href.trim_start_matches(&base)), &cookies);
    assert_eq!(status, 200);
    assert_eq!(body, scene.invoice, "byte-identical content");
    assert!(disposition.unwrap_or_default().starts_with("attachment"));

    // The personnel file is out of reach: by search (above), by its page,
    // and by its download address.
    browser.goto(&format!("{base}/documents/{}", scene.hr_ref));
    let text = browser.text();
    assert!(text.contains("Document introuvable"), "{text}");
    assert!(!text.contains("Secrète"), "{text}");
    browser.review("document-introuvable");
    let (status, body, _) = get_with_cookies(&format!("{base}/documents/{}/contenu", scene.hr_ref), &cookies);
    assert_eq!(status, 404);
    assert!(!String::from_utf8_lossy(&body).contains("Secrète"));
    browser.goto(&format!("{base}/?q=Secrete"));
    assert!(browser.text().contains("Aucun document trouvé"), "{}", browser.text());

    // A form without its anti-forgery token changes nothing.
    let a = request(
        "POST",
        &format!("{base}/deconnexion"),
        "",
        &[("Cookie", &cookies)],
        Some(("application/x-www-form-urlencoded", b"csrf=forged")),
    )
    .expect("POST");
    assert_eq!(a.status, 403, "{}", String::from_utf8_lossy(&a.body));
    assert_eq!(
        get_with_cookies(&format!("{base}/"), &cookies).0,
        200,
        "still signed in"
    );

    // Sign out: the session is gone, in the browser and for its cookie.
    browser.goto(&format!("{base}/"));
    browser.follow(".personne button", "/connexion");
    assert!(browser.url().contains("/connexion"), "{}", browser.url());
    assert!(browser.text().contains("Vous êtes déconnecté"), "{}", browser.text());
    assert_eq!(
        get_with_cookies(&format!("{base}/"), &cookies).0,
        303,
        "the old cookie opens nothing"
    );
    browser.goto(&format!("{base}/"));
    assert!(browser.url().contains("/connexion"), "{}", browser.url());
}

#[test]
fn the_sign_in_form_refuses_a_post_without_its_token() {
    let scene = scene();
    let base = &scene.server.base;
    let body = format!("user=agnes&password={}&csrf=&suite=%2F", url_encode(AGENT_PASSWORD));
    let a = request(
        "POST",
        &format!("{base}/connexion"),
        "",
        &[],
        Some(("application/x-www-form-urlencoded", body.as_bytes())),
    )
    .expect("POST");
    assert_eq!(a.status, 403, "{}", String::from_utf8_lossy(&a.body));
    assert!(a.header("set-cookie").is_none_or(|c| !c.contains("coffre_session")));
    let text = String::from_utf8_lossy(&a.body);
    assert!(text.contains("lang=\"fr\""), "{text}");
}

#[test]
fn search_and_record_pages_work_without_javascript() {
    let scene = scene();
    let base = scene.server.base.clone();
    let browser = Browser::start(Scripts::Off);
    browser.sign_in(&base, "agnes", AGENT_PASSWORD);
    assert_eq!(browser.url(), format!("{base}/"));
    browser.fill("#q", "boulangerie");
    browser.follow("form.recherche button[type=submit]", "q=boulangerie");
    assert!(browser.text().contains(&scene.invoice_ref), "{}", browser.text());
    browser.follow(".hits h3 a", "/documents/");
    assert!(
        browser.text().contains("Facture boulangerie du Centre"),
        "{}",
        browser.text()
    );
    browser.photograph("document-sans-javascript");

    // An e-mail, which no browser shows: the page shows the text read
    // from it for search, and says so.
    let mail = "From: Mairie <accueil@mairie.example>\r\nTo: Finances <finances@mairie.example>\r\n\
        Subject: Relance de la boulangerie\r\nDate: Fri, 15 Mar 2024 10:00:00 +0100\r\n\
        Content-Type: text/plain; charset=utf-8\r\n\r\n\
        La boulangerie du Centre relance sa facture de viennoiseries pour la cantine.\r\n";
    let a = deposit(
        &scene.server,
        &scene.admin,
        mail.as_bytes(),
        "relance.eml",
        &json!({"node": "FIN-FAC", "title": "Relance boulangerie", "date": "2024-03-15"}),
    )
    .expect("deposit");
    assert_eq!(a.status, 201, "{}", String::from_utf8_lossy(&a.body));
    let mail_ref = a.json()["reference"].as_str().expect("reference").to_owned();
    wait_searchable(&scene.server, &scene.admin, "viennoiseries relance", 1);
    // (With scripts on, so that axe-core can look at the page.)
    let browser = Browser::start(Scripts::On);
    browser.sign_in(&base, "agnes", AGENT_PASSWORD);
    browser.goto(&format!("{base}/documents/{mail_ref}"));
    assert_eq!(browser.count("pre.apercu-texte"), 1, "{}", browser.text());
    let text = browser.text();
    assert!(text.contains("relance sa facture de viennoiseries"), "{text}");
    assert!(text.contains("sans sa mise en forme"), "{text}");
    browser.review("document-courriel");

    // The invoice again, as the e-mail's attachment, undated: its page says
    // the date read from its text, the probable duplicate (same supplier
    // and number as the scene's invoice) and the message it belongs to;
    // the message's page names its attachment.
    let attachment = "Boulangerie du Centre\nFacture F-2024-118 du 15/03/2024\n\
        Pains et viennoiseries pour la cantine scolaire.\nMontant TTC : 1 200,00 EUR";
    let a = deposit(
        &scene.server,
        &scene.admin,
        attachment.as_bytes(),
        "facture-jointe.txt",
        &json!({"node": "FIN-FAC", "title": "Facture jointe à la relance",
                "fields": {"fournisseur": "Boulangerie du Centre", "numero_facture": "F 2024 118"},
                "links": [{"kind": "attachment_of", "to": mail_ref}]}),
    )
    .expect("deposit");
    assert_eq!(a.status, 201, "{}", String::from_utf8_lossy(&a.body));
    let attachment_ref = a.json()["reference"].as_str().expect("reference").to_owned();
    browser.goto(&format!("{base}/documents/{attachment_ref}"));
    let text = browser.text();
    assert!(text.contains(&format!("Pièce jointe de {mail_ref}")), "{text}");
    assert!(
        text.contains("Doublon probable") && text.contains(&scene.invoice_ref),
        "{text}"
    );
    assert!(
        text.contains("15/03/2024") && text.contains("Lue dans le texte"),
        "{text}"
    );
    browser.review("document-piece-jointe");
    browser.goto(&format!("{base}/documents/{mail_ref}"));
    let text = browser.text();
    assert!(
        text.contains(&format!("A pour pièce jointe {attachment_ref}")),
        "{text}"
    );
}

/// Deposits files through the form, with or without a node; lands on the
/// review page.
fn upload(browser: &Browser, base: &str, node: Option<&str>, files: &[&Path]) {
    browser.goto(&format!("{base}/deposer"));
    if let Some(node) = node {
        // Found through the plan's search box, then picked in the tree.
        browser.fill("#classement", node);
        browser.follow("form.recherche-classement button[type=submit]", "classement=");
        assert_eq!(browser.count("input[name=noeud]"), 2, "{}", browser.text());
        browser.click(&format!("#noeud-{node}"));
    }
    browser.attach("#fichiers", files);
    browser.follow("form.depot button[type=submit]", "/deposer/");
}

/// The text of a downloaded PDF, read back by `pdftotext` (written as
/// `name` in `dir` first).
fn pdf_text(dir: &Path, name: &str, pdf: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, pdf).expect("write");
    let read = std::process::Command::new("pdftotext")
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils, installed by make deps)");
    assert!(read.status.success(), "{}", String::from_utf8_lossy(&read.stderr));
    String::from_utf8_lossy(&read.stdout).into_owned()
}

/// Presses a button of the review form and waits for the answer.
fn press(browser: &Browser, css: &str) {
    let before = browser.source();
    browser.click(css);
    let deadline = Instant::now() + Duration::from_secs(30);
    while browser.source() == before {
        assert!(Instant::now() < deadline, "{css} led nowhere");
        std::thread::sleep(Duration::from_millis(50));
    }
    browser
        .runtime
        .block_on(browser.client().wait().for_element(Locator::Css("footer.pied")))
        .expect("the page loads");
}

#[test]
fn an_agent_deposits_through_the_form_confirms_a_proposed_classification_and_sees_the_accuses() {
    let scene = scene();
    let base = scene.server.base.clone();
    let browser = Browser::start(Scripts::On);
    browser.sign_in(&base, "agnes", AGENT_PASSWORD);
    browser.goto(&format!("{base}/deposer"));
    browser.review("depot");
    // The plan's nodes found by words typed without their accents.
    browser.fill("#classement", "deliberation CONSEIL");
    browser.follow("form.recherche-classement button[type=submit]", "classement=");
    let text = browser.text();
    assert!(text.contains("1 classement correspond"), "{text}");
    assert!(text.contains("Délibérations du conseil municipal (ADM-DEL)"), "{text}");
    assert!(!text.contains("(FIN-FAC)"), "{text}");
    browser.review("depot-classement-cherche");
    browser.fill("#classement", "zzz");
    browser.follow("form.recherche-classement button[type=submit]", "classement=zzz");
    assert!(
        browser.text().contains("Aucun classement ne correspond"),
        "{}",
        browser.text()
    );

    // A PDF into FIN-FAC, with its fields typed the French way.
    let dir = tempfile::tempdir().expect("a folder");
    let pdf_path = dir.path().join("facture-martin.pdf");
    let pdf = pdf_with_text(&["Boulangerie Martin - facture 77", "Galettes des rois pour les aines"]);
    std::fs::write(&pdf_path, &pdf).expect("write");
    upload(&browser, &base, Some("FIN-FAC"), &[&pdf_path]);
    assert!(
        browser.text().contains("Vérifier avant d'archiver"),
        "{}",
        browser.text()
    );
    assert_eq!(browser.value("#f0-noeud"), "FIN-FAC");
    browser.fill("#f0-titre", "Facture galettes Boulangerie Martin");
    browser.fill("#f0-date", "15/01/2025");
    browser.fill("#f0-champ-fournisseur", "Boulangerie Martin");
    browser.fill("#f0-champ-montant_ttc", "douze euros");
    press(&browser, "button[value=archiver]");
    let text = browser.text();
    assert!(text.contains("Une erreur empêche le dépôt"), "{text}");
    assert!(
        text.contains("n'est pas un nombre"),
        "the error next to its field: {text}"
    );
    assert_eq!(browser.attr("#f0-champ-montant_ttc", "aria-invalid"), "true");
    browser.review("depot-erreurs");
    browser.fill("#f0-champ-montant_ttc", "1 250,50");
    press(&browser, "button[value=archiver]");
    let text = browser.text();
    assert!(text.contains("Document archivé"), "{text}");
    assert!(text.contains("FIN-FAC-2025-000001"), "{text}");
    let digest = hex_sha256(&pdf);
    assert!(text.contains(&digest), "the accusé shows the SHA-256: {text}");
    browser.review("depot-accuse");
    let attestation = browser.attr(".accuse a[href$='accuse-de-depot']", "href");
    let (status, body, disposition) = get_with_cookies(
        &format!("{base}{}", attestation.trim_start_matches(&base)),
        &browser.cookie_header(),
    );
    assert_eq!(status, 200);
    assert!(
        disposition
            .unwrap_or_default()
            .contains("accuse-de-depot-FIN-FAC-2025-000001")
    );
    assert!(String::from_utf8_lossy(&body).contains(&digest));
    browser.goto(&format!("{base}/documents/FIN-FAC-2025-000001"));
    let text = browser.text();
    assert!(
        text.contains("1\u{202f}250,50\u{202f}€") || text.contains("1 250,50 €"),
        "{text}"
    );
    assert!(text.contains("15/01/2025"), "{text}");

    // A Factur-X invoice with no node: the archive proposes FIN-FAC with
    // what it read; the agent confirms.
    let fx_path = dir.path().join("facture-dupont.pdf");
    std::fs::write(
        &fx_path,
        factur_x(&cii("FX-2025-0042", "Papeterie Dupont", "480.00", "20250314")),
    )
    .expect("write");
    upload(&browser, &base, None, &[&fx_path]);
    let text = browser.text();
    assert!(text.contains("Classement proposé par la règle"), "{text}");
    assert_eq!(browser.value("#f0-noeud"), "FIN-FAC");
    assert_eq!(browser.value("#f0-champ-fournisseur"), "Papeterie Dupont");
    assert_eq!(browser.value("#f0-champ-montant_ttc"), "480,00");
    assert_eq!(browser.value("#f0-date"), "14/03/2025");
    browser.review("depot-proposition");
    press(&browser, "button[value=archiver]");
    assert!(browser.text().contains("FIN-FAC-2025-000002"), "{}", browser.text());

    // The same content again: the page says where it is already.
    upload(&browser, &base, Some("FIN-FAC"), &[&pdf_path]);
    let text = browser.text();
    assert!(text.contains("Ce contenu est déjà archivé"), "{text}");
    assert!(text.contains("FIN-FAC-2025-000001"), "{text}");
    browser.review("depot-doublon");
    press(&browser, "button[value=abandonner]");
    assert!(browser.url().ends_with("/deposer"), "{}", browser.url());

    // My deposits lists both, newest first, with their state.
    browser.goto(&format!("{base}/mes-depots"));
    let text = browser.text();
    let (second, first) = (
        text.find("FIN-FAC-2025-000002").expect("the second deposit"),
        text.find("FIN-FAC-2025-000001").expect("the first"),
    );
    assert!(second < first, "newest first: {text}");
    assert!(text.contains("automatiquement"), "{text}");
    browser.review("mes-depots");

    // The journal names the person.
    let events = get(&scene.server.url("/api/v1/audit/events?after=0"), &scene.admin).json();
    let ingested: Vec<&str> = events["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["kind"] == "record.ingested")
        .filter_map(|e| e["actor"].as_str())
        .collect();
    assert_eq!(
        ingested.iter().filter(|a| **a == "agnes (agent)").count(),
        2,
        "{ingested:?}"
    );
}

#[test]
fn a_deposit_works_without_javascript() {
    let scene = scene();
    let base = scene.server.base.clone();
    let browser = Browser::start(Scripts::Off);
    browser.sign_in(&base, "agnes", AGENT_PASSWORD);
    let dir = tempfile::tempdir().expect("a folder");
    let path = dir.path().join("deliberation.txt");
    std::fs::write(&path, "Délibération du conseil municipal : la cantine scolaire").expect("write");
    upload(&browser, &base, Some("ADM-DEL"), &[&path]);
    press(&browser, "button[value=archiver]");
    assert!(browser.text().contains("Document archivé"), "{}", browser.text());
    browser.photograph("depot-sans-javascript");
}

fn hex_sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

#[test]
fn an_admin_opens_disables_and_resets_accounts_from_the_accounts_page() {
    let scene = scene();
    let base = scene.server.base.clone();
    let a = post_json(
        &scene.server.url("/api/v1/accounts/admin/password"),
        &scene.admin,
        &json!({"password": "la phrase de l'administrateur"}),
    );
    assert_eq!(a.status, 204, "{}", String::from_utf8_lossy(&a.body));
    let browser = Browser::start(Scripts::On);

    // An agent has no accounts page.
    browser.sign_in(&base, "agnes", AGENT_PASSWORD);
    assert!(!browser.text().contains("Comptes"), "{}", browser.text());
    browser.goto(&format!("{base}/comptes"));
    assert!(browser.text().contains("Accès refusé"), "{}", browser.text());
    browser.goto(&format!("{base}/"));
    browser.follow(".personne button", "/connexion");

    browser.sign_in(&base, "admin", "la phrase de l'administrateur");
    browser.follow("a[href='/comptes']", "/comptes");
    assert!(browser.text().contains("agnes"), "{}", browser.text());
    browser.review("comptes");

    // A password too short is said next to its field; nothing is opened.
    browser.fill("#user", "bruno.leroy");
    browser.fill("#display_name", "Bruno Leroy");
    browser.choose("#role", "archivist");
    browser.fill("#password", "court");
    press(&browser, "form.formulaire button[type=submit]");
    let text = browser.text();
    assert!(text.contains("12 caractères"), "{text}");
    assert_eq!(browser.attr("#password", "aria-invalid"), "true");
    assert_eq!(browser.value("#user"), "bruno.leroy", "what was typed stays");
    browser.review("comptes-erreur");
    browser.fill("#password", "une phrase assez longue");
    press(&browser, "form.formulaire button[type=submit]");
    assert!(browser.text().contains("Le compte est ouvert"), "{}", browser.text());
    assert!(browser.text().contains("Bruno Leroy"), "{}", browser.text());

    // Disabled, Agnès can no longer sign in.
    press(&browser, "form[action='/comptes/agnes/etat'] button");
    assert!(browser.text().contains("désactivé"), "{}", browser.text());
    let events = get(&scene.server.url("/api/v1/audit/events?after=0"), &scene.admin).json();
    let updated: Vec<&Value> = events["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["kind"] == "account.updated")
        .collect();
    assert_eq!(updated.len(), 1);
    assert_eq!(updated[0]["actor"], "admin (admin)");
    assert_eq!(updated[0]["payload"]["disabled"], true);
    let other = Browser::start(Scripts::On);
    other.sign_in(&base, "agnes", AGENT_PASSWORD);
    assert!(
        other.text().contains("identifiant ou mot de passe incorrect"),
        "{}",
        other.text()
    );
}

/// The invoice's bytes flipped on disk, then found by a fixity run.
fn damage_the_invoice(scene: &Scene) {
    let sha = hex_sha256(&scene.invoice);
    flip_blob_byte(&blobs_of(&scene._fresh.data), &sha, 10);
    let a = post_json(&scene.server.url("/api/v1/audit/fixity/run"), &scene.admin, &json!({}));
    assert!(a.status < 300, "{}", String::from_utf8_lossy(&a.body));
    let deadline = Instant::now() + Duration::from_secs(60);
    while get(&scene.server.url("/api/v1/audit/fixity"), &scene.admin).json()["last"]["findings"]
        .as_array()
        .is_none_or(|f| f.is_empty())
    {
        assert!(Instant::now() < deadline, "the fixity run did not finish");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_record_whose_content_is_damaged_says_so_instead_of_offering_it() {
    let scene = scene();
    let base = scene.server.base.clone();
    damage_the_invoice(&scene);
    let browser = Browser::start(Scripts::On);
    browser.sign_in(&base, "agnes", AGENT_PASSWORD);
    browser.goto(&format!("{base}/documents/{}", scene.invoice_ref));
    let text = browser.text();
    assert!(text.contains("Contenu endommagé"), "{text}");
    assert!(text.contains("ne correspond plus à son empreinte"), "{text}");
    // One person to tell, named once.
    assert!(text.contains("prévenez l'archiviste"), "{text}");
    assert!(!text.contains("à l'administrateur"), "{text}");
    assert_eq!(text.matches("aucune copie intacte").count(), 1, "{text}");
    assert_eq!(browser.count("a[download]"), 0, "no download offered");
    assert_eq!(browser.count("iframe.apercu"), 0, "no preview of damaged bytes");
    browser.review("document-endommage");
    let (status, body, _) = get_with_cookies(
        &format!("{base}/documents/{}/contenu", scene.invoice_ref),
        &browser.cookie_header(),
    );
    assert_eq!(status, 409);
    assert!(String::from_utf8_lossy(&body).contains("Contenu endommagé"));
}

#[test]
fn a_person_changes_their_own_password_given_the_current_one() {
    let scene = scene();
    let base = scene.server.base.clone();
    let browser = Browser::start(Scripts::On);
    browser.sign_in(&base, "agnes", AGENT_PASSWORD);
    browser.follow("a[href='/mon-compte']", "/mon-compte");
    assert!(browser.text().contains("agnes"), "{}", browser.text());
    browser.fill("#actuel", "pas le mot de passe actuel");
    browser.fill("#nouveau", "une toute nouvelle phrase");
    press(&browser, "form.formulaire button[type=submit]");
    assert!(
        browser.text().contains("le mot de passe actuel est incorrect"),
        "{}",
        browser.text()
    );
    assert_eq!(browser.attr("#actuel", "aria-invalid"), "true");
    browser.review("mon-compte-erreur");
    browser.fill("#actuel", AGENT_PASSWORD);
    browser.fill("#nouveau", "une toute nouvelle phrase");
    press(&browser, "form.formulaire button[type=submit]");
    assert!(
        browser.text().contains("Votre mot de passe est changé"),
        "{}",
        browser.text()
    );
    browser.follow(".personne button", "/connexion");
    browser.sign_in(&base, "agnes", "une toute nouvelle phrase");
    assert_eq!(browser.url(), format!("{base}/"), "the new password signs in");

    // Her command line signs in: the token is listed on her page, and she
    // revokes it there; it no longer opens the archive.
    let token = login(&scene.server, "agnes", "une toute nouvelle phrase").json()["token"]
        .as_str()
        .expect("a token")
        .to_owned();
    assert_eq!(get(&scene.server.url("/api/v1/stats"), &token).status, 200);
    browser.goto(&format!("{base}/mon-compte"));
    assert_eq!(browser.count("table.jetons tbody tr"), 1, "{}", browser.text());
    assert!(browser.text().contains("actif"), "{}", browser.text());
    browser.review("mon-compte-jetons");
    press(&browser, "table.jetons button[type=submit]");
    assert!(browser.text().contains("Le jeton est révoqué"), "{}", browser.text());
    assert!(browser.text().contains("révoqué"), "{}", browser.text());
    assert_eq!(browser.count("table.jetons button"), 0);
    let refused = get(&scene.server.url("/api/v1/stats"), &token);
    assert_eq!((refused.status, refused.error_code().as_str()), (401, "token_revoked"));

    // She asks for the daily summary of her work list by mail: a mistyped
    // address is said at its field, a right one is kept.
    let email_form = "form[action='/mon-compte/courriel'] button[type=submit]";
    browser.fill("#courriel", "agnes chez cd99");
    press(&browser, email_form);
    assert!(
        browser.text().contains("n'est pas une adresse électronique"),
        "{}",
        browser.text()
    );
    assert_eq!(browser.attr("#courriel", "aria-invalid"), "true");
    browser.review("mon-compte-courriel-erreur");
    browser.fill("#courriel", "agnes.martin@cd99.example");
    press(&browser, email_form);
    assert!(
        browser
            .text()
            .contains("sera envoyé chaque matin à agnes.martin@cd99.example"),
        "{}",
        browser.text()
    );
    let accounts = get(&scene.server.url("/api/v1/accounts"), &scene.admin).json();
    let agnes = accounts
        .as_array()
        .and_then(|a| a.iter().find(|a| a["user"] == "agnes"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(agnes["email"], "agnes.martin@cd99.example", "{accounts}");
}

const AUDITOR_PASSWORD: &str = "une autre phrase de passe longue";

#[test]
fn an_auditor_sees_a_damaged_blob_with_its_record_runs_a_check_and_browses_the_journal() {
    let scene = scene();
    let base = scene.server.base.clone();
    open_account(&scene, "odile", "Odile Contrôle", "auditor", AUDITOR_PASSWORD);
    damage_the_invoice(&scene);

    // An agent has no such pages: not in the menu, refused by address.
    let agent = Browser::start(Scripts::On);
    agent.sign_in(&base, "agnes", AGENT_PASSWORD);
    assert_eq!(agent.count("a[href='/controle']"), 0);
    let (status, body, _) = get_with_cookies(&format!("{base}/controle"), &agent.cookie_header());
    assert_eq!(status, 403);
    assert!(String::from_utf8_lossy(&body).contains("Accès refusé"));
    let (status, _, _) = get_with_cookies(&format!("{base}/journal"), &agent.cookie_header());
    assert_eq!(status, 403);

    // The dashboard names the damaged content and its record.
    let browser = Browser::start(Scripts::On);
    browser.sign_in(&base, "odile", AUDITOR_PASSWORD);
    browser.follow("a[href='/controle']", "/controle");
    let text = browser.text();
    assert!(text.contains("Contenus altérés ou manquants"), "{text}");
    assert!(text.contains(&hex_sha256(&scene.invoice)), "{text}");
    assert_eq!(
        browser.count(&format!(".alerte a[href='/documents/{}']", scene.invoice_ref)),
        1,
        "{text}"
    );
    assert!(text.contains("Aucun contrôle complet"), "{text}");
    assert!(text.contains("Aucun stockage de copies"), "{text}");
    browser.review("controle");

    // A whole check, started from the page and followed to its report.
    browser.follow(
        "form[action='/controle/verification'] button",
        "/controle/verification/",
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while browser.text().contains("Contrôle en cours") {
        assert!(Instant::now() < deadline, "the check did not end");
        std::thread::sleep(Duration::from_millis(200));
        let url = browser.url();
        browser.goto(&url);
    }
    let text = browser.text();
    assert!(
        text.contains("1 défaut trouvé") || text.contains("défauts trouvés"),
        "{text}"
    );
    assert!(text.contains("est altéré"), "{text}");
    browser.review("controle-complet");
    browser.goto(&format!("{base}/controle"));
    assert!(
        browser.text().contains("par Odile") || browser.text().contains("odile (auditeur)"),
        "{}",
        browser.text()
    );

    // The journal: the latest events, then narrowed by kind and by record.
    browser.follow("a[href='/journal']", "/journal");
    assert!(browser.count("table.journal tbody tr") > 3, "{}", browser.text());
    assert!(browser.text().contains("audit.verified"), "{}", browser.text());
    browser.fill("#document", &scene.invoice_ref);
    browser.follow("form.filtres button[type=submit]", "document=");
    let text = browser.text();
    // Its deposit, then the reading of its text as an invoice (FACTURES
    // reads invoices).
    assert_eq!(browser.count("table.journal tbody tr"), 2, "{text}");
    assert!(text.contains("Dépôt") && text.contains("record.ingested"), "{text}");
    assert!(
        text.contains("Champs lus dans le texte") && text.contains("record.read"),
        "{text}"
    );
    assert!(
        text.contains("sceau n°") || text.contains("pas encore scellé"),
        "{text}"
    );
    browser.review("journal");
    // The two deposits and the invoice's reading.
    browser.goto(&format!("{base}/journal?type=record.&du=01/01/2000"));
    assert_eq!(browser.count("table.journal tbody tr"), 3, "{}", browser.text());
    browser.goto(&format!("{base}/journal?du=31/02/2024"));
    assert!(browser.text().contains("n'est pas une date"), "{}", browser.text());
    // The page changes nothing but that check: the journal grew by the
    // check's own event only.
    let events = get(
        &scene.server.url("/api/v1/audit/events?after=0&limit=10000"),
        &scene.admin,
    )
    .json();
    let by_odile: Vec<&str> = events["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["actor"] == "odile (auditor)")
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert_eq!(by_odile, ["audit.verified"]);

    // Odile opens a personnel file: the reading is journaled, and the
    // consultations page lists it under the record.
    browser.goto(&format!("{base}/documents/{}", scene.hr_ref));
    assert!(browser.text().contains("Jeanne Secrète"), "{}", browser.text());
    browser.goto(&format!("{base}/controle"));
    browser.follow("a[href='/controle/consultations']", "/controle/consultations");
    browser.fill("#document", &scene.hr_ref);
    browser.follow("form.filtres button[type=submit]", "document=");
    let text = browser.text();
    assert!(text.contains("1 consultation."), "{text}");
    assert!(
        text.contains("odile") && text.contains("fiche") && text.contains("127.0.0.1"),
        "{text}"
    );
    browser.review("consultations");
    browser.goto(&format!("{base}/controle/consultations?document=INCONNU-1"));
    assert!(
        browser.text().contains("Aucun document n'a la référence"),
        "{}",
        browser.text()
    );

    // A good package is accepted; the same with one payload file changed
    // is refused, naming the file; nothing is imported either way.
    let dir = tempfile::tempdir().expect("a folder");
    let export = post_json(
        &scene.server.url("/api/v1/exports"),
        &scene.admin,
        &json!({"records": [scene.hr_ref]}),
    );
    assert_eq!(export.status, 200, "{}", String::from_utf8_lossy(&export.body));
    let good = dir.path().join("versement.zip");
    std::fs::write(&good, &export.body).expect("write");
    let mut entries = crate::packages::read_zip(&good);
    let (changed_name, changed_bytes) = entries
        .iter_mut()
        .find(|(name, _)| name.contains("/data/") && name.ends_with(".txt"))
        .expect("a payload file");
    changed_bytes[0] ^= 0x20;
    let changed_name = changed_name.rsplit('/').next().expect("name").to_owned();
    let bad = dir.path().join("versement-modifie.zip");
    crate::packages::write_zip(&bad, &entries);
    let deposits = || {
        get(
            &scene.server.url("/api/v1/audit/events?after=0&limit=10000"),
            &scene.admin,
        )
        .json()["events"]
            .as_array()
            .expect("events")
            .iter()
            .filter(|e| e["kind"] == "record.ingested")
            .count()
    };
    let deposits_before = deposits();
    browser.goto(&format!("{base}/controle"));
    browser.follow("a[href='/controle/verifier']", "/controle/verifier");
    browser.attach("#paquet", &[&good]);
    browser.follow(
        "form[action='/controle/verifier/paquet'] button",
        "/controle/verifier/paquet",
    );
    let text = browser.text();
    assert!(text.contains("versement.zip : il tient"), "{text}");
    assert!(text.contains("sceau vérifié avec la clé de ces archives"), "{text}");
    browser.review("verifier-paquet");
    browser.goto(&format!("{base}/controle/verifier"));
    browser.attach("#paquet", &[&bad]);
    browser.follow(
        "form[action='/controle/verifier/paquet'] button",
        "/controle/verifier/paquet",
    );
    let text = browser.text();
    assert!(text.contains("il ne tient pas"), "{text}");
    assert!(text.contains(&changed_name), "the changed file is named: {text}");
    assert_eq!(deposits(), deposits_before, "nothing was imported");

    // The accusé de dépôt an agent downloaded holds; changed, it does not.
    let (status, page, _) = get_with_cookies(
        &format!("{base}/documents/{}/accuse-de-depot", scene.hr_ref),
        &browser.cookie_header(),
    );
    assert_eq!(status, 200);
    let accuse = dir.path().join("accuse.html");
    std::fs::write(&accuse, &page).expect("write");
    browser.goto(&format!("{base}/controle/verifier"));
    browser.attach("#accuse", &[&accuse]);
    browser.follow(
        "form[action='/controle/verifier/accuse'] button",
        "/controle/verifier/accuse",
    );
    let text = browser.text();
    assert!(text.contains("accuse.html : il tient"), "{text}");
    assert!(text.contains(&scene.hr_ref), "{text}");
    browser.review("verifier-accuse");
    let forged = String::from_utf8_lossy(&page).replacen("\"size\":", "\"size\":1", 1);
    std::fs::write(&accuse, forged.as_bytes()).expect("write");
    browser.goto(&format!("{base}/controle/verifier"));
    browser.attach("#accuse", &[&accuse]);
    browser.follow(
        "form[action='/controle/verifier/accuse'] button",
        "/controle/verifier/accuse",
    );
    assert!(browser.text().contains("il ne tient pas"), "{}", browser.text());

    // A record's history with its inclusion proofs, to download.
    browser.goto(&format!("{base}/documents/{}", scene.hr_ref));
    assert_eq!(
        browser.count(&format!("a[href='/documents/{}/preuve']", scene.hr_ref)),
        1
    );
    let (status, body, disposition) = get_with_cookies(
        &format!("{base}/documents/{}/preuve", scene.hr_ref),
        &browser.cookie_header(),
    );
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert!(disposition.unwrap_or_default().contains("preuve-"), "a file to keep");
    let proof: Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(proof["reference"], scene.hr_ref.as_str());
    assert!(proof["events"][0]["proof"].is_array(), "{proof}");
    // Not for agents.
    let (status, _, _) = get_with_cookies(
        &format!("{base}/documents/{}/preuve", scene.invoice_ref),
        &agent.cookie_header(),
    );
    assert_eq!(status, 403);
}

const ARCHIVIST_PASSWORD: &str = "la phrase de passe de l'archiviste";
const VISA_PASSWORD: &str = "la phrase de passe de l'autorité d'archives";

#[test]
fn an_archivist_lists_what_is_due_exports_it_and_places_and_lifts_a_hold() {
    let scene = scene();
    let base = scene.server.base.clone();
    open_account(&scene, "claire", "Claire Archiviste", "archivist", ARCHIVIST_PASSWORD);
    for (text, name, meta) in [
        (
            "Facture de fournitures 2012",
            "f1.txt",
            json!({"node": "FIN-FAC", "date": "2012-03-15", "service": "Finances"}),
        ),
        (
            "Facture de voirie 2012",
            "f2.txt",
            json!({"node": "FIN-FAC", "date": "2012-04-02", "service": "Voirie"}),
        ),
        (
            "Délibération de 2010",
            "d1.txt",
            json!({"node": "ADM-DEL", "date": "2010-06-30"}),
        ),
    ] {
        let a = deposit(&scene.server, &scene.admin, text.as_bytes(), name, &meta).expect("deposit");
        assert_eq!(a.status, 201, "{}", String::from_utf8_lossy(&a.body));
    }

    // An agent has no such pages.
    let agent = Browser::start(Scripts::On);
    agent.sign_in(&base, "agnes", AGENT_PASSWORD);
    assert_eq!(agent.count("a[href='/conservation']"), 0);
    for page in ["/conservation", "/gels", "/conservation.csv"] {
        let (status, _, _) = get_with_cookies(&format!("{base}{page}"), &agent.cookie_header());
        assert_eq!(status, 403, "{page}");
    }

    let browser = Browser::start(Scripts::On);
    browser.sign_in(&base, "claire", ARCHIVIST_PASSWORD);
    browser.follow("a[href='/conservation']", "/conservation");
    let text = browser.text();
    assert!(text.contains("3 documents échus"), "{text}");
    assert!(text.contains("15/03/2022") && text.contains("destruction"), "{text}");
    assert!(text.contains("versement aux archives"), "{text}");
    browser.review("echeances");
    browser.goto(&format!("{base}/conservation?sort=destroy"));
    assert!(browser.text().contains("2 documents échus"), "{}", browser.text());
    browser.goto(&format!("{base}/conservation?service=voirie"));
    assert!(browser.text().contains("1 document échu"), "{}", browser.text());
    assert!(browser.text().contains("Voirie"), "{}", browser.text());
    browser.goto(&format!("{base}/conservation?noeud=ADM"));
    assert!(browser.text().contains("1 document échu"), "{}", browser.text());
    browser.goto(&format!("{base}/conservation?au=32/13/2024"));
    assert!(browser.text().contains("n'est pas une date"), "{}", browser.text());
    let (status, csv, disposition) = get_with_cookies(
        &format!("{base}/conservation.csv?sort=destroy"),
        &browser.cookie_header(),
    );
    assert_eq!(status, 200);
    assert!(disposition.unwrap_or_default().contains("echeances-"), "a file to save");
    let csv = String::from_utf8(csv).expect("UTF-8");
    assert!(csv.starts_with('\u{feff}'), "with its mark, for spreadsheets");
    let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines[0].starts_with("échéance;référence;nœud"), "{csv}");
    assert!(
        lines[1].starts_with("15/03/2022;FIN-FAC-2012-000001;FIN-FAC;Factures;"),
        "{csv}"
    );
    assert!(csv.contains(";Voirie;"), "{csv}");

    // A hold on the invoices, with a review date already past.
    browser.follow("a[href='/gels']", "/gels");
    assert!(browser.text().contains("Aucun gel"), "{}", browser.text());
    browser.click("#portee-noeud");
    browser.fill("#cible", "FIN-FAC");
    browser.fill("#motif", "Contentieux avec un fournisseur");
    browser.fill("#revue", "01/01/2020");
    browser.follow("form[action='/gels'] button[type=submit]", "pose=");
    let text = browser.text();
    assert!(text.contains("posé"), "{text}");
    assert!(text.contains("le nœud FIN-FAC et ce qu'il contient"), "{text}");
    assert_eq!(browser.count("tr.a-revoir"), 1, "{text}");
    assert!(text.contains("1 gel a dépassé sa date de revue"), "{text}");
    // The three invoices (the scene's and the two old ones) are frozen.
    let frozen = browser.runtime.block_on(async {
        browser
            .client()
            .find(Locator::Css("tr.a-revoir td:nth-child(3)"))
            .await
            .expect("the count")
            .text()
            .await
            .expect("text")
    });
    assert_eq!(frozen.trim(), "3");
    browser.review("gels");
    browser.goto(&format!("{base}/conservation"));
    let text = browser.text();
    assert!(text.contains("dont 2 gelés"), "{text}");
    assert!(text.contains("1 gel a dépassé sa date de revue"), "{text}");

    // A hold with nothing named is refused next to what was typed.
    browser.goto(&format!("{base}/gels"));
    browser.click("#portee-document");
    browser.fill("#cible", "FIN-FAC-1999-999999");
    browser.fill("#motif", "Demande du juge");
    browser.click("form[action='/gels'] button[type=submit]");
    std::thread::sleep(Duration::from_millis(300));
    let text = browser.text();
    assert!(text.contains("FIN-FAC-1999-999999"), "{text}");
    assert_eq!(browser.value("#motif"), "Demande du juge", "what was typed stays");

    // Lifted with a reason; the list keeps it, lifted.
    browser.goto(&format!("{base}/gels"));
    browser.fill("form.lever input[name=motif]", "Contentieux clos");
    browser.follow("form.lever button[type=submit]", "leve=");
    let text = browser.text();
    assert!(text.contains("levé"), "{text}");
    assert!(text.contains("Aucun gel n'est en vigueur"), "{text}");
    assert!(text.contains("Contentieux clos"), "{text}");
    let events = get(
        &scene.server.url("/api/v1/audit/events?after=0&limit=10000"),
        &scene.admin,
    )
    .json();
    let holds: Vec<(&str, &str)> = events["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["kind"].as_str().unwrap_or_default().starts_with("hold."))
        .map(|e| {
            (
                e["kind"].as_str().unwrap_or_default(),
                e["actor"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        holds,
        [
            ("hold.placed", "claire (archivist)"),
            ("hold.lifted", "claire (archivist)")
        ]
    );

    // The registers: this year's entries, then an elimination carried out.
    browser.follow("a[href='/registres']", "/registres");
    let text = browser.text();
    assert!(text.contains("Registre des entrées du 01/01/"), "{text}");
    assert_eq!(browser.count("table.registre tbody tr"), 5, "{text}");
    assert!(
        text.contains("FIN-FAC-2012-000002") && text.contains("15/03/2012"),
        "{text}"
    );
    browser.review("registre-entrees");
    let (status, csv, _) = get_with_cookies(
        &format!("{base}/registres.csv?registre=entrees"),
        &browser.cookie_header(),
    );
    assert_eq!(status, 200);
    let csv = String::from_utf8(csv).expect("UTF-8");
    assert_eq!(csv.lines().count(), 6, "{csv}");
    assert!(csv.starts_with("\u{feff}N° d'ordre;Déposé le;Référence"), "{csv}");
    let proposal = post_json(
        &scene.server.url("/api/v1/disposals"),
        &scene.admin,
        &json!({"records": ["FIN-FAC-2012-000001"]}),
    );
    assert_eq!(proposal.status, 201, "{}", String::from_utf8_lossy(&proposal.body));
    let id = proposal.json()["id"].as_u64().expect("id");
    let visa = post_json(
        &scene.server.url(&format!("/api/v1/disposals/{id}/approve")),
        &scene.admin,
        &json!({"visa": "AD-2026-117", "signer": "Directrice des Archives départementales"}),
    );
    assert!(visa.status < 300, "{}", String::from_utf8_lossy(&visa.body));
    let done = post_json(
        &scene.server.url(&format!("/api/v1/disposals/{id}/execute")),
        &scene.admin,
        &json!({}),
    );
    assert!(done.status < 300, "{}", String::from_utf8_lossy(&done.body));
    browser.goto(&format!("{base}/registres?registre=eliminations"));
    let text = browser.text();
    assert!(text.contains("Registre des éliminations"), "{text}");
    assert_eq!(browser.count("table.registre tbody tr"), 1, "{text}");
    assert!(
        text.contains("FIN-FAC-2012-000001") && text.contains("visa AD-2026-117"),
        "{text}"
    );
    assert!(text.contains("10 ans"), "the duration in words: {text}");
    browser.review("registre-eliminations");
    browser.goto(&format!(
        "{base}/registres?registre=versements&du=01/01/2000&au=31/12/2000"
    ));
    assert!(browser.text().contains("Aucune ligne"), "{}", browser.text());
}

#[test]
fn an_archivist_publishes_a_plan_that_shortens_a_rule_after_seeing_its_impact() {
    let scene = scene();
    let base = scene.server.base.clone();
    open_account(&scene, "claire", "Claire Archiviste", "archivist", ARCHIVIST_PASSWORD);
    // An invoice of 2018: due in 2028 under 10 years, at once under 5.
    let a = deposit(
        &scene.server,
        &scene.admin,
        b"Facture de 2018",
        "facture-2018.txt",
        &json!({"node": "FIN-FAC", "date": "2018-01-10"}),
    )
    .expect("deposit");
    assert_eq!(a.status, 201, "{}", String::from_utf8_lossy(&a.body));
    let old = a.json()["reference"].as_str().expect("reference").to_owned();
    let browser = Browser::start(Scripts::On);
    browser.sign_in(&base, "claire", ARCHIVIST_PASSWORD);
    browser.follow("a[href='/plan']", "/plan");
    let text = browser.text();
    assert!(text.contains("FIN-FAC"), "{text}");
    assert!(
        browser
            .source()
            .contains("FACTURES : 10 ans à compter de la date du document, puis destruction"),
        "the rule in words"
    );
    browser.review("plan");

    // The invoices' rule shortened from 10 to 5 years.
    browser.follow("a[href='/plan/modifier']", "/plan/modifier");
    let current = browser.value("#texte");
    assert!(
        current.contains("id = \"FACTURES\"\nduration = \"P10Y\""),
        "the plan in force to start from"
    );
    let shorter = current
        .replacen(
            "id = \"FACTURES\"\nduration = \"P10Y\"",
            "id = \"FACTURES\"\nduration = \"P5Y\"",
            1,
        )
        .replacen("version = \"2026.1\"", "version = \"2026.2\"", 1);
    // A mistake first: said with its line.
    browser.set_value(
        "#texte",
        &shorter.replacen(
            "id = \"FACTURES\"\nduration = \"P5Y\"",
            "id = \"FACTURES\"\nduration = \"P5W\"",
            1,
        ),
    );
    press(&browser, "button[value=valider]");
    let text = browser.text();
    assert!(text.contains("Le plan n'est pas valide"), "{text}");
    assert!(
        text.contains("ligne 75 (règle « FACTURES », duration)"),
        "the line of the mistake, the rule by its id: {text}"
    );
    browser.set_value("#texte", &shorter);
    press(&browser, "button[value=valider]");
    assert!(browser.text().contains("Le plan est valide"), "{}", browser.text());
    press(&browser, "button[value=impact]");
    let text = browser.text();
    assert!(text.contains("Ce que la publication changerait"), "{text}");
    assert!(text.contains("règles modifiées : FACTURES"), "{text}");
    assert!(text.contains("raccourcissement : 2 documents échus plus tôt"), "{text}");
    // The records concerned, the one destroyable at once called out.
    assert_eq!(browser.count("tr.a-detruire"), 1, "{text}");
    assert!(text.contains(&old) && text.contains("éliminable aussitôt"), "{text}");
    assert!(text.contains("10/01/2028 → 10/01/2023"), "{text}");
    assert_eq!(browser.count("#confirmer"), 1, "a confirmation is asked");
    browser.review("plan-impact");
    // Publishing without the confirmation is refused, and says why.
    press(&browser, "button[value=publier]");
    let text = browser.text();
    assert!(text.contains("avance l'échéance"), "{text}");
    browser.click("#confirmer");
    browser.fill(
        "#motif",
        "Délibération du 12/11/2026 sur la durée de conservation des factures",
    );
    press(&browser, "button[value=publier]");
    let text = browser.text();
    assert!(text.contains("Plan publié : version n° 2"), "{text}");

    browser.goto(&format!("{base}/plan"));
    assert!(
        browser
            .source()
            .contains("FACTURES : 5 ans à compter de la date du document, puis destruction"),
        "{}",
        browser.text()
    );
    assert_eq!(
        browser.count("a[href='/plan?version=1']"),
        1,
        "the earlier version is listed"
    );
    browser.follow("a[href='/plan/difference?de=1&a=2']", "/plan/difference");
    let text = browser.text();
    assert!(text.contains("De la version n° 1"), "{text}");
    assert_eq!(browser.count("tr.retire"), 2, "the old duration and version: {text}");
    assert_eq!(browser.count("tr.ajoute"), 2, "{text}");
    assert!(text.contains("duration = \"P5Y\""), "{text}");
    browser.review("plan-difference");
    let events = get(
        &scene.server.url("/api/v1/audit/events?after=0&limit=10000"),
        &scene.admin,
    )
    .json();
    let published: Vec<&str> = events["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["kind"] == "plan.published")
        .filter_map(|e| e["actor"].as_str())
        .collect();
    assert_eq!(published.last().copied(), Some("claire (archivist)"));

    // An agent reads the plan, and may not change it.
    let agent = Browser::start(Scripts::On);
    agent.sign_in(&base, "agnes", AGENT_PASSWORD);
    agent.goto(&format!("{base}/plan"));
    assert_eq!(agent.count("a[href='/plan/modifier']"), 0);
    let (status, _, _) = get_with_cookies(&format!("{base}/plan/modifier"), &agent.cookie_header());
    assert_eq!(status, 403);
}

#[test]
fn an_archivist_checks_then_imports_a_package_from_another_archive_and_a_known_one_is_refused() {
    let scene = scene();
    let base = scene.server.base.clone();
    open_account(&scene, "claire", "Claire Archiviste", "archivist", ARCHIVIST_PASSWORD);
    // A package from another archive: a deliberation of another commune.
    let other = fresh_archive();
    let other_server = Server::start(&other.data, &[]);
    let a = deposit(
        &other_server,
        &other.token,
        "Délibération du conseil municipal de la commune voisine".as_bytes(),
        "deliberation.txt",
        &json!({"node": "ADM-DEL", "date": "2023-05-12", "title": "Délibération voisine"}),
    )
    .expect("deposit");
    assert_eq!(a.status, 201, "{}", String::from_utf8_lossy(&a.body));
    let theirs = a.json()["reference"].as_str().expect("reference").to_owned();
    let export = post_json(
        &other_server.url("/api/v1/exports"),
        &other.token,
        &json!({"node": "ADM-DEL"}),
    );
    assert_eq!(export.status, 200, "{}", String::from_utf8_lossy(&export.body));
    other_server.stop();
    let dir = tempfile::tempdir().expect("a folder");
    let package = dir.path().join("versement-voisin.zip");
    std::fs::write(&package, &export.body).expect("write");
    let own = post_json(
        &scene.server.url("/api/v1/exports"),
        &scene.admin,
        &json!({"records": [scene.hr_ref]}),
    );
    let own_package = dir.path().join("notre-versement.zip");
    std::fs::write(&own_package, &own.body).expect("write");

    let browser = Browser::start(Scripts::On);
    browser.sign_in(&base, "claire", ARCHIVIST_PASSWORD);
    browser.follow("a[href='/importer']", "/importer");
    browser.review("importer");
    browser.attach("#paquet", &[&package]);
    press(&browser, "button[value=verifier]");
    let text = browser.text();
    assert!(
        text.contains("vérifié, rien n'est importé : 1 document à importer"),
        "{text}"
    );
    assert!(text.contains(&theirs), "its identifier there: {text}");
    assert_eq!(
        get(&scene.server.url(&format!("/api/v1/records/{theirs}")), &scene.admin).status,
        404,
        "nothing imported by the check"
    );
    browser.goto(&format!("{base}/importer"));
    browser.attach("#paquet", &[&package]);
    press(&browser, "button[value=importer]");
    let text = browser.text();
    assert!(text.contains("importé : 1 document"), "{text}");
    browser.review("importer-fait");
    // Found here by its identifier there (an alias), imported by claire.
    assert_eq!(
        get(&scene.server.url(&format!("/api/v1/records/{theirs}")), &scene.admin).status,
        200
    );
    // A package of records this archive holds already: refused whole.
    browser.goto(&format!("{base}/importer"));
    browser.attach("#paquet", &[&own_package]);
    press(&browser, "button[value=importer]");
    let text = browser.text();
    assert!(text.contains("refusé en entier"), "{text}");
    assert!(text.contains(&scene.hr_ref), "the reason names the record: {text}");
}

#[test]
fn an_admin_sets_the_collectivites_identity_with_its_mistakes_said_next_to_their_field() {
    let scene = scene();
    let base = scene.server.base.clone();
    open_account(&scene, "henri", "Henri Admin", "admin", ARCHIVIST_PASSWORD);
    let browser = Browser::start(Scripts::On);
    browser.sign_in(&base, "henri", ARCHIVIST_PASSWORD);
    browser.follow("a[href='/identite']", "/identite");
    browser.fill("#nom", "Commune de Saint-Exemple");
    browser.fill("#siren", "213 300 634");
    browser.fill("#services", "FIN ; Finances\nRH Ressources humaines");
    browser.fill("#archives_identifiant", "FRAD033");
    press(&browser, "form[action='/identite'] button[type=submit]");
    let text = browser.text();
    assert!(text.contains("ligne 2 : écrivez « CODE ; Nom du service »"), "{text}");
    assert_eq!(browser.attr("#services", "aria-invalid"), "true");
    assert_eq!(
        browser.value("#nom"),
        "Commune de Saint-Exemple",
        "what was typed stays"
    );
    browser.fill("#services", "FIN ; Finances\nRH ; Ressources humaines");
    press(&browser, "form[action='/identite'] button[type=submit]");
    let text = browser.text();
    assert!(text.contains("clé de contrôle"), "a SIREN with a wrong key: {text}");
    assert_eq!(browser.attr("#siren", "aria-invalid"), "true");
    browser.review("identite-erreur");
    browser.fill("#siren", "213 300 635");
    browser.follow("form[action='/identite'] button[type=submit]", "enregistre=1");
    let text = browser.text();
    assert!(text.contains("L'identité est enregistrée"), "{text}");
    assert_eq!(browser.value("#siren"), "213300635");
    browser.review("identite");
    let shown = get(&scene.server.url("/api/v1/identity"), &scene.admin).json();
    assert_eq!(shown["services"][1]["name"], "Ressources humaines");
    assert_eq!(shown["archives"]["identifier"], "FRAD033");

    // The logo: a file that is no image is refused next to its field, an
    // image is shown, then taken away.
    let folder = scene._fresh.tmp.path();
    let not_an_image = folder.join("logo.txt");
    std::fs::write(&not_an_image, "pas une image").expect("write");
    browser.attach("#logo", &[&not_an_image]);
    press(&browser, "form[action='/identite/logo'] button[type=submit]");
    let text = browser.text();
    assert!(text.contains("le logo doit être une image PNG ou JPEG"), "{text}");
    assert_eq!(browser.attr("#logo", "aria-invalid"), "true");
    assert_eq!(
        browser.value("#nom"),
        "Commune de Saint-Exemple",
        "the identity's form stays"
    );
    let png = folder.join("logo.png");
    let picture = image::RgbaImage::from_pixel(480, 160, image::Rgba([16, 42, 76, 255]));
    picture.save(&png).expect("write the logo");
    browser.attach("#logo", &[&png]);
    browser.follow("form[action='/identite/logo'] button[type=submit]", "logo=1");
    let text = browser.text();
    assert!(text.contains("Le logo est enregistré"), "{text}");
    assert!(text.contains("Logo actuel : image PNG, 480 × 160 pixels"), "{text}");
    assert_eq!(
        browser.script("return document.querySelector('img.logo-collectivite').naturalWidth"),
        serde_json::json!(480),
        "the image is served to the page"
    );
    browser.review("identite-logo");
    browser.follow("form[action='/identite/logo/retirer'] button[type=submit]", "logo=0");
    assert!(browser.text().contains("Le logo est retiré"));
    assert_eq!(browser.count("img.logo-collectivite"), 0);
    // Not an admin: no such page.
    let agent = Browser::start(Scripts::On);
    agent.sign_in(&base, "agnes", AGENT_PASSWORD);
    assert_eq!(agent.count("a[href='/identite']"), 0);
    let (status, _, _) = get_with_cookies(&format!("{base}/identite"), &agent.cookie_header());
    assert_eq!(status, 403);
}

#[test]
fn an_archivist_proposes_an_elimination_prints_its_bordereau_records_the_visa_and_executes_it() {
    let scene = scene();
    let base = scene.server.base.clone();
    open_account(&scene, "claire", "Claire Archiviste", "archivist", ARCHIVIST_PASSWORD);
    open_account(&scene, "vanessa", "Vanessa Visa", "visa", VISA_PASSWORD);
    let mut old = Vec::new();
    for (text, name) in [
        ("Facture de fournitures 2012", "f1.txt"),
        ("Facture de voirie 2012", "f2.txt"),
    ] {
        let a = deposit(
            &scene.server,
            &scene.admin,
            text.as_bytes(),
            name,
            &json!({"node": "FIN-FAC", "date": "2012-03-15"}),
        )
        .expect("deposit");
        assert_eq!(a.status, 201, "{}", String::from_utf8_lossy(&a.body));
        old.push(a.json()["reference"].as_str().expect("reference").to_owned());
    }
    let hold = post_json(
        &scene.server.url("/api/v1/holds"),
        &scene.admin,
        &json!({"record": old[1], "reason": "recours en cours"}),
    );
    let identity = request(
        "PUT",
        &scene.server.url("/api/v1/identity"),
        &scene.admin,
        &[],
        Some((
            "application/json",
            json!({"name": "Commune de Saint-Exemple", "siren": "213300635",
                "archives": {"name": "Archives départementales", "identifier": "FRAD033",
                    "authority": "Directrice des Archives départementales", "visa_reserved": true}})
            .to_string()
            .as_bytes(),
        )),
    )
    .expect("PUT");
    assert_eq!(identity.status, 200, "{}", String::from_utf8_lossy(&identity.body));
    assert_eq!(hold.status, 201, "{}", String::from_utf8_lossy(&hold.body));

    let browser = Browser::start(Scripts::On);
    browser.sign_in(&base, "claire", ARCHIVIST_PASSWORD);
    browser.follow("a[href='/eliminations']", "/eliminations");
    assert!(browser.text().contains("Aucune élimination"), "{}", browser.text());
    browser.choose("#noeud", "FIN-FAC");
    browser.follow("form[action='/eliminations'] button[type=submit]", "/eliminations/");
    let text = browser.text();
    assert!(text.contains("(proposée)"), "{text}");
    assert!(text.contains("1 document"), "{text}");
    assert!(text.contains(&old[0]), "{text}");
    assert!(
        text.contains(&format!("{} : gelé", old[1])),
        "the held one, left out with why: {text}"
    );
    browser.review("elimination");
    let url = browser.url();
    let id = url.rsplit('/').next().expect("id").to_owned();

    // The bordereau as a PDF, read back with pdftotext: the collectivité,
    // the DUA in words, both signature blocks.
    let (status, pdf, disposition) = get_with_cookies(
        &format!("{base}/eliminations/{id}/bordereau.pdf"),
        &browser.cookie_header(),
    );
    assert_eq!(status, 200);
    assert!(disposition.unwrap_or_default().contains(".pdf"));
    let dir = tempfile::tempdir().expect("a folder");
    let read = pdf_text(dir.path(), "bordereau.pdf", &pdf);
    assert!(read.contains("Commune de Saint-Exemple (SIREN 213300635)"), "{read}");
    assert!(read.contains("DUA : 10 ans"), "{read}");
    assert!(read.contains("Le chef du service producteur"), "{read}");
    assert!(
        read.contains("Visa : Directrice des Archives départementales"),
        "{read}"
    );
    assert!(read.contains(&format!("Bordereau d'élimination n° {id}")), "{read}");
    assert!(read.contains("gelé"), "what was left out, with why: {read}");

    // The bordereau, to print.
    let (status, page, _) = get_with_cookies(&format!("{base}/eliminations/{id}/bordereau"), &browser.cookie_header());
    assert_eq!(status, 200);
    let page = String::from_utf8_lossy(&page).into_owned();
    assert!(page.contains(&format!("Bordereau d'élimination n° {id}")), "{page}");
    assert!(page.contains("Le chef du service producteur"), "{page}");

    // The collectivité reserves the visa to its archives authority: the
    // archivist who proposed sees it awaited, with no form to give it.
    assert_eq!(browser.count(&format!("form[action='/eliminations/{id}/visa']")), 0);
    assert!(
        browser.text().contains("En attente du visa de l'autorité d'archives"),
        "{}",
        browser.text()
    );

    // The visa holder signs in, finds the elimination in the menu and
    // records the visa; one dated before the proposal is refused, next to
    // the form.
    let authority = Browser::start(Scripts::On);
    authority.sign_in(&base, "vanessa", VISA_PASSWORD);
    assert_eq!(authority.count("a[href='/conservation']"), 0, "no archivists' pages");
    assert_eq!(authority.count("a[href='/deposer']"), 0, "no depositing");
    authority.follow("a[href='/eliminations']", "/eliminations");
    assert_eq!(authority.count("form[action='/eliminations']"), 0, "no proposing");
    authority.follow(&format!("a[href='/eliminations/{id}']"), &format!("/eliminations/{id}"));
    authority.fill("#visa", "AD-2026-117");
    authority.fill("#signataire", "Directrice des Archives départementales");
    authority.fill("#date", "01/01/2000");
    press(&authority, &format!("form[action='/eliminations/{id}/visa'] button"));
    let text = authority.text();
    assert!(text.contains("ne peut précéder la proposition"), "{text}");
    assert_eq!(authority.value("#visa"), "AD-2026-117", "what was typed stays");
    authority.fill("#date", "");
    authority.follow(
        &format!("form[action='/eliminations/{id}/visa'] button"),
        &format!("/eliminations/{id}"),
    );
    let text = authority.text();
    assert!(text.contains("(visée)") && text.contains("visa AD-2026-117"), "{text}");
    assert!(
        text.contains("vanessa (autorité d'archives)"),
        "who recorded it: {text}"
    );
    assert_eq!(
        authority.count(&format!("form[action='/eliminations/{id}/execution']")),
        0
    );
    authority.review("elimination-visa");
    browser.goto(&format!("{base}/eliminations/{id}"));
    press(&browser, &format!("form[action='/eliminations/{id}/execution'] button"));
    assert!(browser.text().contains("(exécutée)"), "{}", browser.text());
    let text = browser.text();
    assert!(text.contains("éliminé"), "{text}");
    browser.review("elimination-executee");
    let (status, certificate, _) = get_with_cookies(
        &format!("{base}/eliminations/{id}/certificat"),
        &browser.cookie_header(),
    );
    assert_eq!(status, 200);
    let certificate: Value = serde_json::from_slice(&certificate).expect("JSON");
    assert_eq!(certificate["destroyed"][0]["reference"], old[0].as_str());
    // The certificate as a PDF, read back, and filed as a record of the
    // plan's node for certificates.
    let (status, pdf, _) = get_with_cookies(
        &format!("{base}/eliminations/{id}/certificat.pdf"),
        &browser.cookie_header(),
    );
    assert_eq!(status, 200);
    let read = pdf_text(dir.path(), "certificat.pdf", &pdf);
    assert!(read.contains(&format!("Certificat d'élimination n° {id}")), "{read}");
    assert!(read.contains("Commune de Saint-Exemple"), "{read}");
    assert!(read.contains(&old[0]) && read.contains("AD-2026-117"), "{read}");
    let (status, page, _) = get_with_cookies(
        &format!("{base}/eliminations/{id}/certificat.html"),
        &browser.cookie_header(),
    );
    assert_eq!(status, 200);
    let page = String::from_utf8_lossy(&page).into_owned();
    assert!(
        page.contains(&format!("Certificat d'élimination n° {id}")) && page.contains(&old[0]),
        "{page}"
    );
    assert!(page.contains("éliminé"), "{page}");
    let text = browser.text();
    let filed = text
        .split("sous la référence ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .map(|r| r.trim_end_matches('.').to_owned())
        .unwrap_or_else(|| panic!("the certificate's record: {text}"));
    assert!(filed.starts_with("ADM-ARC-"), "{filed}");
    let record = get(&scene.server.url(&format!("/api/v1/records/{filed}")), &scene.admin).json();
    assert_eq!(record["type"], "certificat d'élimination", "{record}");
    assert_eq!(record["versions"][0]["media_type"], "application/pdf", "{record}");
    assert_eq!(record["versions"][0]["size"].as_u64(), Some(pdf.len() as u64));
    assert_eq!(
        get(&scene.server.url(&format!("/api/v1/records/{}", old[0])), &scene.admin).status,
        410
    );
}

#[test]
fn an_archivist_transfers_records_to_the_archives_from_proposal_to_acceptance() {
    let scene = scene();
    let base = scene.server.base.clone();
    open_account(&scene, "claire", "Claire Archiviste", "archivist", ARCHIVIST_PASSWORD);
    let a = deposit(
        &scene.server,
        &scene.admin,
        "Délibération du conseil municipal de 2010".as_bytes(),
        "deliberation.txt",
        &json!({"node": "ADM-DEL", "date": "2010-06-30", "title": "Délibération budgétaire 2010"}),
    )
    .expect("deposit");
    assert_eq!(a.status, 201, "{}", String::from_utf8_lossy(&a.body));
    let reference = a.json()["reference"].as_str().expect("reference").to_owned();

    let browser = Browser::start(Scripts::On);
    browser.sign_in(&base, "claire", ARCHIVIST_PASSWORD);
    browser.follow("a[href='/versements']", "/versements");
    browser.choose("#noeud", "ADM");
    browser.follow("form[action='/versements'] button[type=submit]", "/versements/");
    let text = browser.text();
    assert!(text.contains("Bordereau de versement n°"), "{text}");
    assert!(text.contains(&reference) && text.contains("1 an"), "{text}");
    assert!(text.contains("Le chef du service versant"), "{text}");
    browser.review("versement");
    let url = browser.url();
    let id = url.rsplit('/').next().expect("id").to_owned();

    // The package, downloaded as the form sends it.
    let csrf = browser.attr(
        &format!("form[action='/versements/{id}/paquet'] input[name=csrf]"),
        "value",
    );
    let answer = ureq::AgentBuilder::new()
        .redirects(0)
        .build()
        .post(&format!("{base}/versements/{id}/paquet"))
        .set("Cookie", &browser.cookie_header())
        .send_form(&[("csrf", csrf.as_str())])
        .expect("the package");
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.content_type(), "application/zip");
    let mut zip = Vec::new();
    std::io::Read::read_to_end(&mut answer.into_reader(), &mut zip).expect("read");
    assert_eq!(&zip[..2], b"PK", "a zip");

    // The bordereau de versement as a PDF, read back.
    let (status, pdf, _) = get_with_cookies(
        &format!("{base}/versements/{id}/bordereau.pdf"),
        &browser.cookie_header(),
    );
    assert_eq!(status, 200);
    let dir = tempfile::tempdir().expect("a folder");
    let read = pdf_text(dir.path(), "bordereau-versement.pdf", &pdf);
    assert!(read.contains(&format!("Bordereau de versement n° {id}")), "{read}");
    assert!(
        read.contains(&reference) && read.contains("Paquets SEDA 2.3 remis"),
        "{read}"
    );
    assert!(read.contains("Le chef du service versant"), "{read}");

    // The archives' SEDA answer, uploaded: one about a package this
    // archive never sent is refused, said next to the form.
    browser.goto(&url);
    assert!(browser.text().contains("paquet exporté"), "{}", browser.text());
    let stray = dir.path().join("reponse.xml");
    std::fs::write(
        &stray,
        crate::packages::archives_reply("ArchiveTransferReply", "PAQUET-INCONNU", "AD33-X", "OK"),
    )
    .expect("write");
    browser.attach("#reponse", &[&stray]);
    press(&browser, &format!("form[action='/versements/{id}/reponse'] button"));
    let text = browser.text();
    assert!(text.contains("« PAQUET-INCONNU », qu'aucun versement"), "{text}");
    browser.review("versement-reponse-refusee");

    // The archives' acceptance, typed from their answer.
    browser.goto(&url);
    browser.fill("#reference", "AD33-2026-W-0042");
    browser.fill("#signataire", "Directeur des Archives");
    browser.follow(
        &format!("form[action='/versements/{id}/acceptation'] button"),
        &format!("/versements/{id}"),
    );
    let text = browser.text();
    assert!(
        text.contains("accepté par les archives sous la référence AD33-2026-W-0042"),
        "{text}"
    );
    assert!(text.contains("versé"), "{text}");
    browser.review("versement-accepte");
    assert_eq!(
        get(&scene.server.url(&format!("/api/v1/records/{reference}")), &scene.admin).status,
        410
    );
    browser.goto(&format!("{base}/registres?registre=versements"));
    assert!(browser.text().contains("AD33-2026-W-0042"), "{}", browser.text());
}

#[test]
fn an_auditor_sees_each_copy_of_the_archive_and_how_far_it_follows() {
    let fresh = fresh_archive();
    let copy = fresh.tmp.path().join("copie");
    let place = copy.to_str().expect("path").to_owned();
    let server = Server::start(&fresh.data, &["--copy", &place]);
    let a = post_json(
        &server.url("/api/v1/accounts"),
        &fresh.token,
        &json!({"user": "odile", "display_name": "Odile Contrôle", "role": "auditor", "password": AUDITOR_PASSWORD}),
    );
    assert_eq!(a.status, 201, "{}", String::from_utf8_lossy(&a.body));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let stats = get(&server.url("/api/v1/stats"), &fresh.token).json();
        if stats["copies"][0]["lag_events"] == 0 && stats["copies"][0]["contents_complete"] == true {
            break;
        }
        assert!(Instant::now() < deadline, "the copy did not catch up: {stats}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let browser = Browser::start(Scripts::On);
    browser.sign_in(&server.base, "odile", AUDITOR_PASSWORD);
    browser.goto(&format!("{}/controle", server.base));
    let text = browser.text();
    assert!(text.contains("Copies de l'archive"), "{text}");
    assert!(text.contains(&place), "{text}");
    assert!(text.contains("à jour (n°"), "{text}");
    assert!(text.contains("en service"), "{text}");
    browser.review("controle-copies");
}

/// An invoice as a text file, whose SIRET key and totals fail.
fn doubtful_invoice() -> &'static str {
    "Papeterie Dupont SARL\nSIRET : 732 829 320 00075\nFacture n° FA-2024-0117\nDate de facture : 14/04/2024\n\
     Total HT : 1 000,00 EUR\nTVA 20 % : 200,00 EUR\nTotal TTC : 1 280,00 EUR\n"
}

#[test]
fn an_agent_corrects_a_doubtful_invoice_from_the_verification_queue() {
    let scene = scene();
    let base = scene.server.base.clone();
    let meta = json!({"node": "FIN-FAC", "title": "Facture Papeterie Dupont", "date": "2024-04-14"});
    let a = deposit(
        &scene.server,
        &scene.admin,
        doubtful_invoice().as_bytes(),
        "facture-dupont.txt",
        &meta,
    )
    .expect("deposit");
    assert_eq!(a.status, 201, "{}", String::from_utf8_lossy(&a.body));
    let reference = a.json()["reference"].as_str().expect("reference").to_owned();
    // The indexer reads it once its text is indexed.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !get(&scene.server.url("/api/v1/verification"), &scene.admin)
        .text()
        .contains(&reference)
    {
        assert!(Instant::now() < deadline, "{reference} never waited for verification");
        std::thread::sleep(Duration::from_millis(100));
    }

    let browser = Browser::start(Scripts::On);
    browser.sign_in(&base, "agnes", AGENT_PASSWORD);
    browser.follow("a[href='/a-verifier']", "/a-verifier");
    let text = browser.text();
    assert!(
        text.contains("Facture Papeterie Dupont") && text.contains(&reference),
        "{text}"
    );
    assert!(text.contains("à relire : fournisseur, SIRET"), "{text}");
    assert!(text.contains("Aucune description n'a encore été vérifiée"), "{text}");
    browser.review("a-verifier");

    browser.follow(
        &format!("a[href='/a-verifier/{reference}']"),
        &format!("/a-verifier/{reference}"),
    );
    let text = browser.text();
    assert!(
        text.contains("Lu : 1\u{202f}280,00\u{202f}€"),
        "the total as read, in French: {text}"
    );
    assert!(text.contains("confiance"), "{text}");
    assert!(text.contains("Luhn"), "why the SIRET is doubtful: {text}");
    assert_eq!(
        browser.value("#champ-numero_facture"),
        "FA-2024-0117",
        "a sure field kept"
    );
    assert_eq!(browser.count(".a-relire"), 5, "fournisseur, siret and the three totals");
    browser.review("a-verifier-facture");

    // A total that is no amount is refused next to its field, with what
    // was typed.
    browser.fill("#champ-montant_ttc", "douze cents");
    browser.click("form.formulaire button[type=submit]");
    std::thread::sleep(Duration::from_millis(300));
    let text = browser.text();
    assert!(text.contains("n'est pas un nombre"), "{text}");
    assert_eq!(browser.attr("#champ-montant_ttc", "aria-invalid"), "true");
    assert_eq!(browser.value("#champ-montant_ttc"), "douze cents");
    browser.review("a-verifier-erreur");

    browser.fill("#champ-montant_ttc", "1 200,00");
    browser.fill("#champ-siret", "73282932000074");
    browser.fill("#champ-fournisseur", "Papeterie Dupont");
    browser.fill("#commentaire", "Total relu sur l'original");
    browser.follow("form.formulaire button[type=submit]", "verifie=");
    let text = browser.text();
    assert!(
        text.contains(&format!("La description de {reference} est vérifiée")),
        "{text}"
    );
    assert!(!text.contains("Facture Papeterie Dupont"), "it left the queue: {text}");
    // The share corrected, by field: the total and the SIRET were; a
    // field the form showed and nobody read or changed is not counted.
    assert!(text.contains("Montant TTC"), "{text}");
    assert!(!text.contains("Bon de commande"), "{text}");
    browser.review("a-verifier-bilan");

    let record = get(&scene.server.url(&format!("/api/v1/records/{reference}")), &scene.admin).json();
    assert_eq!(record["fields"]["montant_ttc"], "1200.00", "{record}");
    assert_eq!(record["fields"]["siret"], "73282932000074", "{record}");
    assert!(record.get("to_verify").is_none(), "{record}");
    assert!(record["history"].to_string().contains("record.verified"), "{record}");
}

#[test]
fn an_agent_moves_an_invoice_on_from_the_work_list_and_the_dashboard_shows_the_json_s_figures() {
    let scene = scene();
    let base = scene.server.base.clone();
    let today = chrono::Utc::now().date_naive();
    // An invoice received 40 days ago waits at « Reçue », overdue; two
    // others were paid, in 25 and in 45 days.
    let invoice = |n: u32, received: chrono::NaiveDate| {
        let meta = json!({"node": "FIN-FAC", "title": format!("Facture Papeterie Dupont n° {n}"), "date": received.to_string(),
            "service": "Voirie",
            "fields": {"fournisseur": "Papeterie Dupont", "numero_facture": format!("PD-{n}"), "montant_ttc": "2400.00",
                       "date_reception": received.to_string()}});
        let a = deposit(
            &scene.server,
            &scene.admin,
            format!("Papeterie Dupont facture PD-{n}").as_bytes(),
            "facture.txt",
            &meta,
        )
        .expect("deposit");
        assert_eq!(a.status, 201, "{}", a.text());
        a.json()["reference"].as_str().expect("reference").to_owned()
    };
    let days = chrono::Duration::days;
    let waiting = invoice(1, today - days(40));
    for (n, took) in [(2, 25), (3, 45)] {
        let received = today - days(100);
        let reference = invoice(n, received);
        for (to, after) in [("service_fait", 5), ("mandatee", 10), ("payee", took)] {
            let a = post_json(
                &scene.server.url(&format!("/api/v1/records/{reference}/moves")),
                &scene.admin,
                &json!({"to": to, "date": (received + days(after)).to_string()}),
            );
            assert_eq!(a.status, 200, "{}", a.text());
        }
    }

    let browser = Browser::start(Scripts::On);
    browser.sign_in(&base, "agnes", AGENT_PASSWORD);
    browser.follow("a[href='/a-traiter']", "/a-traiter");
    let text = browser.text();
    assert!(text.contains("2 documents vous attendent, dont 1 en retard"), "{text}");
    let first = text.find(&waiting).expect("the overdue invoice");
    let other = text.find(&scene.invoice_ref).expect("the scene's invoice");
    assert!(first < other, "the overdue one first: {text}");
    assert!(text.contains("en retard de 30 jours"), "{text}");
    assert!(
        text.contains("2\u{202f}400,00\u{202f}€"),
        "the amount in French: {text}"
    );
    browser.review("a-traiter");

    // « Service fait », today: back to the list, which says so.
    browser.follow(
        &format!("form[action='/documents/{waiting}/mouvement'] button[type=submit]"),
        "fait=",
    );
    let text = browser.text();
    assert!(text.contains(&format!("{waiting} a avancé dans son circuit")), "{text}");
    let record = get(&scene.server.url(&format!("/api/v1/records/{waiting}")), &scene.admin).json();
    assert_eq!(record["circulation"]["step"]["step"], "service_fait", "{record}");
    browser.goto(&format!("{base}/documents/{waiting}"));
    let text = browser.text();
    assert!(
        text.contains("Circuit de traitement") && text.contains("Service fait"),
        "{text}"
    );
    assert!(text.contains("Étapes parcourues"), "{text}");
    browser.review("document-circuit");

    // The dashboard: the chart and the same figures as the JSON.
    browser.follow("a[href='/indicateurs']", "/indicateurs");
    let json = get(&scene.server.url("/api/v1/indicators/payments"), &scene.admin).json();
    let overall = &json["overall"];
    assert_eq!(overall["count"], 2, "{json}");
    let text = browser.text();
    let mean = format!("{:.1}", overall["mean_days"].as_f64().expect("a mean")).replace('.', ",");
    assert!(text.contains(&format!("délai moyen {mean} jours")), "{mean}: {text}");
    assert!(
        text.contains(&format!("90e centile {} jours", overall["p90_days"])),
        "{text}"
    );
    let interest = overall["interest"].as_str().expect("euros").replace('.', ",");
    assert!(text.contains(&interest), "the interest {interest}: {text}");
    assert!(browser.count("svg.graphique") >= 2, "the payment and waiting charts");
    assert!(text.contains("Où les documents attendent"), "{text}");
    // As an agent reads it (the personnel file is not theirs to count).
    let agent = new_token(&scene.server, &scene.admin, "agent", "tableau de bord");
    let stock = get(&scene.server.url("/api/v1/indicators/stocks"), &agent).json();
    assert!(
        text.contains(&format!("{} documents conservés", stock["total"]["records"])),
        "the stock as the JSON says it: {text}"
    );
    assert!(
        browser.count("svg.graphique") >= 3,
        "payments, intake and waiting charts"
    );
    // Capture and the archive's health, as their JSON says them.
    let capture = get(&scene.server.url("/api/v1/indicators/capture"), &agent).json();
    assert!(
        text.contains(&format!(
            "{} documents déposés, dont {} classés par une règle",
            capture["deposited"], capture["classified"]
        )),
        "capture as the JSON says it: {text}"
    );
    let health = get(&scene.server.url("/api/v1/indicators/health"), &agent).json();
    assert!(
        text.contains(&format!(
            "{} documents ont atteint la fin de leur durée de conservation",
            health["now"]["overdue"]
        )),
        "the health as the JSON says it: {text}"
    );
    assert!(text.contains("Contenus endommagés non réparés : 0"), "{text}");
    browser.review("indicateurs");
}
