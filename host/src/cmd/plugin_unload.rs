//! `PLUGIN.UNLOAD <cache>` (admin): removes a cache and its entries.

use crate::tenant::Tenant;
use hoard_resp::{Frame, Parse, ParseError};

pub(super) async fn run(parse: &mut Parse, tenant: &Tenant) -> Result<Frame, ParseError> {
    let name = parse.next_string()?;
    parse.finish()?;
    let lifecycle = tenant.lifecycle.clone();
    Ok(
        match super::off_async(&tenant.cache, move || lifecycle.unload(&name)).await {
            Ok(Ok(())) => Frame::ok(),
            Ok(Err(error)) => Frame::error(format!("NOCACHE {error}")),
            Err(frame) => frame,
        },
    )
}
