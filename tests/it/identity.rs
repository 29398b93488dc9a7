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

/// An image encoded as `format`: a blue band with a transparent corner.
fn logo_image(width: u32, height: u32, format: image::ImageFormat) -> Vec<u8> {
    let picture = image::RgbaImage::from_fn(width, height, |x, y| {
        if x < 8 && y < 8 {
            image::Rgba([0, 0, 0, 0])
        } else {
            image::Rgba([16, 42, 76, 255])
        }
    });
    let mut out = std::io::Cursor::new(Vec::new());
    if format == image::ImageFormat::Jpeg {
        image::DynamicImage::ImageRgba8(picture)
            .to_rgb8()
            .write_to(&mut out, format)
            .expect("encode");
    } else {
        picture.write_to(&mut out, format).expect("encode");
    }
    out.into_inner()
}

/// `pdfimages -list` of a PDF: its image lines (type, width, height,
/// colour), one per image or mask.
fn pdf_images(dir: &std::path::Path, pdf: &[u8]) -> Vec<Vec<String>> {
    let path = dir.join("papier.pdf");
    std::fs::write(&path, pdf).expect("write");
    let out = std::process::Command::new("pdfimages")
        .arg("-list")
        .arg(&path)
        .output()
        .expect("pdfimages (poppler-utils, installed by make deps)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .skip(2)
        .map(|l| l.split_whitespace().skip(2).take(4).map(str::to_owned).collect())
        .collect()
}

#[test]
fn the_logo_heads_the_papers_is_checked_and_is_a_blob_the_journal_uses() {
    let Fresh { tmp, data, token } = fresh_archive();
    let file = tmp.path().join("identite.toml");
    std::fs::write(&file, IDENTITY_TOML).expect("write");
    assert!(
        cli(&data, &["identity", "set", file.to_str().expect("path")])
            .status
            .success()
    );
    let server = Server::start(&data, &[]);
    let url = server.url("/api/v1/identity/logo");
    assert_eq!(get(&url, &token).error_code(), "logo_not_set");
    let png = logo_image(1200, 600, image::ImageFormat::Png);
    let put = |token: &str, bytes: &[u8]| request("PUT", &url, token, &[], Some(("image/png", bytes))).expect("PUT");

    // What is not a sound PNG or JPEG is refused, saying why; nothing is kept.
    let agent = new_token(&server, &token, "agent", "guichet");
    assert_eq!(put(&agent, &png).status, 403);
    let gif = put(&token, b"GIF89a\x01\x00\x01\x00\x00\x00\x00;");
    assert_eq!((gif.status, gif.error_code().as_str()), (422, "invalid_field"));
    assert!(gif.error_message().contains("PNG ou JPEG"), "{}", gif.error_message());
    let cut = put(&token, &png[..png.len() / 2]);
    assert_eq!(cut.status, 422);
    assert!(cut.error_message().contains("abîmé"), "{}", cut.error_message());
    let heavy = put(&token, &vec![0u8; 1024 * 1024 + 1]);
    assert_eq!((heavy.status, heavy.error_code().as_str()), (413, "payload_too_large"));
    assert!(
        get(&server.url("/api/v1/identity"), &token)
            .json()
            .get("logo")
            .is_none()
    );

    // Given: served back byte for byte, kept through a change of identity.
    let set = put(&token, &png);
    assert_eq!(set.status, 200, "{}", String::from_utf8_lossy(&set.body));
    assert_eq!(set.json()["logo"]["width"], 1200);
    assert_eq!(set.json()["logo"]["media_type"], "image/png");
    let served = get(&url, &agent);
    assert_eq!(
        (served.status, served.body == png),
        (200, true),
        "everyone reads it, whole"
    );
    assert_eq!(served.header("content-type"), Some("image/png"));
    let mut identity = get(&server.url("/api/v1/identity"), &token).json();
    identity["name"] = json!("Département de la Gironde (33)");
    identity.as_object_mut().expect("object").remove("logo");
    let renamed = put_json(&server.url("/api/v1/identity"), &token, &identity);
    assert_eq!(
        renamed.json()["logo"]["width"],
        1200,
        "a PUT of the identity keeps the logo"
    );

    // The papers carry it: the bordereau's page as an image of its own, its
    // PDF as an image (scaled to 600 pixels) with its transparency mask.
    let a = deposit(
        &server,
        &token,
        b"Facture de 2012 de la direction des finances",
        "facture.txt",
        &json!({"node": "FIN-FAC", "date": "2012-03-15", "service": "FIN"}),
    )
    .expect("deposit");
    let reference = a.json()["reference"].as_str().expect("reference").to_owned();
    let proposal = post_json(
        &server.url("/api/v1/disposals"),
        &token,
        &json!({"records": [reference]}),
    );
    let id = proposal.json()["id"].as_u64().expect("id");
    let bordereau = server.url(&format!("/api/v1/disposals/{id}/bordereau"));
    let page = String::from_utf8_lossy(&get(&bordereau, &token).body).into_owned();
    assert!(page.contains("<img src=\"data:image/png;base64,"), "{page}");
    assert!(page.contains("alt=\"Logo : Département de la Gironde (33)\""), "{page}");
    let pdf = get(&format!("{bordereau}?format=pdf"), &token).body;
    let images = pdf_images(tmp.path(), &pdf);
    assert_eq!(
        images,
        vec![vec!["image", "600", "300", "rgb"], vec!["smask", "600", "300", "gray"]],
        "the logo and its mask"
    );
    let text = std::process::Command::new("pdftotext")
        .arg(tmp.path().join("papier.pdf"))
        .arg("-")
        .output()
        .expect("pdftotext");
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("Bordereau d'élimination n°"),
        "the text is still there: {text}"
    );
    assert!(
        text.replace('\u{a0}', " ").contains("Total : 1 document, 44 octets") && !text.contains("&#"),
        "a number held to its unit, no HTML reference: {text}"
    );

    // From the command line, through the server: a JPEG, then none.
    let jpeg = tmp.path().join("logo.jpg");
    std::fs::write(&jpeg, logo_image(300, 100, image::ImageFormat::Jpeg)).expect("write");
    let out = cli(&data, &["identity", "logo", jpeg.to_str().expect("path")]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("logo : image/jpeg, 300 × 100 pixels"),
        "{}",
        stdout(&out)
    );
    let images = pdf_images(tmp.path(), &get(&format!("{bordereau}?format=pdf"), &token).body);
    assert_eq!(
        images,
        vec![vec!["image", "300", "100", "rgb"]],
        "an opaque JPEG has no mask"
    );
    let not_an_image = tmp.path().join("logo.txt");
    std::fs::write(&not_an_image, "pas une image").expect("write");
    let out = cli(&data, &["identity", "logo", not_an_image.to_str().expect("path")]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("PNG ou JPEG"), "{}", stderr(&out));
    let out = cli(&data, &["identity", "logo", "--remove"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("logo retiré"), "{}", stdout(&out));
    let page = String::from_utf8_lossy(&get(&bordereau, &token).body).into_owned();
    assert!(!page.contains("<img"), "{page}");
    assert!(pdf_images(tmp.path(), &get(&format!("{bordereau}?format=pdf"), &token).body).is_empty());
    server.stop();

    // Each logo given is a blob the journal names: none unreferenced, none
    // missing.
    let o = cli(&data, &["audit", "verify", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let report: Value = serde_json::from_str(stdout(&o).trim()).expect("JSON");
    assert_eq!(report["unreferenced_blobs"], 0, "{report}");
    assert_journal_follows_its_schema(&data);
}
