//! Every endpoint but /healthz needs a token; roles limit what it allows.

use crate::common::*;
use serde_json::json;

const ENDPOINTS: &[(&str, &str)] = &[
    ("POST", "/api/v1/records"),
    ("GET", "/api/v1/records/X-2025-000001"),
    ("GET", "/api/v1/records/X-2025-000001/content"),
    ("POST", "/api/v1/records/X-2025-000001/versions"),
    ("PATCH", "/api/v1/records/X-2025-000001"),
    ("DELETE", "/api/v1/records/X-2025-000001"),
    ("GET", "/api/v1/search?q=x"),
    ("GET", "/api/v1/plan"),
    ("PUT", "/api/v1/plan"),
    ("GET", "/api/v1/plan/versions"),
    ("POST", "/api/v1/plan/validate"),
    ("POST", "/api/v1/tokens"),
    ("GET", "/api/v1/audit/events"),
    ("POST", "/api/v1/audit/verify"),
    ("GET", "/api/v1/audit/verify/1"),
    ("GET", "/api/v1/openapi.json"),
];

#[test]
fn tokens_and_roles_are_enforced() {
    let Fresh {
        tmp: _tmp,
        data,
        token: admin,
    } = fresh_archive();
    let out = cli(&data, &["token", "create", "--role", "agent", "--name", "guichet"]);
    assert!(out.status.success());
    let agent = stdout(&out).trim().to_owned();
    assert_eq!(stdout(&out).lines().count(), 1, "the token alone on stdout");
    let server = Server::start(&data, &[]);

    for (method, path) in ENDPOINTS {
        for token in ["", "coffre_not-a-real-token"] {
            let a = request(method, &server.url(path), token, &[], None).unwrap();
            assert_eq!(a.status, 401, "{method} {path} with {token:?}");
            assert_eq!(a.error_code(), "unauthenticated");
        }
    }
    assert_eq!(get(&server.url("/healthz"), "").status, 200);
    let spec = get(&server.url("/api/v1/openapi.json"), &agent);
    assert_eq!(spec.status, 200);
    let paths = spec.json()["paths"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect::<Vec<_>>();
    for (_, path) in ENDPOINTS {
        let generic = path
            .replace("X-2025-000001", "{ref}")
            .replace("verify/1", "verify/{job}")
            .replace("?q=x", "");
        assert!(
            paths.contains(&generic),
            "{generic} is missing from the OpenAPI description"
        );
    }

    let a = post_json(
        &server.url("/api/v1/tokens"),
        &agent,
        &json!({"role": "admin", "name": "escalade"}),
    );
    assert_eq!(a.status, 403);
    assert_eq!(a.error_code(), "forbidden");
    assert_eq!(get(&server.url("/api/v1/audit/events"), &agent).status, 403);
    assert_eq!(
        request("POST", &server.url("/api/v1/audit/verify"), &agent, &[], None)
            .unwrap()
            .status,
        403
    );

    // An admin issues an auditor token, which reads the journal.
    let a = post_json(
        &server.url("/api/v1/tokens"),
        &admin,
        &json!({"role": "auditor", "name": "cour des comptes"}),
    );
    assert_eq!(a.status, 201);
    let auditor = a.json()["token"].as_str().unwrap().to_owned();
    let events = get(&server.url("/api/v1/audit/events?after=0"), &auditor);
    assert_eq!(events.status, 200);
    let events = events.json();
    let kinds: Vec<_> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        // The refusals above are journaled too (tests/it/trail.rs).
        .filter(|kind| kind != "access.refused")
        .collect();
    assert_eq!(
        kinds,
        [
            "archive.initialized",
            "seal.key_created",
            "plan.published",
            "account.created",
            "token.created",
            "token.created",
            "token.created"
        ]
    );
    assert!(!events.to_string().contains(&auditor), "tokens are never journaled");
    // An auditor cannot deposit.
    let d = deposit(&server, &auditor, b"x", "x.txt", &json!({"node": "X"})).unwrap();
    assert_eq!(d.status, 403);
    let bad = post_json(
        &server.url("/api/v1/tokens"),
        &admin,
        &json!({"role": "superuser", "name": "x"}),
    );
    assert_eq!(bad.status, 422);
}
