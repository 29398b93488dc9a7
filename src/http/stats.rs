//! Indicators: `/stats` for people, `/metrics` for Prometheus.

use super::auth::Caller;
use super::error::ApiError;
use crate::archive::Archive;
use crate::config::FixitySchedule;
use crate::domain::role::Permission;
use actix_web::HttpResponse;
use actix_web::web::{self, Data};
use std::fmt::Write;

/// Records by node, service and state, what is due and held, deposits
/// refused, the journal's seals, and the fixity job's last result.
#[utoipa::path(get, path = "/api/v1/stats", tag = "service",
    responses((status = 200, description = "the indicators")))]
pub async fn stats(
    caller: Caller,
    archive: Data<Archive>,
    schedule: Data<FixitySchedule>,
) -> Result<HttpResponse, ApiError> {
    let stats = web::block(move || archive.stats(&caller.0, &schedule)).await??;
    Ok(HttpResponse::Ok().json(stats))
}

/// One metric in the Prometheus text format.
fn metric(out: &mut String, name: &str, kind: &str, help: &str, samples: &[(&str, f64)]) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
    for (labels, value) in samples {
        let _ = writeln!(out, "{name}{labels} {value}");
    }
}

/// A metric whose samples carry labels made here.
fn metric_labelled(out: &mut String, name: &str, kind: &str, help: &str, samples: &[(String, f64)]) {
    let samples: Vec<(&str, f64)> = samples.iter().map(|(l, n)| (l.as_str(), *n)).collect();
    metric(out, name, kind, help, &samples);
}

/// One sample per entry, labelled `{label="key"}`.
fn labelled(label: &str, counts: &std::collections::BTreeMap<String, u64>) -> Vec<(String, f64)> {
    counts
        .iter()
        .map(|(key, n)| (format!("{{{label}=\"{key}\"}}"), *n as f64))
        .collect()
}

/// A label's value as the exposition format writes it.
fn label_value(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// Capture's indicators: fields read and corrected, PES flows by state,
/// the failures that stand.
fn capture_metrics(out: &mut String, report: &crate::archive::indicators::CaptureReport) {
    let c = &report.journal;
    metric(
        out,
        "coffre_classified_records",
        "gauge",
        "Records deposited, and those whose node a classification rule chose (from the journal).",
        &[
            ("{by=\"any\"}", c.deposited as f64),
            ("{by=\"rule\"}", c.classified as f64),
        ],
    );
    let mut fields = Vec::new();
    for (field, counts) in &c.by_field {
        let field = label_value(field);
        for (state, n) in [
            ("read_surely", counts.read_surely),
            ("doubtful", counts.doubtful),
            ("missing", counts.missing),
            ("checked", counts.checked),
            ("corrected", counts.corrected),
        ] {
            fields.push((format!("{{field=\"{field}\",state=\"{state}\"}}"), n as f64));
        }
    }
    metric_labelled(
        out,
        "coffre_read_fields",
        "gauge",
        "Fields read from invoices (surely, with doubt, not found) and checked and corrected by people, by field.",
        &fields,
    );
    let f = &c.flows;
    metric(
        out,
        "coffre_pes_flows",
        "gauge",
        "PES flows archived, by what the accountant's acknowledgement said.",
        &[
            ("{state=\"accepted\"}", f.accepted as f64),
            ("{state=\"rejected\"}", f.rejected as f64),
            ("{state=\"waiting\"}", f.waiting as f64),
        ],
    );
    if let Some(failures) = &report.failures {
        let mut samples: Vec<(String, f64)> = failures
            .extraction
            .iter()
            .map(|(extractor, n)| {
                (
                    format!("{{kind=\"extraction\",extractor=\"{}\"}}", label_value(extractor)),
                    *n as f64,
                )
            })
            .collect();
        samples.push((
            "{kind=\"signature_invalid\"}".into(),
            failures.signatures_invalid as f64,
        ));
        samples.push((
            "{kind=\"signature_unchecked\"}".into(),
            failures.signatures_unchecked as f64,
        ));
        metric_labelled(
            out,
            "coffre_capture_failures",
            "gauge",
            "Records whose text could not be extracted (by extractor) or whose signature is invalid or could not be checked.",
            &samples,
        );
    }
}

/// The archive's health: coverage, damage, what is due and held.
fn health_metrics(out: &mut String, report: &crate::archive::indicators::HealthReport) {
    let h = &report.journal;
    if let Some(coverage) = h.fixity_coverage {
        metric(
            out,
            "coffre_fixity_coverage_percent",
            "gauge",
            "Blobs the latest complete fixity run re-hashed, over those plus the contents deposited since it began.",
            &[("", coverage)],
        );
    }
    metric(
        out,
        "coffre_damaged_blobs_open",
        "gauge",
        "Blobs found damaged and not repaired (from the journal).",
        &[("", h.open_damage as f64)],
    );
    if let Some(now) = &report.now {
        metric(
            out,
            "coffre_records_past_retention",
            "gauge",
            "Records whose retention has ended, and those of them a legal hold keeps.",
            &[
                ("{held=\"false\"}", now.overdue.saturating_sub(now.held_due) as f64),
                ("{held=\"true\"}", now.held_due as f64),
            ],
        );
    }
}

/// The circuits' indicators: what waits where by age, and the payment
/// chain's délais, lateness and what it owes.
fn circuit_metrics(
    out: &mut String,
    payments: &crate::domain::indicators::PaymentIndicators,
    blockages: &[crate::domain::indicators::Blockage],
) {
    use crate::domain::indicators::AGE_BUCKETS;
    let mut waiting = Vec::new();
    let mut overdue = Vec::new();
    for b in blockages {
        let labels = format!(
            "circuit=\"{}\",step=\"{}\",service=\"{}\"",
            label_value(&b.circuit),
            label_value(&b.step),
            label_value(b.service.as_deref().unwrap_or(""))
        );
        for (age, n) in AGE_BUCKETS.iter().zip(b.buckets) {
            waiting.push((format!("{{{labels},age=\"{age}\"}}"), n as f64));
        }
        overdue.push((format!("{{{labels}}}"), b.overdue as f64));
    }
    metric_labelled(
        out,
        "coffre_circuit_waiting",
        "gauge",
        "Records waiting at a step of their circuit, by acting service and days at the step.",
        &waiting,
    );
    metric_labelled(
        out,
        "coffre_circuit_overdue",
        "gauge",
        "Records waiting past their step's delay.",
        &overdue,
    );
    let o = &payments.overall;
    metric(
        out,
        "coffre_payments",
        "gauge",
        "Payments recorded in circuits, on time and late (over the circuit's total delay).",
        &[
            ("{late=\"false\"}", (o.count - o.late) as f64),
            ("{late=\"true\"}", o.late as f64),
        ],
    );
    metric(
        out,
        "coffre_payment_delay_days",
        "gauge",
        "Délai global de paiement: mean, median and 90th percentile (nearest rank), in days.",
        &[
            ("{stat=\"mean\"}", o.mean_days),
            ("{stat=\"median\"}", o.median_days),
            ("{stat=\"p90\"}", o.p90_days as f64),
        ],
    );
    metric(
        out,
        "coffre_late_payment_owed_euros",
        "gauge",
        "What late payments owe: interest (ECB rate + 8 points) and the 40 euro indemnities.",
        &[
            ("{kind=\"interest\"}", o.interest_cents as f64 / 100.0),
            ("{kind=\"indemnity\"}", o.indemnity_cents as f64 / 100.0),
        ],
    );
}

/// Prometheus metrics (text exposition format 0.0.4).
#[utoipa::path(get, path = "/metrics", tag = "service",
    responses((status = 200, description = "Prometheus text format"), (status = 403)))]
