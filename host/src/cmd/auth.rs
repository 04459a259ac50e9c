//! `AUTH <tenant> <password>` (Redis 6 ACL form) selects the tenant a
//! connection acts for, taking one of its connection seats. Without tenants
//! configured, `AUTH [admin] <password>` authenticates the admin, who may
//! run `PLUGIN.*`. Only password hashes are configured
//! ([`crate::credential`]); the slow argon2 check runs off the async worker
//! and compares in constant time.

use bytes::Bytes;

use super::{Context, Session};
use crate::tenant::Tenants;
use hoard_resp::{Frame, Parse, ParseError};

pub(super) async fn run(
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
    Ok(authenticate(user.as_deref(), &password, session, ctx).await)
}

/// Checks a user and password and updates the session; the reply says how it went.
/// Shared with `HELLO ... AUTH user pass`.
pub(super) async fn authenticate(
    user: Option<&str>,
    password: &Bytes,
    session: &mut Session,
    ctx: &Context,
) -> Frame {
    let wrong = || Frame::error("WRONGPASS invalid username-password pair or user is disabled.");
    match &ctx.tenants {
        Tenants::Single(_) => {
            let Some(credential) = &ctx.admin_credential else {
                return Frame::error(
                    "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
                );
            };
            // Only the admin exists here: another name is refused without
            // spending a hash on it.
            if user.is_some_and(|u| u != "admin") {
                return wrong();
            }
            if std::sync::Arc::clone(credential)
                .check(password.to_vec())
                .await
            {
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
            if !tenant.check_password(password).await {
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
