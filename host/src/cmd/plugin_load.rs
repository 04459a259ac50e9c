//! `PLUGIN.LOAD <path>` (admin): loads a plugin file, adding its cache or
//! replacing the one with the same name (hot reload). Compilation and checks
//! run on the blocking pool; a refused plugin leaves the old one serving.

use std::path::{Path, PathBuf};

use super::Context;
use crate::plugin::workers::{AdminTaskError, admin_task};
use crate::reload::lifecycle::Installed;
use crate::tenant::{Tenant, Tenants};
use hoard_resp::{Frame, Parse, ParseError};

pub(super) async fn run(
    parse: &mut Parse,
    tenant: &Tenant,
    ctx: &Context,
) -> Result<Frame, ParseError> {
    let path = PathBuf::from(parse.next_string()?);
    parse.finish()?;
    // A tenant may only load from its own plugin directory.
    if matches!(ctx.tenants, Tenants::Many(_)) && !inside(&path, tenant.plugins_dir.as_deref()) {
        return Ok(Frame::error(
            "NOPERM a tenant may only load plugins from its own plugin directory",
        ));
    }
    let lifecycle = tenant.lifecycle.clone();
    Ok(match admin_task(move || lifecycle.load_file(&path)).await {
        Ok(installed) => installed_frame(&installed),
        Err(AdminTaskError::Failed(error)) => Frame::error(format!("PLUGIN {error}")),
        Err(AdminTaskError::Lost) => Frame::error("ERR internal error while running the command"),
    })
}

/// The reply shared by `PLUGIN.LOAD` and `PLUGIN.RELOAD`.
pub(super) fn installed_frame(installed: &Installed) -> Frame {
    use crate::reload::lifecycle::EntriesKept;
    let (entries, count) = match installed.entries {
        EntriesKept::New => ("new", 0),
        EntriesKept::Kept(n) => ("kept", n),
        EntriesKept::Copied(n) => ("copied", n),
        EntriesKept::Dropped(n) => ("dropped", n),
    };
    Frame::Map(vec![
        (Frame::bulk("cache"), Frame::bulk(installed.name.clone())),
        (
            Frame::bulk("id"),
            Frame::bulk(installed.versioned_id.clone()),
        ),
        (
            Frame::bulk("replaced"),
            installed.replaced.clone().map_or(Frame::Null, Frame::bulk),
        ),
        (Frame::bulk("entries"), Frame::bulk(entries)),
        (Frame::bulk("entry-count"), Frame::Integer(count as i64)),
    ])
}

/// Whether `path` resolves to a file inside `dir` (symlinks and `..`
/// resolved; `dir` is already canonical, see `Tenant::plugins_dir`).
fn inside(path: &Path, dir: Option<&Path>) -> bool {
    let (Some(dir), Ok(path)) = (dir, path.canonicalize()) else {
        return false;
    };
    path.starts_with(dir)
}
