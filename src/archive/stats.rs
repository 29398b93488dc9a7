//! Indicators for people (`/stats`) and for monitoring (`/metrics`):
//! records by node, service and state, what is due and held, deposits
//! refused, the journal and its seals, and the fixity job.

use super::fixity::FixitySchedule;
use super::{Actor, Archive, ArchiveError};
use crate::domain::plan::Access;
use crate::domain::record::{NodeCode, RecordState};
use crate::domain::role::Permission;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

/// The fixity job, in brief.
#[derive(Debug, Clone, Serialize)]
pub struct FixityIndicators {
    /// `running`, `paused` or `idle`.
    pub state: &'static str,
    /// Blobs checked by the run under way.
    pub run_checked: Option<u64>,
    /// Blobs the run under way will check.
    pub run_total: Option<u64>,
    /// Findings of the run under way (reported as soon as found).
    pub run_findings: usize,
    /// When the last run ended.
    pub last_finished_at: Option<DateTime<Utc>>,
    /// Blobs it checked.
    pub last_blobs_checked: Option<u64>,
    /// Its findings.
    pub last_findings: Option<usize>,
    /// `passed` or `failed` (none before the first run).
    pub last_result: Option<&'static str>,
    /// When the next run is due.
    pub next_due: Option<DateTime<Utc>>,
}

/// What `/stats` shows.
#[derive(Debug, Clone, Serialize)]
pub struct Stats {
    /// Records the caller may read.
    pub records: u64,
    /// By node.
    pub by_node: BTreeMap<String, u64>,
    /// By producing service (`-` for none).
    pub by_service: BTreeMap<String, u64>,
    /// By state (`active`, `destroyed`, `transferred`).
    pub by_state: BTreeMap<String, u64>,
    /// By the capture channel they came through (`dossier:<name>`; `-`
    /// for the API and the command line).
    pub by_channel: BTreeMap<String, u64>,
    /// Records whose retention has ended today or before.
    pub due: u64,
    /// Records a legal hold freezes.
    pub held: u64,
    /// Active legal holds (archive-wide: null for a reader who neither
    /// audits nor manages records).
    pub holds: Option<u64>,
    /// Deposits refused or failed since the server started (archive-wide,
    /// as `holds`).
    pub ingest_errors: Option<u64>,
    /// The journal's last seq (archive-wide, as `holds`): it counts what
    /// happens in nodes the reader may not read.
    pub journal_head: Option<u64>,
    /// The latest seal's tree size (archive-wide, as `holds`).
    pub sealed_events: Option<u64>,
    /// When the latest seal was made.
    pub sealed_at: Option<DateTime<Utc>>,
    /// The fixity job.
    pub fixity: FixityIndicators,
    /// How each copy folder follows the journal (archive-wide, as
    /// `holds`; empty when the archive keeps one copy).
    pub copies: Option<Vec<super::mirror::CopyStatus>>,
    /// How a read-only replica follows its copy (absent: not a replica).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub following: Option<super::follow::FollowStatus>,
}

impl Archive {
    /// Device flushes made since the archive opened: by the blob stores'
    /// commits, and by the journal's.
    pub fn flush_counters(&self) -> (u64, u64) {
        (self.blobs.flushes(), self.journal.flushes())
    }

    /// Since the archive opened: the large index segments whose share of a
    /// search was reused from the same search, and those searched again.
    pub fn search_reuse_counters(&self) -> (u64, u64) {
        self.index.reuse_counts()
    }

    /// What waits behind the deposits: the journal's events the full-text
    /// index has not applied yet (deposits not searchable yet), and the
    /// records indexed that the reader has not looked at yet (invoices to
    /// read, scans to make a PDF/A of). Reads the index's commit point.
    pub fn backlogs(&self) -> Result<(u64, u64), ArchiveError> {
        let (head, _) = self.journal.head();
        let lag = head.saturating_sub(self.index.applied()?);
        Ok((lag, self.unread.len() as u64))
    }

    /// Counts a refused or failed deposit.
    pub(super) fn count_ingest_error(&self) {
        self.ingest_errors.fetch_add(1, Ordering::Relaxed);
    }

    /// The indicators, counted over the records the actor may read.
    pub fn stats(&self, actor: &Actor, schedule: &FixitySchedule) -> Result<Stats, ArchiveError> {
        actor.require(Permission::ReadRecords, "consulter les indicateurs")?;
        let plan = self.plan_in_force()?;
        // Counters over the whole archive show activity in every node:
        // for those who audit it or manage its records only.
        let archive_wide = actor.role.allows(Permission::Audit) || actor.role.allows(Permission::ManageRecords);
        let mut stats = Stats {
            records: 0,
            by_node: BTreeMap::new(),
            by_service: BTreeMap::new(),
            by_state: BTreeMap::new(),
            by_channel: BTreeMap::new(),
            due: 0,
            held: 0,
            holds: None,
            ingest_errors: archive_wide.then(|| self.ingest_errors.load(Ordering::Relaxed)),
            journal_head: archive_wide.then(|| self.journal.head().0),
            sealed_events: None,
            sealed_at: None,
            fixity: self.fixity_indicators(schedule),
            copies: archive_wide.then(|| self.copy_status()),
            following: self.follow_status(),
        };
        // The catalog's tallies, not its records: a scrape of `/metrics`
        // costs the same at a million records as at ten.
        let mut live_in: BTreeMap<NodeCode, u64> = BTreeMap::new();
        for (tally, count) in self.catalog.tallies()? {
            if !plan.plan.allows(&tally.node, actor.role.as_str(), Access::Read) {
                continue;
            }
            stats.records += count;
            *stats.by_node.entry(tally.node.to_string()).or_default() += count;
            *stats
                .by_service
                .entry(tally.service.unwrap_or_else(|| "-".into()))
                .or_default() += count;
            *stats.by_state.entry(tally.state.as_str().into()).or_default() += count;
            *stats
                .by_channel
                .entry(tally.channel.unwrap_or_else(|| "-".into()))
                .or_default() += count;
            if tally.state == RecordState::Active {
                *live_in.entry(tally.node).or_default() += count;
            }
        }
        let today = self.clock.now().date_naive();
        for (node, _, count) in self.catalog.due_counts(today)? {
            if live_in.contains_key(&node) {
                stats.due += count;
            }
        }
        if archive_wide {
            stats.holds = Some(self.catalog.holds()?.iter().filter(|h| h.is_active()).count() as u64);
        }
        stats.held = self.held_among(&live_in)?;
        if archive_wide && let Some(seal) = self.catalog.latest_seal()? {
            stats.sealed_events = Some(seal.tree_size);
            stats.sealed_at = Some(seal.sealed_at);
        }
        Ok(stats)
    }

    /// The fixity job, in brief.
    pub fn fixity_indicators(&self, schedule: &FixitySchedule) -> FixityIndicators {
        let status = self.fixity_status(schedule);
        let run = status.detail.run.as_ref();
        let last = status.detail.last.as_ref();
        FixityIndicators {
            state: status.state,
            run_checked: run.map(|r| r.blobs_checked),
            run_total: run.map(|r| r.blobs_total),
            run_findings: run.map_or(0, |r| r.findings.len()),
            last_finished_at: last.map(|l| l.finished_at),
            last_blobs_checked: last.map(|l| l.blobs_checked),
            last_findings: last.map(|l| l.findings.len()),
            last_result: last.map(|l| if l.findings.is_empty() { "passed" } else { "failed" }),
            next_due: status.next_due,
        }
    }
}
