//! `PLUGIN.LOAD <path> [REPLACE]` (admin): loads a plugin file, adding its
//! cache or reloading the one with the same name and id (hot reload). A
//! plugin whose name is held by another id is refused unless `REPLACE` asks
//! for the replacement. Compilation and checks run on tokio's blocking pool
//! (`plugin::workers::admin_task`); a
//! refused plugin leaves the old one serving.

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
    let replace = if parse.remaining() > 0 {
        let flag = parse.next_string()?;
        if !flag.eq_ignore_ascii_case("REPLACE") {
            return Ok(Frame::error(format!(
                "ERR unknown PLUGIN.LOAD option {flag:?} (only REPLACE)"
            )));
        }
        true
    } else {
        false
    };
    parse.finish()?;
    // A tenant may only load from its own plugin directory.
    if matches!(ctx.tenants, Tenants::Many(_)) && !inside(&path, tenant.plugins_dir.as_deref()) {
        return Ok(Frame::error(
            "NOPERM a tenant may only load plugins from its own plugin directory",
        ));
    }
    let lifecycle = tenant.lifecycle.clone();
    Ok(
        match admin_task(move || lifecycle.load(&path, replace)).await {
            Ok(installed) => installed_frame(&installed),
            Err(AdminTaskError::Failed(error)) => Frame::error(format!("PLUGIN {error}")),
            Err(AdminTaskError::Lost) => {
                Frame::error("ERR internal error while running the command")
            }
        },
    )
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

/// Whether `path` names an entry directly inside `dir` (canonical, see
/// `Tenant::plugins_dir`); its last component is not followed here. The
/// lifecycle checks again on the opened file, so this only picks the error.
fn inside(path: &Path, dir: Option<&Path>) -> bool {
    dir.is_some_and(|dir| crate::plugin::file::is_directly_inside(path, dir))
}
