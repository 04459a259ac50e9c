//! Watches the plugin directory and hot-reloads what changes: a new or
//! rewritten `.wasm` is loaded (replacing the cache of the same name), a
//! deleted one is unloaded. Events are debounced, so a file written in
//! several chunks is loaded once, after the writer stops; a half-written
//! file that fails to load is simply retried on the next change, while the
//! old version keeps serving. Files are read confined to the directory and a
//! name held by another id is never taken from here (see `lifecycle.rs`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use anyhow::Context;
use notify::{EventKind, RecursiveMode, Watcher};

use crate::reload::lifecycle::Lifecycle;

/// Quiet time after the last change before reloading.
const DEBOUNCE: Duration = Duration::from_millis(100);

/// A running watch; dropping it stops watching.
pub struct PluginWatcher {
    _watcher: notify::RecommendedWatcher,
}

/// Starts watching `dir` (non-recursively) on a thread of its own.
pub fn watch(dir: &Path, lifecycle: Arc<Lifecycle>) -> anyhow::Result<PluginWatcher> {
    let (tx, rx) = mpsc::channel::<notify::Result<notify::Event>>();
    let mut watcher = notify::recommended_watcher(move |event| {
        let _ = tx.send(event);
    })
    .context("starting the plugin directory watcher")?;
    watcher
        .watch(dir, RecursiveMode::NonRecursive)
        .with_context(|| format!("watching {}", dir.display()))?;
    std::thread::Builder::new()
        .name("hoard-plugin-watch".into())
        .spawn(move || run(&rx, &lifecycle))
        .context("starting the watcher thread")?;
    tracing::info!(dir = %dir.display(), "watching plugins for changes");
    Ok(PluginWatcher { _watcher: watcher })
}

fn run(rx: &mpsc::Receiver<notify::Result<notify::Event>>, lifecycle: &Lifecycle) {
    // Ends when the watcher (and so the sender) is dropped.
    while let Ok(first) = rx.recv() {
        let mut changed = BTreeSet::new();
        collect(first, &mut changed);
        while let Ok(next) = rx.recv_timeout(DEBOUNCE) {
            collect(next, &mut changed);
        }
        for path in changed {
            apply(&path, lifecycle);
        }
    }
}

fn collect(event: notify::Result<notify::Event>, changed: &mut BTreeSet<PathBuf>) {
    match event {
        Ok(event) if matches!(event.kind, EventKind::Access(_)) => {}
        Ok(event) => changed.extend(
            event
                .paths
                .into_iter()
                .filter(|p| p.extension().is_some_and(|ext| ext == "wasm")),
        ),
        Err(error) => tracing::warn!(%error, "plugin watcher error"),
    }
}

fn apply(path: &Path, lifecycle: &Lifecycle) {
    // Not `exists()`: that follows a symlink; a symlink that leads nowhere
    // (or outside) is still a file to refuse, loudly.
    if path.symlink_metadata().is_ok() {
        match lifecycle.load_file(path) {
            Ok(installed) => tracing::info!(
                cache = %installed.name,
                id = %installed.versioned_id,
                "reloaded after a file change"
            ),
            Err(error) => {
                tracing::error!("reload refused, previous version keeps serving: {error}")
            }
        }
    } else if let Some(name) = lifecycle.unload_source(path) {
        tracing::info!(cache = %name, path = %path.display(), "unloaded: file removed");
    }
}
