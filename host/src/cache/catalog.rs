//! The set of loaded definitions: each one's plugin, its L1 table and its key
//! memo, looked up by the cache's short name.
//!
//! A `Catalog` is immutable once built; the cache holds it behind an atomic
//! snapshot so that a reload can swap in a new one while requests in flight
//! finish on the old one.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::cache::budget::CallBudget;
use crate::cache::error::CacheError;
use crate::cache::invalidation::InvalidationBudget;
use crate::cache::key_memo::KeyMemo;
use crate::definition::{Definition, DefinitionCaps};
use crate::plugin::file::read_plugin;
use crate::plugin::{LoadError, LoadedPlugin, PluginRuntime};
use hoard_l1::{Clock, Table, TableConfig};

/// Keys remembered per pure-key definition.
const KEY_MEMO_ITEMS: u64 = 65_536;

/// One definition, live: plugin, entries and counters.
pub struct DefinedCache {
    plugin: LoadedPlugin,
    table: Arc<Table>,
    key_memo: Option<KeyMemo>,
    rejects: AtomicU64,
    budget: CallBudget,
    inline: AtomicBool,
    /// Its tier settings and counters, found on first use (a definition
    /// belongs to one tenant's catalog, so to one tier).
    tier_view: std::sync::OnceLock<crate::tier::TierView>,
}

impl DefinedCache {
    /// Wraps a loaded plugin with a fresh, empty table sized by its definition.
    pub fn new(plugin: LoadedPlugin, clock: Arc<dyn Clock>) -> Self {
        let table = Arc::new(Table::new(table_config(plugin.definition()), clock));
        Self::with_table(plugin, table)
    }

    /// Wraps a loaded plugin around an existing table, so a reload keeps the
    /// entries (the caller checks the versions allow it). The key memo always
    /// starts empty: a new plugin's keys are asked for afresh.
    pub fn with_table(plugin: LoadedPlugin, table: Arc<Table>) -> Self {
        let definition = plugin.definition();
        let key_memo = definition.pure_keys.then(|| KeyMemo::new(KEY_MEMO_ITEMS));
        let limits = plugin.limits();
        let budget = CallBudget::new(limits.definition_workers(), limits.definition_queue);
        let inline = AtomicBool::new(plugin.inline_budget().is_some());
        Self {
            inline,
            plugin,
            table,
            key_memo,
            rejects: AtomicU64::new(0),
            budget,
            tier_view: std::sync::OnceLock::new(),
        }
    }

    /// Its tier view, found with `find` the first time.
    pub(crate) fn tier_view(
        &self,
        find: impl FnOnce() -> crate::tier::TierView,
    ) -> &crate::tier::TierView {
        self.tier_view.get_or_init(find)
    }

    /// The rules this cache runs by.
    pub fn definition(&self) -> &Definition {
        self.plugin.definition()
    }

    /// The plugin behind it.
    pub fn plugin(&self) -> &LoadedPlugin {
        &self.plugin
    }

    /// Its entries.
    pub fn table(&self) -> &Table {
        &self.table
    }

    /// Its entries, shared (for a reload that keeps them).
    pub fn shared_table(&self) -> Arc<Table> {
        Arc::clone(&self.table)
    }

    /// Values refused so far (by the plugin or by allow-null).
    pub fn rejects(&self) -> u64 {
        self.rejects.load(Ordering::Relaxed)
    }

    pub(crate) fn count_reject(&self) {
        self.rejects.fetch_add(1, Ordering::Relaxed);
    }

    /// The CPU budget for running this definition's calls inline on an
    /// async worker, while they have shown they fit in it.
    pub(crate) fn inline_budget(&self) -> Option<std::time::Duration> {
        if self.inline.load(Ordering::Relaxed) {
            self.plugin.inline_budget()
        } else {
            None
        }
    }

