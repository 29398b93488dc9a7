//! Processing circuits over HTTP: a year of 1,000 invoices received,
//! suspended, mandated and paid on known days gives exactly the délais,
//! percentiles, shares and interest computed here day by day, without the
//! archive's arithmetic; moves a step does not allow are refused with the
//! allowed ones; work lists follow the person's role and service.

use crate::common::*;
use chrono::{Datelike, Duration, NaiveDate};
use serde_json::{Value, json};
use std::collections::BTreeMap;

fn day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("a date")
}

/// One invoice's life: where it is received, each step it stays at and for
/// how many days, and how it ends.
struct Life {
    number: usize,
    received: NaiveDate,
    stays: Vec<(&'static str, i64)>,
    end: &'static str,
    cents: i64,
    service: &'static str,
    supplier: &'static str,
}

impl Life {
    fn end_date(&self) -> NaiveDate {
        self.received + Duration::days(self.stays.iter().map(|(_, d)| d).sum::<i64>())
    }
}

const SERVICES: [&str; 3] = ["Voirie", "Culture", "Finances"];
const SUPPLIERS: [&str; 5] = [
    "Papeterie Dupont",
    "Boulangerie Martin",
    "Garage du Centre",
    "Imprimerie Morel",
    "Électricité Bernard",
];

fn lives(n: usize) -> Vec<Life> {
    let mut rng = Bytes::new(2024);
    let mut next = |m: u64| (rng.next_u64() % m) as i64;
    (0..n)
        .map(|i| {
            let received = day("2024-01-02") + Duration::days((i as i64 * 290) / n as i64);
            let mut stays = vec![("recue", next(16))];
            if next(4) == 0 {
                stays.push(("suspendue", 1 + next(12)));
                stays.push(("recue", next(6)));
            }
            stays.push(("service_fait", next(16)));
            stays.push(("mandatee", next(14)));
            let end = if next(40) == 0 { "rejetee" } else { "payee" };
            Life {
                number: i,
                received,
                stays,
                end,
                cents: 5_000 + next(900_000),
                service: SERVICES[i % 3],
                supplier: SUPPLIERS[(i / 3) % 5],
            }
        })
        .collect()
}

/// What a payment owes, counted day by day: each day from receipt to the
/// day before payment counts unless the invoice was suspended that day; the
/// delay expires the day after the 30th day counted, the interest starts
/// the day after that, at the ECB rate of that half-year plus 8 points.
struct Expected {
    days: i64,
    ordonnateur: i64,
    comptable: i64,
    interest_cents: i64,
}

fn ecb_bp(day: NaiveDate) -> i64 {
    let half = NaiveDate::from_ymd_opt(day.year(), if day.month() <= 6 { 1 } else { 7 }, 1).expect("a day");
    match half.to_string().as_str() {
        "2024-01-01" => 450,
        "2024-07-01" => 425,
        "2025-01-01" => 315,
        other => panic!("no rate in the default plan for {other}"),
    }
}

fn expected(life: &Life) -> Expected {
    let mut counted = 0;
    let (mut ordonnateur, mut comptable) = (0, 0);
    let mut thirtieth = None;
    let mut today = life.received;
    for (step, stay) in &life.stays {
        for _ in 0..*stay {
            if *step != "suspendue" {
                counted += 1;
                if *step == "mandatee" {
                    comptable += 1;
                } else {
                    ordonnateur += 1;
                }
                if counted == 30 {
                    thirtieth = Some(today);
                }
            }
            today += Duration::days(1);
        }
    }
    let over = (counted - 30).max(0);
    let interest_cents = match thirtieth {
        Some(d30) if over > 0 => {
            let starts = d30 + Duration::days(2);
            let numerator = i128::from(life.cents) * i128::from(ecb_bp(starts) + 800) * i128::from(over);
            ((numerator + 1_825_000) / 3_650_000) as i64
        }
        _ => 0,
    };
    Expected {
        days: counted,
        ordonnateur,
        comptable,
        interest_cents,
    }
}

fn euros(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

fn tenth(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// The figures of a group of payments, as the README defines them.
fn figures(group: &[(&Life, Expected)]) -> Value {
    let mut days: Vec<i64> = group.iter().map(|(_, e)| e.days).collect();
    days.sort_unstable();
    let n = days.len();
    let median = if n % 2 == 1 {
        days[n / 2] as f64
    } else {
        (days[n / 2 - 1] + days[n / 2]) as f64 / 2.0
    };
    let late = group.iter().filter(|(_, e)| e.days > 30).count();
    json!({
        "count": n,
        "mean_days": tenth(days.iter().sum::<i64>() as f64 / n as f64),
        "median_days": median,
        "p90_days": days[(n * 9).div_ceil(10) - 1],
        "max_days": days[n - 1],
        "late": late,
        "late_share": tenth(late as f64 * 100.0 / n as f64),
        "ordonnateur_late": group.iter().filter(|(_, e)| e.ordonnateur > 20).count(),
        "comptable_late": group.iter().filter(|(_, e)| e.comptable > 10).count(),
        "interest": euros(group.iter().map(|(_, e)| e.interest_cents).sum()),
        "indemnities": euros(4_000 * late as i64),
    })
}

fn same_figures(got: &Value, want: &Value, what: &str) {
    for (key, value) in want.as_object().expect("an object") {
        assert_eq!(&got[key], value, "{what}: {key} in {got}");
    }
}

fn move_to(server: &Server, token: &str, reference: &str, to: &str, date: NaiveDate) -> Answer {
    post_json(
        &server.url(&format!("/api/v1/records/{reference}/moves")),
        token,
        &json!({"to": to, "date": date.to_string()}),
    )
}

fn deposit_invoice(server: &Server, token: &str, life: &Life) -> String {
    let text = format!(
        "{}\nFacture n° FA-{:05}\nTotal TTC : {} EUR\n",
        life.supplier,
        life.number,
        euros(life.cents)
    );
    let metadata = json!({
        "node": "FIN-FAC",
        "title": format!("Facture FA-{:05}", life.number),
        "service": life.service,
        "date": life.received.to_string(),
        "fields": {
            "fournisseur": life.supplier,
            "numero_facture": format!("FA-{:05}", life.number),
            "montant_ttc": euros(life.cents),
            "date_reception": life.received.to_string(),
        }
    });
    let record = created(
        deposit(
            server,
            token,
            text.as_bytes(),
            &format!("facture-{}.txt", life.number),
            &metadata,
        )
        .expect("an answer"),
    );
    record["reference"].as_str().expect("a reference").to_owned()
}

fn live(server: &Server, token: &str, life: &Life) {
    let reference = deposit_invoice(server, token, life);
    let mut on = life.received;
    let mut from = "recue";
    for (i, (step, stay)) in life.stays.iter().enumerate() {
        on += Duration::days(*stay);
        let to = life.stays.get(i + 1).map_or(life.end, |(next, _)| *next);
        let answer = move_to(server, token, &reference, to, on);
        assert_eq!(
            answer.status,
            200,
            "{reference} {from} → {to} on {on}: {}",
            answer.text()
        );
        assert_eq!(*step, from);
        from = to;
    }
}

#[test]
fn a_year_of_invoices_gives_exactly_the_delays_percentiles_and_interest_counted_day_by_day() {
    let Fresh { tmp: _tmp, data, token } = fresh_archive();
    let server = Server::start(&data, &[]);
    let lives = lives(1_000);
    std::thread::scope(|scope| {
        for part in lives.chunks(250) {
            let (server, token) = (&server, &token);
            scope.spawn(move || {
                for life in part {
                    live(server, token, life);
                }
            });
        }
    });

    let paid: Vec<(&Life, Expected)> = lives
        .iter()
        .filter(|l| l.end == "payee")
        .map(|l| (l, expected(l)))
        .collect();
    assert!(paid.len() > 900 && paid.iter().any(|(_, e)| e.days > 30) && paid.iter().any(|(_, e)| e.days <= 30));
    let answer = get(&server.url("/api/v1/indicators/payments"), &token);
    assert_eq!(answer.status, 200, "{}", answer.text());
    let indicators = answer.json();
    same_figures(&indicators["overall"], &figures(&paid), "overall");

    let mut by_month: BTreeMap<String, Vec<(&Life, Expected)>> = BTreeMap::new();
    let mut by_supplier: BTreeMap<&str, Vec<(&Life, Expected)>> = BTreeMap::new();
    for life in lives.iter().filter(|l| l.end == "payee") {
        let paid_on = life.end_date();
        by_month
            .entry(format!("{:04}-{:02}", paid_on.year(), paid_on.month()))
            .or_default()
            .push((life, expected(life)));
        by_supplier
            .entry(life.supplier)
            .or_default()
            .push((life, expected(life)));
    }
    let months = indicators["by_month"].as_array().expect("months");
    assert_eq!(months.len(), by_month.len());
    for (got, (month, group)) in months.iter().zip(&by_month) {
        assert_eq!(got["key"], month.as_str());
        same_figures(got, &figures(group), month);
    }
    for (supplier, group) in &by_supplier {
        let got = indicators["by_supplier"]
            .as_array()
            .expect("suppliers")
            .iter()
            .find(|g| g["key"] == *supplier)
            .expect("the supplier");
        same_figures(got, &figures(group), supplier);
    }

    // Filters: one service, one quarter.
    let voirie: Vec<(&Life, Expected)> = lives
        .iter()
        .filter(|l| l.end == "payee" && l.service == "Voirie")
        .filter(|l| (day("2024-04-01")..=day("2024-06-30")).contains(&l.end_date()))
        .map(|l| (l, expected(l)))
        .collect();
    let answer = get(
        &server.url("/api/v1/indicators/payments?service=Voirie&from=2024-04-01&to=30/06/2024"),
        &token,
    );
    same_figures(&answer.json()["overall"], &figures(&voirie), "Voirie, 2nd quarter");

    // The same figures as CSV, in French.
    let csv = get(&server.url("/api/v1/indicators/payments?format=csv"), &token);
    assert_eq!(csv.status, 200);
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    let text = csv.text();
    let whole = figures(&paid);
    let first = text.lines().nth(1).expect("the whole");
    assert!(
        first.starts_with(&format!("\"ensemble\";\"\";\"{}\"", whole["count"])),
        "{first}"
    );
    assert!(
        first.contains(&format!(
            "\"{}\"",
            whole["interest"].as_str().expect("euros").replace('.', ",")
        )),
        "{first}"
    );

    let metrics = get(&server.url("/metrics"), &token).text();
    assert!(
        metrics.contains(&format!("coffre_payments{{late=\"true\"}} {}", whole["late"])),
        "{metrics}"
    );

    // Nothing waits: every invoice ended.
    let blocked = get(&server.url("/api/v1/indicators/blockages"), &token).json();
    assert_eq!(blocked["blockages"], json!([]), "{blocked}");
    assert_journal_follows_its_schema(&data);
}

#[test]
fn moves_are_refused_with_the_allowed_ones_and_work_lists_follow_role_and_service() {
    let Fresh { tmp: _tmp, data, token } = fresh_archive();
    let server = Server::start(&data, &[]);
    let open = |user: &str, role: &str, service: &str| {
        let a = post_json(
            &server.url("/api/v1/accounts"),
            &token,
            &json!({"user": user, "display_name": user, "role": role, "password": "une phrase de passe assez longue"}),
        );
        assert_eq!(a.status, 201, "{}", a.text());
        let patch = request(
            "PATCH",
            &server.url(&format!("/api/v1/accounts/{user}")),
            &token,
            &[],
            Some(("application/json", json!({"service": service}).to_string().as_bytes())),
        )
        .expect("PATCH");
        assert_eq!(patch.status, 200, "{}", patch.text());
        assert_eq!(patch.json()["service"], service);
        let signed = login(&server, user, "une phrase de passe assez longue");
        assert_eq!(signed.status, 201, "{}", signed.text());
        signed.json()["token"].as_str().expect("a token").to_owned()
    };
    let voirie = open("alice", "agent", "Voirie");
    let culture = open("bruno", "agent", "Culture");
    let auditor = open("carole", "auditor", "Voirie");
    let today = chrono::Utc::now().date_naive();
    let life = |number, service, days_ago| Life {
        number,
        received: today - Duration::days(days_ago),
        stays: Vec::new(),
        end: "payee",
        cents: 120_000,
        service,
        supplier: "Papeterie Dupont",
    };
    let old = deposit_invoice(&server, &voirie, &life(1, "Voirie", 25));
    let fresh = deposit_invoice(&server, &voirie, &life(2, "Voirie", 2));
    let theirs = deposit_invoice(&server, &culture, &life(3, "Culture", 1));

    let list = get(&server.url("/api/v1/worklist"), &voirie).json();
    let refs: Vec<&str> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["reference"].as_str().expect("a reference"))
        .collect();
    assert_eq!(
        refs,
        [old.as_str(), fresh.as_str()],
        "overdue first, only Voirie's: {list}"
    );
    assert_eq!((list["total"].as_u64(), list["overdue"].as_u64()), (Some(2), Some(1)));
    assert_eq!(list["items"][0]["circulation"]["days_left"], -15);
    assert_eq!(list["items"][0]["overdue"], true);
    assert_eq!(list["items"][0]["amount"], "1200.00");
    let moves: Vec<&str> = list["items"][0]["circulation"]["moves"]
        .as_array()
        .expect("moves")
        .iter()
        .map(|m| m["step"].as_str().expect("a step"))
        .collect();
    assert_eq!(moves, ["service_fait", "suspendue", "rejetee"]);
    let culture_list = get(&server.url("/api/v1/worklist"), &culture).json();
    assert_eq!(culture_list["total"], 1, "{culture_list}");
    assert_eq!(culture_list["items"][0]["reference"], theirs.as_str());
    assert_eq!(get(&server.url("/api/v1/worklist"), &auditor).status, 403);

    // Another service's step, a move the step does not allow, a date to come.
    let refused = move_to(&server, &culture, &old, "service_fait", today);
    assert_eq!(
        (refused.status, refused.error_code()),
        (403, "not_your_step".to_owned())
    );
    let refused = move_to(&server, &voirie, &old, "payee", today);
    assert_eq!(refused.status, 409, "{}", refused.text());
    assert_eq!(refused.error_code(), "move_not_allowed");
    let body = refused.json();
    let allowed: Vec<&str> = body["error"]["details"]["allowed"]
        .as_array()
        .expect("the allowed moves")
        .iter()
        .map(|m| m["step"].as_str().expect("a step"))
        .collect();
    assert_eq!(allowed, ["service_fait", "suspendue", "rejetee"]);
    let message = refused.error_message();
    assert!(
        message.contains("« Reçue »") && message.contains("Service fait (service_fait)"),
        "{message}"
    );
    let refused = move_to(&server, &voirie, &old, "service_fait", today + Duration::days(1));
    assert_eq!(
        (refused.status, refused.error_code()),
        (422, "invalid_field".to_owned())
    );

    // Moved on with a comment and a letter: the record says where it is.
    let letter = deposit_invoice(&server, &voirie, &life(4, "Voirie", 0));
    let moved = post_json(
        &server.url(&format!("/api/v1/records/{old}/moves")),
        &voirie,
        &json!({"to": "suspendue", "comment": "Bon de commande manquant", "attachment": letter}),
    );
    assert_eq!(moved.status, 200, "{}", moved.text());
    let circulation = &moved.json()["circulation"];
    assert_eq!(circulation["step"]["title"], "Suspendue");
    assert_eq!(circulation["passages"].as_array().map(Vec::len), Some(2));
    assert_eq!(circulation["days_running"], 25);
    let record = get(&server.url(&format!("/api/v1/records/{old}")), &voirie).json();
    assert_eq!(record["circulation"]["step"]["step"], "suspendue");
    let blocked = get(&server.url("/api/v1/indicators/blockages"), &voirie).json();
    let recue = blocked["blockages"]
        .as_array()
        .expect("blockages")
        .iter()
        .find(|b| b["step"] == "recue" && b["service"] == "Voirie")
        .expect("Voirie's reçue");
    assert_eq!(recue["count"], 2, "{blocked}");
    assert_eq!(recue["title"], "Reçue");
    // The stock: the four invoices, each deposited directly today.
    let stock = get(&server.url("/api/v1/indicators/stocks?node=FIN"), &voirie).json();
    assert_eq!(stock["total"]["records"], 4, "{stock}");
    assert_eq!(stock["by_node"][0]["key"], "FIN-FAC", "{stock}");
    assert_eq!(stock["channels"][0]["channel"], "api", "{stock}");
    assert_eq!(stock["channels"][0]["records"], 4, "{stock}");
    assert_eq!(stock["months"][0]["records"], 4, "{stock}");

    // The same in Prometheus's metrics.
    let metrics = get(&server.url("/metrics"), &token).text();
    assert!(
        metrics
            .contains("coffre_circuit_waiting{circuit=\"facture\",step=\"recue\",service=\"Voirie\",age=\"0-10\"} 2"),
        "{metrics}"
    );
    assert!(metrics.contains("coffre_payments{late=\"true\"} 0"), "{metrics}");
    assert_journal_follows_its_schema(&data);
}
