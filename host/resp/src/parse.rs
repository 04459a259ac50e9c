//! A cursor over one command's arguments, with typed accessors and
//! Redis-worded errors.
//!
//! This file only walks an already-decoded argument list. It must not touch
//! bytes on the wire, and must not decide what a command does; commands use
//! it to read their arguments and turn mistakes into standard error replies.

use std::vec::IntoIter;

use bytes::Bytes;

use super::decode::{parse_i64, parse_u64};

/// Why a command's arguments were rejected.
///
/// Display texts are Redis's without the `ERR ` code, so the caller replies
/// `Frame::error(format!("ERR {e}"))`.
#[derive(thiserror::Error, Debug)]
pub enum ParseError {
    /// Too few (or, via [`Parse::finish`], too many) arguments. Carries the
    /// lower-case command name, as Redis prints it.
    #[error("wrong number of arguments for '{0}' command")]
    WrongArity(String),
    /// The argument is not a decimal integer in range.
    #[error("value is not an integer or out of range")]
    NotInteger,
    /// The argument had to be text but isn't valid UTF-8.
    #[error("invalid UTF-8 in argument")]
    NotUtf8,
    /// An unknown option or a malformed option combination.
    #[error("syntax error")]
    Syntax,
}

/// Cursor over a command's arguments.
///
/// [`Parse::new`] takes ALL arguments, the command name first;
/// [`Parse::command_name`] returns that name upper-cased, and the `next_*`
/// methods start at the first argument after it. Running out of arguments is
/// a [`ParseError::WrongArity`] naming the command, which is exactly the
/// reply Redis gives, so commands rarely need their own arity checks.
#[derive(Debug)]
pub struct Parse {
    name: String,
    args: IntoIter<Bytes>,
}

impl Parse {
    /// Builds a cursor from a full command (`args[0]` is the command name).
    /// An empty list gives an empty name and no arguments.
    pub fn new(args: Vec<Bytes>) -> Parse {
        let mut args = args.into_iter();
        let name = args
            .next()
            .map(|n| String::from_utf8_lossy(&n).to_ascii_uppercase())
            .unwrap_or_default();
        Parse { name, args }
    }

    /// The command name, upper-cased ASCII (for dispatch tables).
    pub fn command_name(&self) -> String {
        self.name.clone()
    }

    fn arity_error(&self) -> ParseError {
        ParseError::WrongArity(self.name.to_ascii_lowercase())
    }

    /// Next argument as raw bytes (zero-copy).
    pub fn next_bytes(&mut self) -> Result<Bytes, ParseError> {
        match self.args.next() {
            Some(b) => Ok(b),
            None => Err(self.arity_error()),
        }
    }

    /// Next argument as UTF-8 text.
    pub fn next_string(&mut self) -> Result<String, ParseError> {
        let b = self.next_bytes()?;
        String::from_utf8(b.to_vec()).map_err(|_| ParseError::NotUtf8)
    }

    /// Next argument as a non-negative integer, strictly decimal like Redis
    /// (no sign, spaces or leading zeros).
    pub fn next_u64(&mut self) -> Result<u64, ParseError> {
        let b = self.next_bytes()?;
        parse_u64(&b).ok_or(ParseError::NotInteger)
    }

    /// Next argument as a signed integer, strictly decimal like Redis.
    pub fn next_i64(&mut self) -> Result<i64, ParseError> {
        let b = self.next_bytes()?;
        parse_i64(&b).ok_or(ParseError::NotInteger)
    }

    /// The next argument upper-cased, without consuming it: lets option
    /// parsers (`EX`, `NX`, ...) look before deciding.
    pub fn peek_upper(&self) -> Option<String> {
        self.args
            .as_slice()
            .first()
            .map(|b| String::from_utf8_lossy(b).to_ascii_uppercase())
    }

    /// How many arguments are left (not counting the command name).
    pub fn remaining(&self) -> usize {
        self.args.len()
    }

    /// Takes all remaining arguments (for variadic commands like `DEL`).
    pub fn rest(&mut self) -> Vec<Bytes> {
        self.args.by_ref().collect()
    }

    /// Ok when every argument was consumed; otherwise the arity error, which
    /// is what Redis answers for fixed-arity commands given extra arguments.
    /// Commands with options should report leftovers as [`ParseError::Syntax`].
    pub fn finish(&self) -> Result<(), ParseError> {
        if self.args.len() == 0 {
            Ok(())
        } else {
            Err(self.arity_error())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Parse {
        Parse::new(
            args.iter()
                .map(|a| Bytes::copy_from_slice(a.as_bytes()))
                .collect(),
        )
    }

    #[test]
    fn walks_arguments() {
        let mut c = p(&["set", "k", "v", "ex", "10", "-5"]);
        assert_eq!(c.command_name(), "SET");
        assert_eq!(c.remaining(), 5);
        assert_eq!(c.next_bytes().unwrap(), Bytes::from("k"));
        assert_eq!(c.next_string().unwrap(), "v");
        assert_eq!(c.peek_upper().as_deref(), Some("EX"));
        assert_eq!(c.remaining(), 3);
        assert_eq!(c.next_string().unwrap(), "ex");
        assert_eq!(c.next_u64().unwrap(), 10);
        assert_eq!(c.next_i64().unwrap(), -5);
        assert_eq!(c.peek_upper(), None);
        c.finish().unwrap();
    }

    #[test]
    fn arity_errors_name_the_command() {
        let mut c = p(&["GeT"]);
        let e = c.next_bytes().unwrap_err();
        assert!(matches!(&e, ParseError::WrongArity(n) if n == "get"));
        assert_eq!(e.to_string(), "wrong number of arguments for 'get' command");
        let c = p(&["get", "a", "b"]);
        assert!(matches!(c.finish(), Err(ParseError::WrongArity(_))));
        let mut empty = Parse::new(vec![]);
        assert_eq!(empty.command_name(), "");
        assert!(empty.next_string().is_err());
    }

    #[test]
    fn integer_errors() {
        for bad in ["abc", "", "1.5", "+1", "01", " 1", "18446744073709551616"] {
            let mut c = p(&["x", bad]);
            assert!(matches!(c.next_u64(), Err(ParseError::NotInteger)), "{bad}");
        }
        let mut c = p(&["x", "-1"]);
        assert!(matches!(c.next_u64(), Err(ParseError::NotInteger)));
        let mut c = p(&["x", "9223372036854775808"]);
        assert!(matches!(c.next_i64(), Err(ParseError::NotInteger)));
        assert_eq!(
            ParseError::NotInteger.to_string(),
            "value is not an integer or out of range"
        );
        assert_eq!(ParseError::Syntax.to_string(), "syntax error");
    }

    #[test]
    fn utf8_and_rest() {
        let mut c = Parse::new(vec![
            Bytes::from("del"),
            Bytes::from(vec![0xff, 0xfe]),
            Bytes::from("b"),
            Bytes::from("c"),
        ]);
        assert!(matches!(c.next_string(), Err(ParseError::NotUtf8)));
        assert_eq!(c.rest(), vec![Bytes::from("b"), Bytes::from("c")]);
        assert_eq!(c.remaining(), 0);
        assert!(c.rest().is_empty());
        c.finish().unwrap();
    }
}
