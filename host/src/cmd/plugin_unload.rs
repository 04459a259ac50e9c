//! `PLUGIN.UNLOAD <cache>` (admin): removes a cache and its entries.

use crate::plugin::workers::{AdminTaskError, admin_task};
use crate::tenant::Tenant;
use hoard_resp::{Frame, Parse, ParseError};

pub(super) async fn run(parse: &mut Parse, tenant: &Tenant) -> Result<Frame, ParseError> {
    let name = parse.next_string()?;
    parse.finish()?;
    let lifecycle = tenant.lifecycle.clone();
    Ok(match admin_task(move || lifecycle.unload(&name)).await {
        Ok(()) => Frame::ok(),
        Err(AdminTaskError::Failed(error)) => Frame::error(format!("NOCACHE {error}")),
        Err(AdminTaskError::Lost) => Frame::error("ERR internal error while running the command"),
    })
}
