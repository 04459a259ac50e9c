//! Redis-compatible glob patterns (`KEYS`/`SCAN MATCH` semantics of `stringmatchlen`).
//!
//! This file compiles and matches patterns only; it must not touch the table. Patterns come from
//! untrusted plugins, so matching must cost the same whatever their shape: a pattern compiles to
//! a bit-parallel automaton (one bit per pattern position, shift-and with self-looping stars) and
//! a match reads each subject byte exactly once, doing `ceil(positions / 64)` word operations per
//! byte. There is no backtracking, so `*a*a*a*b` or a long literal tail after a `*` costs the
//! same as `*`: linear in the subject. [`Glob::matches_counted`] returns that work so callers
//! can charge it against a budget. It never panics on any input.

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
    prefix: Vec<u8>,
    literal: bool,
    automaton: Automaton,
}

/// The compiled pattern: state `p` means "the first `p` tokens matched"; state `n` accepts.
///
/// Bytes that every token treats alike share one equivalence class, so a pattern stores one mask
/// row per class (usually a handful) instead of 256.
#[derive(Clone, Debug)]
struct Automaton {
    /// 64-bit words per state set.
    words: usize,
    /// Byte to mask-row index.
    class_of: Box<[u8; 256]>,
    /// `rows × words`: bit `p` set when token `p` consumes a byte of that class and moves on.
    masks: Vec<u64>,
    /// Bit `p` set when token `p` is a star (stays on any byte, and lets `p + 1` start).
    stars: Vec<u64>,
    /// Index of the accepting state.
    accept: usize,
}

impl Automaton {
    fn new(tokens: &[Token]) -> Automaton {
        let states = tokens.len() + 1;
        let words = states.div_ceil(64);
        let mut full = vec![0u64; 256 * words];
        let mut stars = vec![0u64; words];
        fn set(row: &mut [u64], p: usize) {
            if let Some(w) = row.get_mut(p / 64) {
                *w |= 1 << (p % 64);
            }
        }
        for (p, token) in tokens.iter().enumerate() {
            match token {
                Token::Star => set(&mut stars, p),
                Token::Literal(c) => {
                    let at = usize::from(*c) * words;
                    if let Some(row) = full.get_mut(at..at + words) {
                        set(row, p);
                    }
                }
                Token::AnyByte | Token::Class { .. } => {
                    for c in 0..=255u8 {
                        if token_matches(token, c) {
                            let at = usize::from(c) * words;
                            if let Some(row) = full.get_mut(at..at + words) {
                                set(row, p);
                            }
                        }
                    }
                }
            }
        }
        // Deduplicate the 256 rows into equivalence classes.
        let mut class_of = Box::new([0u8; 256]);
        let mut masks: Vec<u64> = Vec::new();
        let mut seen: std::collections::HashMap<&[u64], u8> = std::collections::HashMap::new();
        for (c, row) in full.chunks_exact(words).enumerate() {
            let next = u8::try_from(seen.len()).unwrap_or(u8::MAX);
            let class = *seen.entry(row).or_insert_with(|| {
                masks.extend_from_slice(row);
                next
            });
            if let Some(slot) = class_of.get_mut(c) {
                *slot = class;
            }
        }
        Automaton {
            words,
            class_of,
            masks,
            stars,
            accept: tokens.len(),
        }
    }

    /// Runs the automaton over `s`; returns whether it accepts and the word operations done.
    fn run(&self, s: &[u8]) -> (bool, u64) {
        if self.words == 1 {
            return self.run_one_word(s);
        }
        let words = self.words;
        let mut state = vec![0u64; words];
        let mut next = vec![0u64; words];
        if let Some(w) = state.first_mut() {
            *w = 1;
        }
        self.close(&mut state);
        let mut steps = 0u64;
        for &c in s {
            let at = usize::from(self.class_of[usize::from(c)]) * words;
            let Some(mask) = self.masks.get(at..at + words) else {
                return (false, steps);
            };
            let mut carry = 0u64;
            let mut any = 0u64;
            for (((n, &d), &m), &st) in next.iter_mut().zip(&state).zip(mask).zip(&self.stars) {
                let moved = d & m;
                *n = (moved << 1) | carry | (d & st);
                carry = moved >> 63;
                any |= *n;
            }
            steps += words as u64;
            if any == 0 {
                return (false, steps);
            }
            std::mem::swap(&mut state, &mut next);
            self.close(&mut state);
        }
        let accept = state
            .get(self.accept / 64)
            .is_some_and(|w| w & (1 << (self.accept % 64)) != 0);
        (accept, steps.max(1))
    }

    /// [`Automaton::run`] for patterns of up to 63 tokens (almost all): the state is one word.
    fn run_one_word(&self, s: &[u8]) -> (bool, u64) {
        let stars = self.stars.first().copied().unwrap_or(0);
        let mut d = 1u64;
        d |= (d & stars) << 1;
        for (i, &c) in s.iter().enumerate() {
            let class = usize::from(self.class_of[usize::from(c)]);
            let m = self.masks.get(class).copied().unwrap_or(0);
            d = ((d & m) << 1) | (d & stars);
            if d == 0 {
                return (false, i as u64 + 1);
            }
            d |= (d & stars) << 1;
        }
        let accept = self.accept < 64 && d & (1 << self.accept) != 0;
        (accept, (s.len() as u64).max(1))
    }

