//! Redis-compatible glob patterns (`KEYS`/`SCAN MATCH` semantics of `stringmatchlen`).
//!
//! This file compiles and matches patterns only; it must not touch the table. Matching uses the
//! single-backtrack-point algorithm (remember the last `*` and retry from one byte further), so
//! it runs in O(pattern × subject) time and hostile patterns such as `*a*a*a*a*b` cannot make it
//! exponential. It never panics on any input.

/// One compiled element of a pattern; each non-star token consumes exactly one byte.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Literal(u8),
    AnyByte,
    Star,
    Class { negate: bool, items: Vec<(u8, u8)> },
}

/// A compiled Redis glob pattern.
///
/// Compiling once lets `KEYS`-style scans match many keys without re-parsing, and exposes the
/// literal prefix so that an ordered key index can turn `user:42:*` into a range scan.
#[derive(Clone, Debug)]
pub struct Glob {
    tokens: Vec<Token>,
    prefix: Vec<u8>,
    literal: bool,
}

fn parse_class(p: &[u8], mut i: usize) -> (Token, usize) {
    // `i` points just past '['. Mirrors Redis: `^` negates, `\x` is literal, `a-z` is a range
    // (swapped when reversed), `]` closes, and an unterminated class ends at the pattern end.
    let negate = p.get(i) == Some(&b'^');
    if negate {
        i += 1;
    }
    let mut items = Vec::new();
    loop {
        match (p.get(i), p.get(i + 1), p.get(i + 2)) {
            (None, _, _) => break,
            (Some(b'\\'), Some(&c), _) => {
                items.push((c, c));
                i += 2;
            }
            (Some(b']'), _, _) => {
                i += 1;
                break;
            }
            (Some(&a), Some(b'-'), Some(&b)) => {
                items.push((a.min(b), a.max(b)));
                i += 3;
            }
            (Some(&c), _, _) => {
                items.push((c, c));
                i += 1;
            }
        }
    }
    (Token::Class { negate, items }, i)
}

impl Glob {
    /// Compiles a pattern; every byte string is a valid pattern, as in Redis.
    pub fn new(pattern: &[u8]) -> Glob {
        let mut tokens = Vec::new();
        let mut i = 0;
        while let Some(&c) = pattern.get(i) {
            match c {
                b'*' => {
                    if tokens.last() != Some(&Token::Star) {
                        tokens.push(Token::Star);
                    }
                    i += 1;
                }
                b'?' => {
                    tokens.push(Token::AnyByte);
                    i += 1;
                }
                b'[' => {
                    let (t, next) = parse_class(pattern, i + 1);
                    tokens.push(t);
                    i = next;
                }
                b'\\' => match pattern.get(i + 1) {
                    Some(&e) => {
                        tokens.push(Token::Literal(e));
                        i += 2;
                    }
                    None => {
                        tokens.push(Token::Literal(b'\\'));
                        i += 1;
                    }
                },
                other => {
                    tokens.push(Token::Literal(other));
                    i += 1;
                }
            }
        }
        let mut prefix = Vec::new();
        for t in &tokens {
            match t {
                Token::Literal(c) => prefix.push(*c),
                _ => break,
            }
        }
        let literal = prefix.len() == tokens.len();
        Glob {
            tokens,
            prefix,
            literal,
        }
    }

    /// The unescaped literal bytes every match must start with (empty if the pattern starts
    /// with a wildcard); the key index range-scans over it.
    pub fn literal_prefix(&self) -> &[u8] {
        &self.prefix
    }

    /// Tells whether the pattern has no wildcards, so it matches exactly one key (its prefix).
    pub(crate) fn is_literal(&self) -> bool {
        self.literal
    }

