//! The collectivité's identity: set from the command line and the API
//! (checked: SIREN and SIRET keys), journaled, and named by the papers and
//! packages made afterwards.

use crate::common::*;
use serde_json::{Value, json};

const IDENTITY_TOML: &str = r#"
name = "Département de la Gironde"
siren = "223 300 013"
siret = "22330001300016"

[[services]]
code = "FIN"
name = "Direction des finances"

[archives]
name = "Archives départementales de la Gironde"
identifier = "FRAD033"
authority = "Directrice des Archives départementales de la Gironde"
"#;

#[test]
fn the_identity_is_set_checked_journaled_and_named_by_papers_and_packages() {
    let Fresh { tmp, data, token } = fresh_archive();
    // Not set yet: said, with the way to set it.
    let out = cli(&data, &["identity", "show"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("coffre identity set"), "{}", stderr(&out));
    let file = tmp.path().join("identite.toml");
    std::fs::write(&file, IDENTITY_TOML).expect("write");
    let out = cli(&data, &["identity", "set", file.to_str().expect("path")]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("SIREN : 223300013"), "{}", stdout(&out));
    let bad = tmp.path().join("faux.toml");
    std::fs::write(&bad, IDENTITY_TOML.replace("223 300 013", "223 300 014")).expect("write");
    let out = cli(&data, &["identity", "set", bad.to_str().expect("path")]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("clé de contrôle"), "{}", stderr(&out));

    let server = Server::start(&data, &[]);
    let shown = get(&server.url("/api/v1/identity"), &token);
    assert_eq!(shown.status, 200);
    assert_eq!(shown.json()["archives"]["identifier"], "FRAD033");
    let agent = new_token(&server, &token, "agent", "guichet");
    assert_eq!(
        get(&server.url("/api/v1/identity"), &agent).status,
        200,
        "everyone reads it"
    );
    let mut changed = shown.json();
    changed["services"]
        .as_array_mut()
        .expect("services")
        .push(json!({"code": "RH", "name": "Ressources humaines"}));
    assert_eq!(put_json(&server.url("/api/v1/identity"), &agent, &changed).status, 403);
    let wrong = put_json(
        &server.url("/api/v1/identity"),
        &token,
        &json!({"name": "X", "siret": "21330063500017", "siren": "223300013"}),
    );
    assert_eq!((wrong.status, wrong.error_code().as_str()), (422, "invalid_field"));
    assert_eq!(put_json(&server.url("/api/v1/identity"), &token, &changed).status, 200);

    // A deposit, its accusé de dépôt, a disposal's bordereau and a package.
    let a = deposit(
        &server,
        &token,
        b"Facture de 2012 de la direction des finances",
        "facture.txt",
        &json!({"node": "FIN-FAC", "date": "2012-03-15", "service": "FIN"}),
    )
    .expect("deposit");
    assert_eq!(a.status, 201, "{}", String::from_utf8_lossy(&a.body));
    let reference = a.json()["reference"].as_str().expect("reference").to_owned();
    let attestation = get(&server.url(&format!("/api/v1/records/{reference}/attestation")), &token).json();
    assert_eq!(
        attestation["collectivite"],
        "Département de la Gironde (SIREN 223300013)"
    );
    let proposal = post_json(
        &server.url("/api/v1/disposals"),
        &token,
        &json!({"records": [reference]}),
    );
    assert_eq!(proposal.status, 201, "{}", String::from_utf8_lossy(&proposal.body));
    let id = proposal.json()["id"].as_u64().expect("id");
    let bordereau = get(&server.url(&format!("/api/v1/disposals/{id}/bordereau")), &token);
    let page = String::from_utf8_lossy(&bordereau.body).into_owned();
    assert!(page.contains("Département de la Gironde (SIREN 223300013)"), "{page}");
    assert!(
        page.contains("Direction des finances"),
        "the service by its name: {page}"
    );
    assert!(page.contains("Le chef du service producteur"), "{page}");
    assert!(
        page.contains("Visa : Directrice des Archives départementales de la Gironde"),
        "{page}"
    );
    let export = post_json(&server.url("/api/v1/exports"), &token, &json!({"records": [reference]}));
    assert_eq!(export.status, 200);
    let zip = tmp.path().join("versement.zip");
    std::fs::write(&zip, &export.body).expect("write");
    let manifest = crate::packages::read_zip(&zip)
        .into_iter()
        .find(|(name, _)| name.ends_with("manifest.xml") || name.ends_with("/data/manifest.xml"))
        .map(|(_, bytes)| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_else(|| {
            crate::packages::read_zip(&zip)
                .into_iter()
                .filter(|(name, _)| name.ends_with(".xml"))
                .map(|(_, bytes)| String::from_utf8_lossy(&bytes).into_owned())
                .collect()
        });
    assert!(
        manifest.contains("<Identifier>FRAD033</Identifier>"),
        "the archives by their identifier: {manifest}"
    );
    assert!(
        manifest.contains("<Identifier>22330001300016</Identifier>"),
        "the collectivité by its SIRET: {manifest}"
    );
    server.stop();

    // A visa names who signed it, at the command line too.
    let out = cli(&data, &["disposal", "approve", &id.to_string(), "--visa", "AD-1"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--signer"), "{}", stderr(&out));
    let events: Vec<Value> = cli(&data, &["audit", "log", "--json"])
        .stdout
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).expect("JSON"))
        .collect();
    let set: Vec<&Value> = events.iter().filter(|e| e["kind"] == "identity.set").collect();
    assert_eq!(set.len(), 2, "each change journaled, whole");
    assert_eq!(set[1]["payload"]["identity"]["services"][1]["code"], "RH");
    assert_journal_follows_its_schema(&data);
}
