//! `PLUGIN.UNLOAD <cache>` (admin): removes a cache and its entries.

use super::Context;
use crate::resp::{Frame, Parse, ParseError};

pub(super) async fn run(parse: &mut Parse, ctx: &Context) -> Result<Frame, ParseError> {
    let name = parse.next_string()?;
    parse.finish()?;
    let lifecycle = ctx.lifecycle.clone();
    Ok(
        match super::off_async(move || lifecycle.unload(&name)).await {
            Ok(Ok(())) => Frame::ok(),
            Ok(Err(error)) => Frame::error(format!("NOCACHE {error}")),
            Err(frame) => frame,
        },
    )
}