    /// A set star lets the token after it start at once (stars never follow stars).
    fn close(&self, state: &mut [u64]) {
        let mut carry = 0u64;
        for (d, &st) in state.iter_mut().zip(&self.stars) {
            let on = *d & st;
            *d |= (on << 1) | carry;
            carry = on >> 63;
        }
    }
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

fn tokenize(pattern: &[u8]) -> Vec<Token> {
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
    tokens
}

impl Glob {
    /// Compiles a pattern; every byte string is a valid pattern, as in Redis.
    pub fn new(pattern: &[u8]) -> Glob {
        let tokens = tokenize(pattern);
        let mut prefix = Vec::new();
        for t in &tokens {
            match t {
                Token::Literal(c) => prefix.push(*c),
                _ => break,
            }
        }
        let literal = prefix.len() == tokens.len();
        Glob {
            automaton: Automaton::new(&tokens),
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
        self.matches_counted(s).0
    }

    /// Whether `s` matches, and the work it took in word operations: at most
    /// `s.len() × ceil((tokens + 1) / 64)`, whatever the pattern's shape, and at least 1.
    pub fn matches_counted(&self, s: &[u8]) -> (bool, u64) {
        if self.literal {
            return (s == self.prefix.as_slice(), 1);
        }
        if !s.starts_with(&self.prefix) {
            return (false, 1);
        }
        self.automaton.run(s)
    }

    /// Upper bound of [`Glob::matches_counted`]'s work per subject byte, for estimates.
    pub fn work_per_byte(&self) -> u64 {
        self.automaton.words as u64
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
    fn pathological_patterns_cost_one_step_per_byte_and_word() {
        // Stars before a literal tail: a backtracking matcher retries the tail at every start.
        let subject = vec![b'a'; 10_000];
        let g = Glob::new(b"*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b");
        let (hit, steps) = g.matches_counted(&subject);
        assert!(!hit);
        assert_eq!(
            steps, 10_000,
            "one word op per byte for a pattern under 64 tokens"
        );

        // A literal tail of 900 bytes after a star, on a 1 kB key of the tail's first byte:
        // backtracking costs ~ 1 kB × 900; the automaton 1 kB × 15 words.
        let mut pattern = b"*".to_vec();
        pattern.extend(std::iter::repeat_n(b'a', 899));
        pattern.push(b'b');
        let g = Glob::new(&pattern);
        let key = vec![b'a'; 1024];
        let (hit, steps) = g.matches_counted(&key);
        assert!(!hit);
        let words = g.work_per_byte();
        assert_eq!(words, 902u64.div_ceil(64));
        assert!(steps <= 1024 * words, "{steps} steps for 1024 bytes");
        assert!(steps < 1024 * 900 / 50, "far below the backtracking cost");

        // Doubling the subject doubles the work: linear, not quadratic.
        let g = Glob::new(b"*ab*ab*ab*ab*abc");
        let short = g.matches_counted(&b"ab".repeat(1_000)).1;
        let long = g.matches_counted(&b"ab".repeat(2_000)).1;
        assert_eq!(long, 2 * short);
    }

    #[test]
    fn automaton_agrees_with_a_reference_matcher() {
        // A plain recursive matcher (exponential, fine for tiny inputs) as the oracle.
        fn reference(p: &[Token], s: &[u8]) -> bool {
            match p.split_first() {
                None => s.is_empty(),
                Some((Token::Star, rest)) => (0..=s.len()).any(|i| reference(rest, &s[i..])),
                Some((t, rest)) => s
                    .split_first()
                    .is_some_and(|(&c, tail)| token_matches(t, c) && reference(rest, tail)),
            }
        }
        let alphabet = [b'a', b'b', b'*', b'?', b'[', b']', b'^', b'-', b'\\'];
        let subjects: Vec<Vec<u8>> = (0..200u32)
            .map(|n| {
                (0..n % 7)
                    .map(|i| [b'a', b'b', b'-'][((n >> i) % 3) as usize])
                    .collect()
            })
            .collect();
        let mut seed = 0x2545_f491_u64;
        for _ in 0..2_000 {
            let len = (seed % 7) as usize;
            let pattern: Vec<u8> = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    alphabet[(seed % alphabet.len() as u64) as usize]
                })
                .collect();
            let g = Glob::new(&pattern);
            let toks = tokenize(&pattern);
            for s in &subjects {
                assert_eq!(
                    g.matches(s),
                    reference(&toks, s),
                    "pattern {:?} subject {:?}",
                    String::from_utf8_lossy(&pattern),
                    String::from_utf8_lossy(s)
                );
            }
        }
    }

    #[test]
    fn long_patterns_cross_word_boundaries() {
        let mut pattern = Vec::new();
        for _ in 0..40 {
            pattern.extend_from_slice(b"?*x");
        }
        let g = Glob::new(&pattern);
        let subject = b"ax".repeat(40);
        assert!(g.matches(&subject));
        assert!(!g.matches(&subject[..subject.len() - 1]));
        assert!(g.work_per_byte() >= 2);
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
