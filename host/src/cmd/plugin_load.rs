//! `PLUGIN.LOAD <path>` (admin): loads a plugin file, adding its cache or
//! replacing the one with the same name (hot reload). Compilation and checks
//! run on the blocking pool; a refused plugin leaves the old one serving.

use super::Context;
use crate::lifecycle::Installed;
use crate::resp::{Frame, Parse, ParseError};

pub(super) async fn run(parse: &mut Parse, ctx: &Context) -> Result<Frame, ParseError> {
    let path = parse.next_string()?;
    parse.finish()?;
    let lifecycle = ctx.lifecycle.clone();
    Ok(
        match super::off_async(move || lifecycle.load_file(std::path::Path::new(&path))).await {
            Ok(Ok(installed)) => installed_frame(&installed),
            Ok(Err(error)) => Frame::error(format!("PLUGIN {error}")),
            Err(frame) => frame,
        },
    )
}

/// The reply shared by `PLUGIN.LOAD` and `PLUGIN.RELOAD`.
pub(super) fn installed_frame(installed: &Installed) -> Frame {
    use crate::lifecycle::EntriesKept;
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