    /// Sends this definition's calls to plugin threads from now on (until
    /// it is reloaded): one of them outgrew the inline budget or needed a
    /// thread that may block (a WASI stream).
    pub(crate) fn stop_inline(&self, why: &str) {
        if self.inline.swap(false, Ordering::Relaxed) {
            tracing::info!(cache = %self.definition().name, why, "plugin calls move to plugin threads");
        }
    }

    /// Running and waiting plugin calls of this definition.
    pub(crate) fn budget(&self) -> &CallBudget {
        &self.budget
    }

    /// The key for `parts`: from the memo when the definition declared pure
    /// keys and the parts were seen before, else from the plugin. Calls the
    /// plugin on this thread (benchmarks, tools); the server goes through
    /// `Cache`, which runs the plugin on a plugin thread.
    pub fn key(&self, parts: &[String]) -> Result<String, CacheError> {
        match self.memoized_key(parts) {
            Some(key) => Ok(key),
            None => self.generate_key(parts),
        }
    }

    /// Asks the plugin for the key of `parts` (no memo lookup: the caller
    /// made it) and remembers it when keys are pure. Blocks for up to the
    /// call deadline.
    pub(crate) fn generate_key(&self, parts: &[String]) -> Result<String, CacheError> {
        let key = self
            .plugin
            .generate_key(parts)
            .map_err(|error| self.plugin_error(error))??;
        if let Some(memo) = &self.key_memo {
            memo.remember(parts, &key);
        }
        Ok(key)
    }

    /// A plugin failure of this cache, as the cache reports it.
    pub(crate) fn plugin_error(&self, error: crate::plugin::PluginError) -> CacheError {
        CacheError::Plugin {
            cache: self.definition().name.clone(),
            error,
        }
    }

    /// The key for `parts` if it can be had without calling the plugin
    /// (pure keys, seen before). Lets callers skip moving work off the async
    /// threads when no plugin call is needed.
    pub fn memoized_key(&self, parts: &[String]) -> Option<String> {
        self.key_memo.as_ref()?.get(parts)
    }
}

/// The L1 table settings a definition asks for.
pub fn table_config(definition: &Definition) -> TableConfig {
    TableConfig {
        max_items: definition.max_items,
        policy: definition.eviction,
        expiry: definition.expiry,
        shards: 0,
        index_keys: true,
    }
}

/// All loaded definitions, by short name. Cloning copies only pointers.
///
/// The invalidation budget belongs to the tenant, not to one snapshot: every catalog cloned
/// from this one (each reload) shares it.
#[derive(Default, Clone)]
pub struct Catalog {
    by_name: BTreeMap<String, Arc<DefinedCache>>,
    budget: Arc<InvalidationBudget>,
}

impl Catalog {
    /// The tenant's invalidation work budget and counters.
    pub fn invalidation_budget(&self) -> &InvalidationBudget {
        &self.budget
    }

    /// Uses `budget` for this catalog and every snapshot cloned from it.
    pub fn with_invalidation_budget(mut self, budget: InvalidationBudget) -> Self {
        self.budget = Arc::new(budget);
        self
    }

    /// Adds a cache; names must be unique.
    pub fn insert(&mut self, cache: DefinedCache) -> Result<(), LoadError> {
        let name = cache.definition().name.clone();
        if self.by_name.contains_key(&name) {
            return Err(LoadError::DuplicateName(name));
        }
        self.by_name.insert(name, Arc::new(cache));
        Ok(())
    }

    /// Adds or replaces the cache with the same name (a reload).
    pub fn upsert(&mut self, cache: DefinedCache) {
        self.by_name
            .insert(cache.definition().name.clone(), Arc::new(cache));
    }

    /// Removes a cache; returns it if it was there.
    pub fn remove(&mut self, name: &str) -> Option<Arc<DefinedCache>> {
        self.by_name.remove(name)
    }

    /// The cache with this short name.
    pub fn get(&self, name: &str) -> Option<&Arc<DefinedCache>> {
        self.by_name.get(name)
    }

