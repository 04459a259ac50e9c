//! `PLUGIN.RELOAD <cache>` (admin): reloads a cache's plugin from the file it
//! was loaded from.

use super::Context;
use crate::resp::{Frame, Parse, ParseError};

pub(super) async fn run(parse: &mut Parse, ctx: &Context) -> Result<Frame, ParseError> {
    let name = parse.next_string()?;
    parse.finish()?;
    let lifecycle = ctx.lifecycle.clone();
    Ok(
        match super::off_async(move || lifecycle.reload(&name)).await {
            Ok(Ok(installed)) => super::plugin_load::installed_frame(&installed),
            Ok(Err(error)) => Frame::error(format!("PLUGIN {error}")),
            Err(frame) => frame,
        },
    )
}
