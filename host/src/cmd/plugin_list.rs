//! `PLUGIN.LIST` (admin): every loaded plugin with its id, version, file
//! hash, source, load time, calls, faults and state.

use std::time::UNIX_EPOCH;

use crate::tenant::Tenant;
use hoard_resp::{Frame, Parse, ParseError};

pub(super) fn run(parse: &mut Parse, tenant: &Tenant) -> Result<Frame, ParseError> {
    parse.finish()?;
    let catalog = tenant.cache.catalog();
    let rows = catalog
        .iter()
        .map(|cache| {
            let d = cache.definition();
            let plugin = cache.plugin();
            let origin = plugin.origin();
            let (calls, faults) = plugin.call_stats();
            let loaded_at_ms = origin
                .loaded_at
                .duration_since(UNIX_EPOCH)
                .map_or(0, |t| i64::try_from(t.as_millis()).unwrap_or(i64::MAX));
            Frame::Map(vec![
                (Frame::bulk("cache"), Frame::bulk(d.name.clone())),
                (Frame::bulk("id"), Frame::bulk(d.id.clone())),
                (Frame::bulk("version"), Frame::bulk(d.version.to_string())),
                (Frame::bulk("sha256"), Frame::bulk(origin.sha256.clone())),
                (Frame::bulk("source"), Frame::bulk(origin.source.clone())),
                (Frame::bulk("loaded-at-ms"), Frame::Integer(loaded_at_ms)),
                (Frame::bulk("calls"), Frame::Integer(calls as i64)),
                (Frame::bulk("faults"), Frame::Integer(faults as i64)),
                (
                    Frame::bulk("state"),
                    Frame::bulk(if plugin.is_quarantined() {
                        "quarantined"
                    } else {
                        "serving"
                    }),
                ),
            ])
        })
        .collect();
    Ok(Frame::Array(rows))
}
