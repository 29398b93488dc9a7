//! The command line as a client of a running server: through the server
//! that holds the data directory (instead of exiting 3), or through the one
//! named with `--server` after `coffre login`; the same output and exit
//! codes either way, and the journal names who acted.

use crate::common::*;
use serde_json::{Value, json};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// Runs `coffre` with `args`, as the system user `greffe`, with its own
/// configuration folder, and `stdin` given.
fn run(data: &Path, config: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(bin())
        .arg("--data")
        .arg(data)
        .args(args)
        .env("USER", "greffe")
        .env("XDG_CONFIG_HOME", config)
        .env_remove("COFFRE_URL")
        .env_remove("COFFRE_TOKEN")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn coffre");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("wait")
}

fn actors_of(server: &Server, admin: &str, kind: &str) -> Vec<String> {
    let events = get(&server.url("/api/v1/audit/events?after=0"), admin).json();
    events["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["kind"] == kind)
        .filter_map(|e| e["actor"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn the_command_line_goes_through_the_running_server_in_the_name_of_who_uses_it() {
    let Fresh {
        tmp,
        data,
        token: admin,
    } = fresh_archive();
    let config = tmp.path().join("config");
    let folder = tmp.path().join("factures");
    std::fs::create_dir_all(&folder).expect("folder");
    for (name, text) in [
        (
            "boulangerie.txt",
            "Facture de la boulangerie du Centre : pains pour la cantine",
        ),
        ("papeterie.txt", "Facture de la papeterie : cahiers et crayons"),
    ] {
        std::fs::write(folder.join(name), text).expect("write");
    }
    let server = Server::start(&data, &[]);
    let a = post_json(
        &server.url("/api/v1/accounts"),
        &admin,
        &json!({"user": "agnes", "display_name": "Agnès Martin", "role": "agent", "password": "une longue phrase de passe"}),
    );
    assert_eq!(a.status, 201);

    // No --server: the server holding the data directory answers, and the
    // journal names the system user. One file at a time: the numbers
    // follow the order of the files.
    let folder_arg = folder.to_str().expect("path");
    let out = run(
        &data,
        &config,
        &[
            "ingest",
            folder_arg,
            "--node",
            "FIN-FAC",
            "--date",
            "2024-03-15",
            "--jobs",
            "1",
        ],
        "",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).lines().count(), 2, "one line per file: {}", stdout(&out));
    assert!(
        stderr(&out).contains("2 déposés sur 2 fichiers"),
        "{}|{}",
        stderr(&out),
        stdout(&out)
    );
    assert_eq!(
        actors_of(&server, &admin, "record.ingested"),
        ["cli:greffe", "cli:greffe"]
    );
    // The server's indexer follows the journal from behind: within a second.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let out = loop {
        let out = run(
            &data,
            &config,
            &["search", "boulangerie", "--sort", "date", "--to", "2024-03-15"],
            "",
        );
        assert!(out.status.success(), "{}", stderr(&out));
        if stdout(&out).contains("FIN-FAC-2024-000001") || std::time::Instant::now() > deadline {
            break out;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert!(stdout(&out).contains("FIN-FAC-2024-000001"), "{}", stdout(&out));
    let through_server_search = stdout(&out);
    // FACTURES reads invoices: the server reads its text just after.
    let through_server_show: Value = loop {
        let out = run(&data, &config, &["show", "FIN-FAC-2024-000001", "--json"], "");
        assert!(out.status.success(), "{}", stderr(&out));
        let shown: Value = serde_json::from_str(&stdout(&out)).expect("JSON");
        if shown.get("reading").is_some() || std::time::Instant::now() > deadline {
            break shown;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert!(through_server_show.get("reading").is_some(), "{through_server_show}");

    // The same files again: deposited, and said to be archived already.
    let out = run(
        &data,
        &config,
        &["ingest", folder_arg, "--node", "FIN-FAC", "--date", "2024-03-16"],
        "",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("même contenu que FIN-FAC-2024-000001"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("dont 2 déjà archivés"), "{}", stderr(&out));
    let a = get(&server.url("/api/v1/contents/not-a-digest"), &admin);
    assert_eq!((a.status, a.error_code().as_str()), (422, "invalid_field"));

    // Holds and what is due, through the server too.
    let out = run(
        &data,
        &config,
        &[
            "hold",
            "place",
            "--record",
            "FIN-FAC-2024-000002",
            "--reason",
            "contentieux",
        ],
        "",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("gel "), "{}", stdout(&out));
    let out = run(&data, &config, &["hold", "list", "--json"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let hold: Value = serde_json::from_str(stdout(&out).lines().next().expect("a hold")).expect("JSON");
    assert_eq!(hold["placed_by"], "cli:greffe");
    let out = run(&data, &config, &["retention", "due", "--at", "2040-01-01"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("FIN-FAC-2024-000002") && stdout(&out).contains("GELÉ par"),
        "{}",
        stdout(&out)
    );
    assert!(stderr(&out).contains("4 documents échus"), "{}", stderr(&out));
    let through_server_due = stdout(&out);
    let hold_id = hold["id"].as_u64().expect("id").to_string();
    let out = run(
        &data,
        &config,
        &["hold", "lift", &hold_id, "--reason", "litige clos"],
        "",
    );
    assert!(out.status.success(), "{}", stderr(&out));

    // The disposal workflow, through the server: proposed, its bordereau.
    let out = run(
        &data,
        &config,
        &["disposal", "propose", "--at", "2040-01-01", "--node", "FIN"],
        "",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with("élimination ") && stdout(&out).contains("4 documents"),
        "{}",
        stdout(&out)
    );
    let id = stdout(&out)
        .trim_start_matches("élimination ")
        .split(' ')
        .next()
        .expect("an id")
        .to_owned();
    let out = run(&data, &config, &["disposal", "bordereau", &id, "--csv"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("FIN-FAC-2024-000001"), "{}", stdout(&out));
    let out = run(&data, &config, &["disposal", "list", "--json"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).lines().count(), 1);
    let out = run(&data, &config, &["transfer", "list"], "");
    assert!(out.status.success(), "{}", stderr(&out));

    // A record changed, and a package exported, through the server.
    let out = run(
        &data,
        &config,
        &[
            "update",
            "FIN-FAC-2024-000002",
            "--title",
            "Facture de papeterie",
            "--reason",
            "titre précisé",
        ],
        "",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "FIN-FAC-2024-000002 : modifié, nœud FIN-FAC\n");
    let package = tmp.path().join("paquet.zip");
    let out = run(
        &data,
        &config,
        &["export", "--node", "FIN", "-o", package.to_str().expect("path")],
        "",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(": 4 documents, ") && stdout(&out).contains("prouvés par le sceau"),
        "{}",
        stdout(&out)
    );
    let out = run(&data, &config, &["verify-package", package.to_str().expect("path")], "");
    assert!(
        out.status.success(),
        "the package from the server checks offline: {}{}",
        stdout(&out),
        stderr(&out)
    );

    // The plan, through the server.
    let out = run(&data, &config, &["plan", "show"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("plan, version 1 :"), "{}", stdout(&out));
    assert!(stdout(&out).contains("FIN-FAC  Factures"), "{}", stdout(&out));
    let out = run(&data, &config, &["plan", "versions"], "");
    assert_eq!(stdout(&out).lines().count(), 1, "{}", stdout(&out));
    let bad = tmp.path().join("plan-faux.toml");
    std::fs::write(&bad, "[plan]\nid = \"x\"\n").expect("write");
    let out = run(
        &data,
        &config,
        &["plan", "publish", bad.to_str().expect("path"), "--dry-run"],
        "",
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("plan-faux.toml:"),
        "each problem on its line: {}",
        stdout(&out)
    );

    // Accounts and tokens, through the server, while it runs.
    let out = run(
        &data,
        &config,
        &["account", "password", "admin", "--password-stdin"],
        "la phrase de l'administrateur\n",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(
        &data,
        &config,
        &[
            "account",
            "create",
            "bruno",
            "--role",
            "archivist",
            "--display-name",
            "Bruno",
            "--password-stdin",
        ],
        "la phrase de passe de Bruno\n",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let a = post_json(
        &server.url("/api/v1/login"),
        "",
        &json!({"user": "bruno", "password": "la phrase de passe de Bruno"}),
    );
    assert_eq!(a.status, 201, "the account opened through the server signs in");
    let out = run(&data, &config, &["account", "disable", "bruno"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(&data, &config, &["account", "list", "--json"], "");
    let bruno: Value = stdout(&out)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|a| a["user"] == "bruno")
        .expect("bruno listed");
    assert_eq!(bruno["disabled"], true);
    let out = run(
        &data,
        &config,
        &["token", "create", "--role", "auditor", "--name", "contrôle"],
        "",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let auditor = stdout(&out).trim().to_owned();
    assert_eq!(get(&server.url("/api/v1/audit/events?after=0"), &auditor).status, 200);

    // Seals, proofs and the accusé de dépôt, through the server.
    let out = run(&data, &config, &["audit", "seal"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("sceau "), "{}", stdout(&out));
    let out = run(&data, &config, &["audit", "proof", "FIN-FAC-2024-000001"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let proof: Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert_eq!(proof["reference"], "FIN-FAC-2024-000001");
    let out = run(&data, &config, &["attestation", "FIN-FAC-2024-000001"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let attestation: Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert_eq!(attestation["depositor"], "cli:greffe");

    // Log in, then work through --server as that person.
    let out = run(
        &data,
        &config,
        &["login", &server.base, "--user", "agnes", "--password-stdin"],
        "une longue phrase de passe\n",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("connecté"), "{}", stdout(&out));
    let logins = config.join("coffre/logins.json");
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&logins).expect("logins").permissions().mode();
        assert_eq!(mode & 0o077, 0, "the token is the user's alone");
    }
    let elsewhere = tmp.path().join("no-data-here");
    let remote = |args: &[&str]| {
        let mut all = vec!["--server", server.base.as_str()];
        all.extend_from_slice(args);
        run(&elsewhere, &config, &all, "")
    };
    let one = tmp.path().join("une.txt");
    std::fs::write(&one, "Délibération du conseil municipal sur la cantine").expect("write");
    let out = remote(&["ingest", one.to_str().expect("path"), "--node", "ADM-DEL"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        actors_of(&server, &admin, "record.ingested").contains(&"agnes (agent)".to_owned()),
        "the journal names the person who logged in"
    );
    let copy = tmp.path().join("copie.txt");
    let out = remote(&["get", "FIN-FAC-2024-000001", "-o", copy.to_str().expect("path")]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        std::fs::read(&copy).expect("copy"),
        std::fs::read(folder.join("boulangerie.txt")).expect("original")
    );
    // Errors keep their exit codes: an unknown record is 2, as locally.
    let out = remote(&["show", "FIN-FAC-2024-999999"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("FIN-FAC-2024-999999"), "{}", stderr(&out));
    // The same output on the data directory, once the server has stopped.
    let base = server.base.clone();
    server.stop();
    // A server that is not there: exit 3, said in one line.
    let out = run(&elsewhere, &config, &["--server", &base, "search", "x"], "");
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("ne répond pas"), "{}", stderr(&out));
    // (Sorted by date: relevance scores move as the archive grows.)
    let out = run(
        &data,
        &config,
        &["search", "boulangerie", "--sort", "date", "--to", "2024-03-15"],
        "",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), through_server_search);
    let out = run(&data, &config, &["show", "FIN-FAC-2024-000001", "--json"], "");
    let mut local_show: Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    let mut through_server_show = through_server_show;
    // (The history grew since: the record was proposed for disposal.)
    for shown in [&mut local_show, &mut through_server_show] {
        shown["history"] = Value::Null;
    }
    assert_eq!(local_show, through_server_show);
    let out = run(&data, &config, &["retention", "due", "--at", "2040-01-01"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    // The same lines for the invoices (the hold lifted since; a deliberation
    // deposited after).
    let invoices = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| l.contains("FIN-FAC"))
            .map(|l| l.split("  GELÉ").next().unwrap_or_default().to_owned())
            .collect()
    };
    assert_eq!(invoices(&stdout(&out)), invoices(&through_server_due));
}

/// Runs `coffre` as `greffe` with `token` in COFFRE_TOKEN.
fn run_with_token(data: &Path, token: &str, args: &[&str]) -> Output {
    Command::new(bin())
        .arg("--data")
        .arg(data)
        .args(args)
        .env("USER", "greffe")
        .env("XDG_CONFIG_HOME", data.with_extension("config"))
        .env_remove("COFFRE_URL")
        .env("COFFRE_TOKEN", token)
        .output()
        .expect("run coffre")
}

#[test]
fn imports_integrity_checks_fixity_reindex_and_the_journal_go_through_the_server_too() {
    let tmp = tempfile::tempdir().expect("tmp");
    let first = tmp.path().join("premier");
    let first_token = init(&first);
    let second = tmp.path().join("second");
    let second_token = init(&second);
    let a = Server::start(&first, &[]);
    let deposited = deposit(
        &a,
        &first_token,
        b"Facture de la boulangerie du Centre",
        "facture.txt",
        &json!({"node": "FIN-FAC", "date": "2024-03-15"}),
    )
    .expect("deposit");
    assert_eq!(deposited.status, 201);
    let old_reference = deposited.json()["reference"].as_str().expect("reference").to_owned();
    let b = Server::start(&second, &[]);
    let config = tmp.path().join("config");

    // Export from the first archive through its server.
    let package = tmp.path().join("versement.zip");
    let out = run(
        &first,
        &config,
        &["export", "--node", "FIN-FAC", "-o", package.to_str().expect("path")],
        "",
    );
    assert!(out.status.success(), "{}", stderr(&out));

    // Import into the second through its server: a dry run, then for real.
    let package_arg = package.to_str().expect("path");
    let out = run(&second, &config, &["import", package_arg, "--dry-run"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("essai à blanc"), "{}", stderr(&out));
    assert_eq!(
        get(&b.url(&format!("/api/v1/records/{old_reference}")), &second_token).status,
        404
    );
    let out = run(&second, &config, &["import", package_arg, "--json"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let imported: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(imported.len(), 1);
    assert_eq!(
        get(&b.url(&format!("/api/v1/records/{old_reference}")), &second_token).status,
        200
    );
    assert_eq!(actors_of(&b, &second_token, "record.ingested"), ["cli:greffe"]);
    // Again: refused whole, with the exit code of bad input, as locally.
    let out = run(&second, &config, &["import", package_arg], "");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("déjà été importé"), "{}", stderr(&out));

    // Named with --server from a machine with no data directory at all.
    let elsewhere = tmp.path().join("nulle-part");
    let through = |args: &[&str]| {
        let mut all = vec!["--server", b.base.as_str()];
        all.extend_from_slice(args);
        run_with_token(&elsewhere, &second_token, &all)
    };
    let out = through(&["audit", "verify"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("tout est intact"), "{}", stdout(&out));
    let out = through(&["audit", "verify", "--json"]);
    let report: Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert_eq!(report["passed"], true);
    assert!(report["records_checked"].as_u64() >= Some(1), "{report}");

    let out = through(&["audit", "fixity", "run"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("dernier passage"), "{}", stdout(&out));
    assert!(stdout(&out).contains("0 défaut"), "{}", stdout(&out));
    let out = through(&["audit", "fixity", "pause"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("en pause"), "{}", stdout(&out));
    let out = through(&["audit", "fixity", "run"]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(stderr(&out).contains("en pause"), "{}", stderr(&out));
    let out = through(&["audit", "fixity", "resume"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = through(&["audit", "fixity", "sometimes"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));

    let out = through(&["reindex"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("index à jour"), "{}", stdout(&out));

    let out = through(&["repair"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("aucun stockage de copies configuré")
            && stdout(&out).contains("bilan : 0 contenu réparé, 0 copie complétée, 0 contenu non réparé"),
        "{}",
        stdout(&out)
    );

    let out = through(&["audit", "log"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out)
            .lines()
            .any(|l| l.contains("record.ingested") && l.contains("cli:greffe")),
        "{}",
        stdout(&out)
    );
    let out = through(&["audit", "log", "--json", "--after", "1"]);
    let first_line: Value = serde_json::from_str(stdout(&out).lines().next().expect("an event")).expect("JSON");
    assert_eq!(first_line["seq"], 2);
    assert!(!elsewhere.exists(), "nothing was written where no archive is");
    a.stop();
    b.stop();
}