pub async fn metrics(
    caller: Caller,
    archive: Data<Archive>,
    schedule: Data<FixitySchedule>,
    capture: Option<Data<crate::capture::folders::CaptureCounts>>,
) -> Result<HttpResponse, ApiError> {
    caller.0.require(Permission::ManageTokens, "lire les métriques")?;
    let archive2 = archive.clone();
    let (stats, payments, blockages, capture_report, health, backlogs) = web::block(move || {
        let stats = archive2.stats(&caller.0, &schedule)?;
        let backlogs = archive2.backlogs()?;
        let (payments, _) =
            archive2.payment_indicators(&caller.0, crate::domain::indicators::PaymentFilter::default(), None)?;
        let (blockages, _) = archive2.blockages(&caller.0, Default::default(), None)?;
        let (capture, _) = archive2.capture_indicators(&caller.0, Default::default(), None)?;
        let (health, _) = archive2.health_indicators(&caller.0, Default::default(), None)?;
        Ok::<_, crate::archive::ArchiveError>((stats, payments, blockages, capture, health, backlogs))
    })
    .await??;
    let (findings_total, bytes_total) = archive.fixity_counters();
    let (blob_flushes, journal_flushes) = archive.flush_counters();
    let (segments_reused, segments_searched) = archive.search_reuse_counters();
    let mut out = String::new();
    metric_labelled(
        &mut out,
        "coffre_records",
        "gauge",
        "Records by state.",
        &labelled("state", &stats.by_state),
    );
    let mut captured: Vec<(String, f64)> = Vec::new();
    for (channel, counts) in capture.iter().flat_map(|c| c.0.iter()) {
        for (outcome, n) in [
            ("deposited", &counts.deposited),
            ("already_archived", &counts.already_archived),
            ("refused", &counts.refused),
            ("retried", &counts.retried),
        ] {
            captured.push((
                format!("{{channel=\"{channel}\",outcome=\"{outcome}\"}}"),
                n.load(std::sync::atomic::Ordering::Relaxed) as f64,
            ));
        }
    }
    metric_labelled(
        &mut out,
        "coffre_capture_files_total",
        "counter",
        "Files (or messages) a capture channel took since the server started, by what became of them.",
        &captured,
    );
    metric_labelled(
        &mut out,
        "coffre_records_by_channel",
        "gauge",
        "Records by the capture channel they came through (- for the API and the command line).",
        &labelled("channel", &stats.by_channel),
    );
    metric(
        &mut out,
        "coffre_records_due",
        "gauge",
        "Records whose retention has ended.",
        &[("", stats.due as f64)],
    );
    metric(
        &mut out,
        "coffre_records_held",
        "gauge",
        "Records a legal hold freezes.",
        &[("", stats.held as f64)],
    );
    metric(
        &mut out,
        "coffre_ingest_errors_total",
        "counter",
        "Deposits refused or failed since the server started.",
        &[("", stats.ingest_errors.unwrap_or(0) as f64)],
    );
    metric(
        &mut out,
        "coffre_journal_events",
        "gauge",
        "The journal's last seq.",
        &[("", stats.journal_head.unwrap_or(0) as f64)],
    );
    metric(
        &mut out,
        "coffre_journal_sealed_events",
        "gauge",
        "Events the latest seal covers.",
        &[("", stats.sealed_events.unwrap_or(0) as f64)],
    );
    metric(
        &mut out,
        "coffre_journal_last_seal_timestamp_seconds",
        "gauge",
        "When the journal was last sealed.",
        &[("", stats.sealed_at.map_or(0.0, |t| t.timestamp() as f64))],
    );
    metric(
        &mut out,
        "coffre_flushes_total",
        "counter",
        "Device flushes (fsync, syncfs) made by this process's commits: of contents and metadata documents, of the journal.",
        &[
            ("{store=\"blobs\"}", blob_flushes as f64),
            ("{store=\"journal\"}", journal_flushes as f64),
        ],
    );
    let (index_lag, readings_waiting) = backlogs;
    metric(
        &mut out,
        "coffre_index_lag_events",
        "gauge",
        "Journal events the full-text index has not applied yet: deposits not searchable yet.",
        &[("", index_lag as f64)],
    );
    metric(
        &mut out,
        "coffre_reading_waiting_records",
        "gauge",
        "Records indexed that the reader has not looked at yet: invoices to read, scans to make a PDF/A of.",
        &[("", readings_waiting as f64)],
    );
    metric(
        &mut out,
        "coffre_search_large_segments_total",
        "counter",
        "Large index segments a search went through: found kept from the same search lately (reused), or searched.",
        &[
            ("{from=\"reused\"}", segments_reused as f64),
            ("{from=\"searched\"}", segments_searched as f64),
        ],
    );
    circuit_metrics(&mut out, &payments, &blockages);
    capture_metrics(&mut out, &capture_report);
    health_metrics(&mut out, &health);
    let f = &stats.fixity;
    metric(
        &mut out,
        "coffre_fixity_running",
        "gauge",
        "1 while a fixity run is under way.",
        &[("", f64::from(u8::from(f.state == "running")))],
    );
    metric(
        &mut out,
        "coffre_fixity_paused",
        "gauge",
        "1 while the fixity job is paused.",
        &[("", f64::from(u8::from(f.state == "paused")))],
    );
    metric(
        &mut out,
        "coffre_fixity_failures",
        "gauge",
        "Corrupt or missing blobs found by the run under way and the last finished run.",
        &[("", (f.run_findings + f.last_findings.unwrap_or(0)) as f64)],
    );
    metric(
        &mut out,
        "coffre_fixity_failures_found_total",
        "counter",
        "Corrupt or missing blobs found by this process.",
        &[("", findings_total as f64)],
    );
    metric(
        &mut out,
        "coffre_fixity_bytes_total",
        "counter",
        "Bytes re-hashed by the fixity job in this process.",
        &[("", bytes_total as f64)],
    );
    metric(
        &mut out,
        "coffre_fixity_last_run_timestamp_seconds",
        "gauge",
        "When the last fixity run ended.",
        &[("", f.last_finished_at.map_or(0.0, |t| t.timestamp() as f64))],
    );
    let copies = stats.copies.unwrap_or_default();
    let label = |store: &str| format!("{{store=\"{}\"}}", store.replace('\\', "\\\\").replace('"', "\\\""));
    let lags: Vec<(String, f64)> = copies.iter().map(|c| (label(&c.store), c.lag_events as f64)).collect();
    let lags: Vec<(&str, f64)> = lags.iter().map(|(l, n)| (l.as_str(), *n)).collect();
    metric(
        &mut out,
        "coffre_copy_journal_lag_events",
        "gauge",
        "Journal events a copy folder may lack yet.",
        &lags,
    );
    let failing: Vec<(String, f64)> = copies
        .iter()
        .map(|c| (label(&c.store), f64::from(u8::from(c.error.is_some()))))
        .collect();
    let failing: Vec<(&str, f64)> = failing.iter().map(|(l, n)| (l.as_str(), *n)).collect();
    metric(
        &mut out,
        "coffre_copy_failing",
        "gauge",
        "1 while the archive's files cannot be written to a copy folder.",
        &failing,
    );
    if let Some(following) = &stats.following {
        let from = label(&following.from).replace("store=", "from=");
        metric(
            &mut out,
            "coffre_follower_lag_events",
            "gauge",
            "Events of the followed copy's journal this replica has not applied yet.",
            &[(from.as_str(), following.lag_events as f64)],
        );
    }
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(out))
}