    /// Tells whether `s` matches the whole pattern.
    pub fn matches(&self, s: &[u8]) -> bool {
        let (mut p, mut i) = (0usize, 0usize);
        let mut backtrack: Option<(usize, usize)> = None;
        loop {
            match self.tokens.get(p) {
                Some(Token::Star) => {
                    backtrack = Some((p, i));
                    p += 1;
                    continue;
                }
                Some(t) => {
                    if let Some(&c) = s.get(i)
                        && token_matches(t, c)
                    {
                        p += 1;
                        i += 1;
                        continue;
                    }
                }
                None => {
                    if i == s.len() {
                        return true;
                    }
                }
            }
            // Mismatch: let the last star swallow one more byte, or fail.
            match backtrack {
                Some((sp, si)) if si < s.len() => {
                    backtrack = Some((sp, si + 1));
                    p = sp + 1;
                    i = si + 1;
                }
                _ => return false,
            }
        }
    }
}

fn token_matches(t: &Token, c: u8) -> bool {
    match t {
        Token::Literal(l) => *l == c,
        Token::AnyByte => true,
        Token::Star => true,
        Token::Class { negate, items } => {
            let hit = items.iter().any(|&(lo, hi)| lo <= c && c <= hi);
            hit != *negate
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, s: &str) -> bool {
        Glob::new(p.as_bytes()).matches(s.as_bytes())
    }

    #[test]
    fn stars_and_questions() {
        assert!(m("*", ""));
        assert!(m("*", "anything"));
        assert!(m("h?llo", "hello"));
        assert!(!m("h?llo", "hllo"));
        assert!(m("h*llo", "hllo"));
        assert!(m("h*llo", "heeeello"));
        assert!(m("user:*:name", "user:42:name"));
        assert!(!m("user:*:name", "user:42:names"));
        assert!(m("a*b*c", "aXbYc"));
        assert!(!m("a*b*c", "aXbY"));
        assert!(m("", ""));
        assert!(!m("", "a"));
        assert!(m("**a**", "bab"));
    }

    #[test]
    fn classes() {
        assert!(m("h[ae]llo", "hello"));
        assert!(m("h[ae]llo", "hallo"));
        assert!(!m("h[ae]llo", "hillo"));
        assert!(m("h[^e]llo", "hallo"));
        assert!(!m("h[^e]llo", "hello"));
        assert!(m("h[a-b]llo", "hbllo"));
        assert!(
            m("h[b-a]llo", "hallo"),
            "reversed ranges are swapped like Redis"
        );
        assert!(!m("h[a-b]llo", "hcllo"));
        assert!(m("[\\]]", "]"));
        assert!(!m("[]", "]"), "an empty class matches nothing");
        assert!(
            m("[abc", "b"),
            "an unterminated class ends at the pattern end"
        );
        assert!(!m("[", "["));
    }

    #[test]
    fn escapes_and_prefix() {
        assert!(m("a\\*b", "a*b"));
        assert!(!m("a\\*b", "axb"));
        assert!(m("a\\?", "a?"));
        assert!(m("trailing\\", "trailing\\"));
        let g = Glob::new(b"us\\*er:42:*");
        assert_eq!(g.literal_prefix(), b"us*er:42:");
        assert!(!g.is_literal());
        let g = Glob::new(b"exact\\[key");
        assert!(g.is_literal());
        assert_eq!(g.literal_prefix(), b"exact[key");
        assert_eq!(Glob::new(b"*x").literal_prefix(), b"");
    }

    #[test]
    fn pathological_pattern_is_fast() {
        let subject = vec![b'a'; 10_000];
        let g = Glob::new(b"*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b");
        let start = std::time::Instant::now();
        assert!(!g.matches(&subject));
        assert!(start.elapsed() < std::time::Duration::from_secs(2));
    }

    #[test]
    fn never_panics_on_odd_bytes() {
        for p in [
            &b"["[..],
            b"[^",
            b"[a-",
            b"\\",
            b"[\\",
            b"\xff*\x00",
            b"[z-a",
        ] {
            let g = Glob::new(p);
            let _ = g.matches(b"");
            let _ = g.matches(b"\xffabc\x00");
        }
    }
}
