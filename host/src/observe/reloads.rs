//! The last plugin loads and reloads of a tenant, refused ones with their
//! reason, for the admin page and `hoard_reloads_total`. Written only when
//! a plugin is (re)loaded, never on the request path.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;

/// How many reloads a tenant remembers.
const KEEP: usize = 20;

/// One load or reload.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ReloadRecord {
    /// When, in Unix milliseconds.
    pub at_unix_ms: u64,
    /// The plugin file.
    pub source: String,
    /// `installed` or `refused`.
    pub outcome: &'static str,
    /// The versioned id installed, or why the version was refused.
    pub detail: String,
}

/// A tenant's recent reloads and its totals.
#[derive(Debug, Default)]
pub struct ReloadLog {
    recent: Mutex<VecDeque<ReloadRecord>>,
    installed: AtomicU64,
    refused: AtomicU64,
}

impl ReloadLog {
    /// Records an installed version.
    pub fn installed(&self, source: &str, versioned_id: &str) {
        self.installed.fetch_add(1, Ordering::Relaxed);
        self.push(source, "installed", versioned_id.to_owned());
    }

    /// Records a refused version and why.
    pub fn refused(&self, source: &str, reason: &str) {
        self.refused.fetch_add(1, Ordering::Relaxed);
        self.push(source, "refused", reason.to_owned());
    }

    fn push(&self, source: &str, outcome: &'static str, detail: String) {
        let at_unix_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let mut recent = self.recent.lock();
        if recent.len() >= KEEP {
            recent.pop_front();
        }
        recent.push_back(ReloadRecord {
            at_unix_ms,
            source: source.to_owned(),
            outcome,
            detail,
        });
    }

    /// The remembered reloads, newest first.
    pub fn recent(&self) -> Vec<ReloadRecord> {
        self.recent.lock().iter().rev().cloned().collect()
    }

    /// `(installed, refused)` since start.
    pub fn totals(&self) -> (u64, u64) {
        (
            self.installed.load(Ordering::Relaxed),
            self.refused.load(Ordering::Relaxed),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_last_few_newest_first() {
        let log = ReloadLog::default();
        for i in 0..25 {
            log.installed("a.wasm", &format!("A@1.0.{i}"));
        }
        log.refused("b.wasm", "describe() trapped");
        let recent = log.recent();
        assert_eq!(recent.len(), KEEP);
        assert_eq!(recent[0].outcome, "refused");
        assert_eq!(recent[0].detail, "describe() trapped");
        assert_eq!(recent[1].detail, "A@1.0.24");
        assert_eq!(log.totals(), (25, 1));
    }
}
