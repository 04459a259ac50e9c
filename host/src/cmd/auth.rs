//! `AUTH <tenant> <password>` (Redis 6 ACL form) selects the tenant a
//! connection acts for, taking one of its connection seats. Without tenants
//! configured, `AUTH [admin] <password>` authenticates the admin, who may
//! run `PLUGIN.*`. Only SHA-256 digests are configured; comparisons run in
//! constant time.

use bytes::Bytes;

use super::{Context, Session};
use crate::tenant::{Tenants, constant_time_eq};
use hoard_resp::{Frame, Parse, ParseError};

pub(super) fn run(
    parse: &mut Parse,
    session: &mut Session,
    ctx: &Context,
) -> Result<Frame, ParseError> {
    let first = parse.next_bytes()?;
    let (user, password) = if parse.remaining() > 0 {
        (
            Some(String::from_utf8_lossy(&first).into_owned()),
            parse.next_bytes()?,
        )
    } else {
        (None, first)
    };
    parse.finish()?;
    Ok(authenticate(user.as_deref(), &password, session, ctx))
}

/// Checks a user and password and updates the session; the reply says how it went.
/// Shared with `HELLO ... AUTH user pass`.
pub(super) fn authenticate(
    user: Option<&str>,
    password: &Bytes,
    session: &mut Session,
    ctx: &Context,
) -> Frame {
    let wrong = || Frame::error("WRONGPASS invalid username-password pair or user is disabled.");
    match &ctx.tenants {
        Tenants::Single(_) => {
            let Some(expected) = &ctx.admin_password_sha256 else {
                return Frame::error(
                    "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
                );
            };
            let given = crate::plugin::sha256_hex(password);
            let matches = constant_time_eq(
                given.as_bytes(),
                expected.trim().to_ascii_lowercase().as_bytes(),
            );
            if matches && user.is_none_or(|u| u == "admin") {
                session.admin = true;
                Frame::ok()
            } else {
                wrong()
            }
        }
        Tenants::Many(tenants) => {
            let Some(tenant) = user.and_then(|u| tenants.get(u)) else {
                return wrong();
            };
            if !tenant.check_password(password) {
                return wrong();
            }
            // Re-authenticating as the same tenant keeps the seat it has.
            if session
                .tenant
                .as_ref()
                .is_some_and(|seat| seat.name == tenant.name)
            {
                return Frame::ok();
            }
            match tenant.admit() {
                Ok(seat) => {
                    session.tenant = Some(seat);
                    Frame::ok()
                }
                Err(error) => Frame::error(format!("QUOTA {error}")),
            }
        }
    }
}