    /// Every cache, by name.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<DefinedCache>> {
        self.by_name.values()
    }

    /// How many caches.
    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }
}

/// A plugin to load: a label for messages and its bytes.
pub struct PluginSource {
    /// File name or `bundled:<name>`.
    pub label: String,
    /// The component.
    pub bytes: Cow<'static, [u8]>,
}

/// Plugins left out, each with its source label and why.
pub type Refused = Vec<(String, LoadError)>;

/// Reads every `*.wasm` entry of a directory (canonical), in name order, each opened once
/// and confined to the directory (`plugin/file.rs`); the files refused are returned with why.
pub fn sources_from_dir(dir: &Path) -> std::io::Result<(Vec<PluginSource>, Refused)> {
    let mut paths: Vec<_> = std::fs::read_dir(dir)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "wasm"))
        .collect();
    paths.sort();
    let mut sources = Vec::new();
    let mut refused = Vec::new();
    for path in paths {
        match read_plugin(&path, Some(dir)) {
            Ok(file) => sources.push(PluginSource {
                label: file.label,
                bytes: Cow::Owned(file.bytes),
            }),
            Err(error) => refused.push((path.display().to_string(), error)),
        }
    }
    Ok((sources, refused))
}

/// Loads every source; a plugin that fails is left out and reported, so one
/// broken file never keeps the others from serving.
///
/// Names are settled by a rule that does not depend on file names: when
/// plugins with different ids declare the same cache name, none of them is
/// loaded (each is reported, naming every claim); when several files carry
/// the same id, the highest version is loaded (on a tie, the first file in
/// name order) and the others are reported as superseded.
pub fn load_all(
    runtime: &Arc<PluginRuntime>,
    sources: &[PluginSource],
    cache_dir: Option<&Path>,
    caps: &DefinitionCaps,
    clock: &Arc<dyn Clock>,
) -> (Catalog, Refused) {
    let mut refused = Vec::new();
    let mut by_name: BTreeMap<String, Vec<LoadedPlugin>> = BTreeMap::new();
    for source in sources {
        match LoadedPlugin::load(runtime, &source.bytes, &source.label, cache_dir, caps) {
            Ok(plugin) => by_name
                .entry(plugin.definition().name.clone())
                .or_default()
                .push(plugin),
            Err(error) => refused.push((source.label.clone(), error)),
        }
    }
    let mut catalog = Catalog::default();
    for (name, mut claims) in by_name {
        let first_id = claims.first().map(|p| p.definition().id.clone());
        if claims
            .iter()
            .any(|p| Some(&p.definition().id) != first_id.as_ref())
        {
            let listed = claims
                .iter()
                .map(|p| {
                    format!(
                        "{} from {}",
                        p.definition().versioned_id(),
                        p.origin().source
                    )
                })
                .collect::<Vec<_>>()
                .join(", ");
            for plugin in claims {
                refused.push((
                    plugin.origin().source.clone(),
                    LoadError::NameContested {
                        name: name.clone(),
                        claims: listed.clone(),
                    },
                ));
            }
            continue;
        }
        // Same id everywhere: the highest version wins; `max_by` keeps the last of equals, so
        // walk the files in reverse name order to keep the first.
        claims.reverse();
        let best = claims
            .iter()
            .enumerate()
            .max_by_key(|(_, p)| {
                let v = &p.definition().version;
                (v.major, v.minor, v.patch)
            })
            .map_or(0, |(i, _)| i);
        let kept = claims.swap_remove(best);
        for plugin in claims {
            refused.push((
                plugin.origin().source.clone(),
                LoadError::Superseded {
                    name: name.clone(),
                    id: plugin.definition().id.clone(),
                    kept: kept.origin().source.clone(),
                },
            ));
        }
        if let Err(error) = catalog.insert(DefinedCache::new(kept, Arc::clone(clock))) {
            refused.push((name, error));
        }
    }
    (catalog, refused)
}
