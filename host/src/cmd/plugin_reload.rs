//! `PLUGIN.RELOAD <cache>` (admin): reloads a cache's plugin from the file it
//! was loaded from.

use crate::plugin::workers::{AdminTaskError, admin_task};
use crate::tenant::Tenant;
use hoard_resp::{Frame, Parse, ParseError};

pub(super) async fn run(parse: &mut Parse, tenant: &Tenant) -> Result<Frame, ParseError> {
    let name = parse.next_string()?;
    parse.finish()?;
    let lifecycle = tenant.lifecycle.clone();
    Ok(match admin_task(move || lifecycle.reload(&name)).await {
        Ok(installed) => super::plugin_load::installed_frame(&installed),
        Err(AdminTaskError::Failed(error)) => Frame::error(format!("PLUGIN {error}")),
        Err(AdminTaskError::Lost) => Frame::error("ERR internal error while running the command"),
    })
}
