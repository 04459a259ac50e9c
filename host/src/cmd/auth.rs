//! `AUTH [admin] <password>`: authenticates the connection as the admin, who
//! may run `PLUGIN.*`. The configuration stores only the password's SHA-256;
//! the comparison runs in constant time.

use super::{Context, Session};
use crate::resp::{Frame, Parse, ParseError};

pub(super) fn run(
    parse: &mut Parse,
    session: &mut Session,
    ctx: &Context,
) -> Result<Frame, ParseError> {
    let first = parse.next_bytes()?;
    let (user, password) = if parse.remaining() > 0 {
        (
            String::from_utf8_lossy(&first).into_owned(),
            parse.next_bytes()?,
        )
    } else {
        ("admin".to_owned(), first)
    };
    parse.finish()?;
    let Some(expected) = &ctx.admin_password_sha256 else {
        return Ok(Frame::error(
            "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
        ));
    };
    let given = crate::plugin::sha256_hex(&password);
    if user == "admin"
        && constant_time_eq(
            given.as_bytes(),
            expected.trim().to_ascii_lowercase().as_bytes(),
        )
    {
        session.admin = true;
        Ok(Frame::ok())
    } else {
        Ok(Frame::error(
            "WRONGPASS invalid username-password pair or user is disabled.",
        ))
    }
}

/// Compares without an early exit, so timing does not reveal the prefix that matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn equality() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
