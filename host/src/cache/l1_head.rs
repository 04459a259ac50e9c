//! The 16 bytes some L1 entries carry in front of their envelope: two
//! big-endian numbers, the first always the time (ms) the entry is fresh
//! until. Read-through entries put their written-at time second (eager
//! refresh and the stale window need both); tiered entries put the trust
//! generation second (a flush or bus gap untrusts older copies). One
//! layout so neither can misread the other's bytes.

/// Bytes in front of the envelope.
pub(crate) const LEN: usize = 16;

/// `body` behind its head.
pub(crate) fn wrap(fresh_until_ms: u64, second: u64, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(LEN + body.len());
    out.extend_from_slice(&fresh_until_ms.to_be_bytes());
    out.extend_from_slice(&second.to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// Fresh-until, the second number and the body; `None` for bytes too short
/// to hold a head.
pub(crate) fn split(stored: &[u8]) -> Option<(u64, u64, &[u8])> {
    let fresh: [u8; 8] = stored.get(..8)?.try_into().ok()?;
    let second: [u8; 8] = stored.get(8..LEN)?.try_into().ok()?;
    Some((
        u64::from_be_bytes(fresh),
        u64::from_be_bytes(second),
        stored.get(LEN..)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrapped_body_splits_back() {
        let stored = wrap(1234, 7, b"\0value");
        assert_eq!(split(&stored), Some((1234, 7, &b"\0value"[..])));
        assert_eq!(
            split(&wrap(u64::MAX, 0, b"")),
            Some((u64::MAX, 0, &b""[..]))
        );
        assert_eq!(split(b"short"), None);
    }
}
