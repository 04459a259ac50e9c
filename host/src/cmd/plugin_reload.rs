//! `PLUGIN.RELOAD <cache>` (admin): reloads a cache's plugin from the file it
//! was loaded from.

use crate::tenant::Tenant;
use hoard_resp::{Frame, Parse, ParseError};

pub(super) async fn run(parse: &mut Parse, tenant: &Tenant) -> Result<Frame, ParseError> {
    let name = parse.next_string()?;
    parse.finish()?;
    let lifecycle = tenant.lifecycle.clone();
    Ok(
        match super::off_async(&tenant.cache, move || lifecycle.reload(&name)).await {
            Ok(Ok(installed)) => super::plugin_load::installed_frame(&installed),
            Ok(Err(error)) => Frame::error(format!("PLUGIN {error}")),
            Err(frame) => frame,
        },
    )
}
