//! `INCRBYFLOAT`'s arithmetic exactly as Redis does it on x86-64: both numbers read with
//! `strtold` into an x87 80-bit `long double` (64-bit significand), added in that precision,
//! and printed with `%.17Lf` minus trailing zeros. Rust has no 80-bit float and `f64` gives
//! different digits (`0.1` added three times is `0.30000000000000004` in `f64`, `0.3` in
//! Redis; `1000.1 + 5.6` shows Redis's long-double noise `1005.69999999999999996`), so the
//! three steps are done here with a small big-integer, correctly rounded (to nearest, ties to
//! even, as the x87 unit and glibc do).
//!
//! Not emulated: subnormal results (below about 3.4e-4932), which are refused as invalid.

use std::cmp::Ordering;

/// Redis's buffer for a long double's text (`MAX_LONG_DOUBLE_CHARS`): longer input is refused.
const MAX_CHARS: usize = 5 * 1024;
/// The smallest and largest binary exponent of a normal value `mant × 2^exp` with the
/// significand's top bit set (x87: unbiased exponents -16382 ..= 16383, minus 63).
const MIN_EXP: i64 = -16382 - 63;
const MAX_EXP: i64 = 16383 - 63;

/// A finite long double: `(-1)^neg × mant × 2^exp`, `mant` normalized (top bit set) or zero
/// (the default).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct LongDouble {
    neg: bool,
    mant: u64,
    exp: i64,
}

/// What `strtold` makes of a text Redis accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Parsed {
    /// A finite value.
    Finite(LongDouble),
    /// `inf` / `infinity`, either sign.
    Infinite,
}

/// Parses `text` as Redis's `string2ld` does; `None` is "value is not a valid float":
/// empty or too long, leading space, trailing characters, NaN, or out of range.
pub(crate) fn parse(text: &[u8]) -> Option<Parsed> {
    if text.is_empty() || text.len() >= MAX_CHARS {
        return None;
    }
    let (neg, body) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, text),
    };
    let lower = body.to_ascii_lowercase();
    if lower == b"inf" || lower == b"infinity" {
        return Some(Parsed::Infinite);
    }
    let (digits, base_bits, exp_marker) = match lower.strip_prefix(b"0x") {
        Some(hex) => (hex, 4u32, b'p'),
        None => (&lower[..], 0, b'e'),
    };
    let radix: u64 = if base_bits == 4 { 16 } else { 10 };
    let mut mant = Big::zero();
    let (mut seen_digit, mut seen_point, mut frac_digits) = (false, false, 0i64);
    let mut rest = digits;
    while let Some((&c, tail)) = rest.split_first() {
        if c == b'.' && !seen_point {
            seen_point = true;
        } else if let Some(d) = (c as char).to_digit(radix as u32) {
            seen_digit = true;
            mant.mul_add(radix, u64::from(d));
            if seen_point {
                frac_digits += 1;
            }
        } else {
            break;
        }
        rest = tail;
    }
    if !seen_digit {
        return None;
    }
    let mut exp10 = 0i64;
    if let Some((&c, tail)) = rest.split_first()
        && c == exp_marker
    {
        let (exp_neg, tail) = match tail.split_first() {
            Some((b'-', t)) => (true, t),
            Some((b'+', t)) => (false, t),
            _ => (false, tail),
        };
        if tail.is_empty() || !tail.iter().all(u8::is_ascii_digit) {
            return None;
        }
        // Saturate: anything this large is out of range either way.
        let magnitude = tail.iter().fold(0i64, |acc, d| {
            acc.saturating_mul(10).saturating_add(i64::from(d - b'0'))
        });
        exp10 = if exp_neg { -magnitude } else { magnitude };
        rest = &[];
    }
    if !rest.is_empty() {
        return None;
    }
    if mant.is_zero() {
        return Some(Parsed::Finite(LongDouble {
            neg,
            mant: 0,
            exp: 0,
        }));
    }
    let value = if base_bits == 4 {
        // Hex: exact in binary; the `p` exponent is a power of two.
        let exp2 = exp10.saturating_sub(frac_digits.saturating_mul(4));
        if !(MIN_EXP - 20_000..=MAX_EXP + 20_000).contains(&exp2) {
            return None;
        }
        round(&mant, exp2, false)
    } else {
        let exp10 = exp10.saturating_sub(frac_digits);
        // About how many decimal digits before the point: beyond the range, refuse early
        // (and never build a huge power of ten).
        let magnitude = mant.decimal_digits_estimate().saturating_add(exp10);
        if !(-4960..=4940).contains(&magnitude) {
            return None;
        }
        decimal_to_binary(mant, exp10)
    };
    let (mant, exp) = value;
    if !(MIN_EXP..=MAX_EXP).contains(&exp) {
        return None;
    }
    Some(Parsed::Finite(LongDouble { neg, mant, exp }))
}

/// `mant × 10^exp10`, correctly rounded to a 64-bit significand.
fn decimal_to_binary(mut mant: Big, exp10: i64) -> (u64, i64) {
    if exp10 >= 0 {
        mant.mul_pow10(exp10.unsigned_abs());
        return round(&mant, 0, false);
    }
    let mut divisor = Big::small(1);
    divisor.mul_pow10(exp10.unsigned_abs());
    // Scale the dividend so the quotient has 66 or 67 bits: two beyond the significand for
    // rounding, the remainder (and any bits shifted out) as the sticky bit.
    let target = divisor.bits() + 66;
    let (exp2, dropped) = if mant.bits() <= target {
        let shift = target - mant.bits();
        mant.shl(shift);
        (-(shift as i64), false)
    } else {
        let drop = mant.bits() - target;
        let dropped = mant.any_below(drop);
        mant.shr(drop);
        (drop as i64, dropped)
    };
    let (quotient, remainder_nonzero) = mant.div_small_quotient(&divisor);
    round(&Big::wide(quotient), exp2, remainder_nonzero || dropped)
}

/// `n × 2^exp2` (plus, when `sticky`, something positive below `n`'s last bit), rounded to
/// nearest with ties to even: a 64-bit significand with its top bit set, and its exponent.
fn round(n: &Big, exp2: i64, sticky: bool) -> (u64, i64) {
    let bits = n.bits();
    if bits == 0 {
        return (0, 0);
    }
    if bits <= 64 {
        let shift = 64 - bits;
        return (n.low_u64() << shift, exp2 - shift as i64);
    }
    let shift = bits - 64;
    let mut top = n.bits_from(shift);
    let half = n.bit(shift - 1);
    let below_half = n.any_below(shift - 1) || sticky;
    if half && (below_half || top & 1 == 1) {
        top = top.wrapping_add(1);
        if top == 0 {
            return (1 << 63, exp2 + shift as i64 + 1);
        }
    }
    (top, exp2 + shift as i64)
}

/// `a + b` in long-double precision; `None` when it overflows (Redis: "increment would
/// produce NaN or Infinity").
pub(crate) fn add(a: LongDouble, b: LongDouble) -> Option<LongDouble> {
    if a.mant == 0 {
        return Some(b);
    }
    if b.mant == 0 {
        return Some(a);
    }
    let (hi, lo) = if a.exp >= b.exp { (a, b) } else { (b, a) };
    let gap = hi.exp - lo.exp;
    if gap > 130 {
        // `lo` is far below half a unit of `hi`'s last place: the sum rounds to `hi`.
        return Some(hi);
    }
    let mut big_hi = Big::small(hi.mant);
    big_hi.shl(gap as u64);
    let big_lo = Big::small(lo.mant);
    let (neg, sum) = if hi.neg == lo.neg {
        big_hi.plus(&big_lo);
        (hi.neg, big_hi)
    } else {
        match big_hi.compare(&big_lo) {
            Ordering::Equal => return Some(LongDouble::default()),
            Ordering::Greater => {
                big_hi.minus(&big_lo);
                (hi.neg, big_hi)
            }
            Ordering::Less => {
                let mut diff = big_lo;
                diff.minus(&big_hi);
                (lo.neg, diff)
            }
        }
    };
    let (mant, exp) = round(&sum, lo.exp, false);
    if exp > MAX_EXP {
        return None;
    }
    if exp < MIN_EXP {
        // Subnormal: not emulated; zero is the nearest normal answer.
        return Some(LongDouble::default());
    }
    Some(LongDouble { neg, mant, exp })
}

/// Redis's `ld2string(…, LD_STR_HUMAN)`: `%.17Lf`, trailing zeros (and a trailing point)
/// removed, `-0` written `0`.
pub(crate) fn format(value: LongDouble) -> String {
    let mut text = String::new();
    if value.neg {
        text.push('-');
    }
    if value.exp >= 0 {
        let mut n = Big::small(value.mant);
        n.shl(value.exp as u64);
        text.push_str(&n.to_decimal());
    } else {
        let k = value.exp.unsigned_abs();
        let (mut int, frac) = if k >= 64 {
            (0u128, Big::small(value.mant))
        } else {
            (
                u128::from(value.mant >> k),
                Big::small(value.mant & ((1u64 << k) - 1)),
            )
        };
        // The fraction's first 17 decimals: frac × 10^17 / 2^k, rounded to nearest-even.
        let mut scaled = frac;
        scaled.mul_add(100_000_000_000_000_000, 0);
        let mut digits = scaled.bits_from_u128(k);
        let half = k > 0 && scaled.bit(k - 1);
        let below = k > 1 && scaled.any_below(k - 1);
        if half && (below || digits & 1 == 1) {
            digits += 1;
        }
        if digits == 100_000_000_000_000_000 {
            digits = 0;
            int += 1;
        }
        text.push_str(&int.to_string());
        let fraction = format!("{digits:017}");
        let fraction = fraction.trim_end_matches('0');
        if !fraction.is_empty() {
            text.push('.');
            text.push_str(fraction);
        }
    }
    if text == "-0" {
        text.remove(0);
    }
    text
}

/// A small unsigned big integer (little-endian 64-bit limbs), only what the three steps need.
#[derive(Clone, Debug)]
struct Big(Vec<u64>);

impl Big {
    fn zero() -> Big {
        Big(Vec::new())
    }

    fn small(n: u64) -> Big {
        let mut b = Big(vec![n]);
        b.trim();
        b
    }

    fn wide(n: u128) -> Big {
        let mut b = Big(vec![n as u64, (n >> 64) as u64]);
        b.trim();
        b
    }

    fn trim(&mut self) {
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
    }

    fn is_zero(&self) -> bool {
        self.0.is_empty()
    }

    fn bits(&self) -> u64 {
        match self.0.last() {
            None => 0,
            Some(top) => (self.0.len() as u64 - 1) * 64 + u64::from(64 - top.leading_zeros()),
        }
    }

    /// Decimal digits, give or take one.
    fn decimal_digits_estimate(&self) -> i64 {
        (self.bits() as f64 * std::f64::consts::LOG10_2) as i64 + 1
    }

    fn low_u64(&self) -> u64 {
        self.0.first().copied().unwrap_or(0)
    }

    fn bit(&self, i: u64) -> bool {
        let limb = (i / 64) as usize;
        self.0.get(limb).is_some_and(|l| (l >> (i % 64)) & 1 == 1)
    }

    /// Whether any bit below `i` is set.
    fn any_below(&self, i: u64) -> bool {
        let limb = (i / 64) as usize;
        let whole = self.0.iter().take(limb).any(|&l| l != 0);
        let part = i % 64;
        whole
            || (part > 0
                && self
                    .0
                    .get(limb)
                    .is_some_and(|l| l & ((1u64 << part) - 1) != 0))
    }

    /// The 64 bits from bit `from` up.
    fn bits_from(&self, from: u64) -> u64 {
        self.bits_from_u128(from) as u64
    }

    /// The 128 bits from bit `from` up.
    fn bits_from_u128(&self, from: u64) -> u128 {
        let mut out = 0u128;
        for i in 0..128u64 {
            if self.bit(from + i) {
                out |= 1 << i;
            }
        }
        out
    }

    /// `self = self × m + a`.
    fn mul_add(&mut self, m: u64, a: u64) {
        let mut carry = u128::from(a);
        for limb in &mut self.0 {
            let v = u128::from(*limb) * u128::from(m) + carry;
            *limb = v as u64;
            carry = v >> 64;
        }
        if carry > 0 {
            self.0.push(carry as u64);
        }
        self.trim();
    }

    /// `self × 10^n`, nineteen digits at a time.
    fn mul_pow10(&mut self, mut n: u64) {
        while n >= 19 {
            self.mul_add(10_000_000_000_000_000_000, 0);
            n -= 19;
        }
        if n > 0 {
            self.mul_add(10u64.pow(n as u32), 0);
        }
    }

    fn shr(&mut self, n: u64) {
        let limbs = ((n / 64) as usize).min(self.0.len());
        self.0.drain(..limbs);
        let bits = (n % 64) as u32;
        if bits > 0 {
            let mut carry = 0u64;
            for limb in self.0.iter_mut().rev() {
                let next = *limb << (64 - bits);
                *limb = (*limb >> bits) | carry;
                carry = next;
            }
        }
        self.trim();
    }

    fn shl(&mut self, n: u64) {
        if self.is_zero() {
            return;
        }
        let (limbs, bits) = ((n / 64) as usize, (n % 64) as u32);
        if bits > 0 {
            let mut carry = 0u64;
            for limb in &mut self.0 {
                let next = *limb >> (64 - bits);
                *limb = (*limb << bits) | carry;
                carry = next;
            }
            if carry > 0 {
                self.0.push(carry);
            }
        }
        if limbs > 0 {
            self.0.splice(0..0, std::iter::repeat_n(0, limbs));
        }
    }

    fn compare(&self, other: &Big) -> Ordering {
        self.0
            .len()
            .cmp(&other.0.len())
            .then_with(|| self.0.iter().rev().cmp(other.0.iter().rev()))
    }

    fn plus(&mut self, other: &Big) {
        let mut carry = 0u128;
        for i in 0..self.0.len().max(other.0.len()) {
            let v = u128::from(self.0.get(i).copied().unwrap_or(0))
                + u128::from(other.0.get(i).copied().unwrap_or(0))
                + carry;
            if i < self.0.len() {
                self.0[i] = v as u64;
            } else {
                self.0.push(v as u64);
            }
            carry = v >> 64;
        }
        if carry > 0 {
            self.0.push(carry as u64);
        }
    }

    /// `self -= other`; `self >= other`.
    fn minus(&mut self, other: &Big) {
        let mut borrow = false;
        for (i, limb) in self.0.iter_mut().enumerate() {
            let o = other.0.get(i).copied().unwrap_or(0);
            let (v, b1) = limb.overflowing_sub(o);
            let (v, b2) = v.overflowing_sub(u64::from(borrow));
            *limb = v;
            borrow = b1 || b2;
        }
        self.trim();
    }

    /// `self / divisor` when the quotient fits in 128 bits (the caller scaled it so), and
    /// whether a remainder is left.
    fn div_small_quotient(mut self, divisor: &Big) -> (u128, bool) {
        let span = self.bits().saturating_sub(divisor.bits()).min(127);
        let mut quotient = 0u128;
        for i in (0..=span).rev() {
            let mut shifted = divisor.clone();
            shifted.shl(i);
            if self.compare(&shifted) != Ordering::Less {
                self.minus(&shifted);
                quotient |= 1 << i;
            }
        }
        (quotient, !self.is_zero())
    }

    fn to_decimal(&self) -> String {
        const CHUNK: u64 = 10_000_000_000_000_000_000;
        let mut limbs = self.0.clone();
        let mut chunks = Vec::new();
        while limbs.iter().any(|&l| l != 0) {
            let mut rem = 0u128;
            for limb in limbs.iter_mut().rev() {
                let v = (rem << 64) | u128::from(*limb);
                *limb = (v / u128::from(CHUNK)) as u64;
                rem = v % u128::from(CHUNK);
            }
            chunks.push(rem as u64);
            while limbs.last() == Some(&0) {
                limbs.pop();
            }
        }
        let mut text = match chunks.pop() {
            Some(first) => first.to_string(),
            None => return "0".into(),
        };
        for chunk in chunks.iter().rev() {
            text.push_str(&format!("{chunk:019}"));
        }
        text
    }
}

/// One `INCRBYFLOAT` step on two texts: the new text, or Redis's error.
pub(crate) fn incr_by_float(current: &[u8], increment: &[u8]) -> Result<String, &'static str> {
    const NOT_FLOAT: &str = "ERR value is not a valid float";
    let current = parse(current).ok_or(NOT_FLOAT)?;
    let increment = parse(increment).ok_or(NOT_FLOAT)?;
    const NAN_OR_INF: &str = "ERR increment would produce NaN or Infinity";
    match (current, increment) {
        (Parsed::Finite(a), Parsed::Finite(b)) => add(a, b).map(format).ok_or(NAN_OR_INF),
        _ => Err(NAN_OR_INF),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(a: &str, b: &str) -> Result<String, &'static str> {
        incr_by_float(a.as_bytes(), b.as_bytes())
    }

    /// Replies recorded from redis-server 7.0 on x86-64.
    #[test]
    fn matches_redis_server() {
        let mut v = "0".to_owned();
        let mut seen = Vec::new();
        for _ in 0..10 {
            v = step(&v, "0.1").unwrap_or_default();
            seen.push(v.clone());
        }
        assert_eq!(
            seen,
            [
                "0.1", "0.2", "0.3", "0.4", "0.5", "0.6", "0.7", "0.8", "0.9", "1"
            ]
        );
        assert_eq!(step("5.0e3", "2.0e2"), Ok("5200".into()));
        assert_eq!(step("5200", "3.0e3"), Ok("8200".into()));
        assert_eq!(step("10.50", "0.1"), Ok("10.6".into()));
        assert_eq!(step("10.6", "-5"), Ok("5.6".into()));
        assert_eq!(step("5.6", "1000.1"), Ok("1005.69999999999999996".into()));
        assert_eq!(
            step("1005.69999999999999996", "1e20"),
            Ok("100000000000000001008".into())
        );
        assert_eq!(step("0", "1.1e-20"), Ok("0".into()));
        assert_eq!(
            step("0", "3.3333333333333333"),
            Ok("3.3333333333333333".into())
        );
        assert_eq!(
            step("3.3333333333333333", "100.7"),
            Ok("104.0333333333333333".into())
        );
        assert_eq!(
            step("104.0333333333333333", "-0.0001"),
            Ok("104.0332333333333333".into())
        );
        assert_eq!(step("0x10", "1"), Ok("17".into()));
        assert_eq!(step("1", "-1"), Ok("0".into()));
        assert_eq!(step("-0.5", "0.5"), Ok("0".into()));
    }

    #[test]
    fn errors_match_redis_server() {
        let nan_or_inf = Err("ERR increment would produce NaN or Infinity");
        let invalid = Err("ERR value is not a valid float");
        assert_eq!(step("1", "inf"), nan_or_inf);
        assert_eq!(step("-inf", "1"), nan_or_inf);
        assert_eq!(step("1", "nan"), invalid);
        assert_eq!(step("1", "1e5000"), invalid);
        assert_eq!(step("1", "1e-5000"), invalid);
        assert_eq!(step("1", " 1"), invalid);
        assert_eq!(step("1", "1 "), invalid);
        assert_eq!(step("1", ""), invalid);
        assert_eq!(step("1", "1e"), invalid);
        assert_eq!(step("1", "."), invalid);
        assert_eq!(step("abc", "1"), invalid);
        assert_eq!(step("1.18e4932", "1.18e4932"), nan_or_inf);
    }

    /// redis-server's replies to `INCRBYFLOAT` by 1e300 and then 1e400 (from about 1e20).
    const E300: &str = "1000000000000000000008997324079559193870523944273290747938260082321265646596180935755849152083750497190350372508614274835903592556184672983913096260520748646287327135641843653294084255107606016789726652932370030551382947620994540294772781889620606179267611627097410650567187386105690089424915104006144";
    const E400: &str = "10000000000000000000281880683947586514586453433629052038625910693539685534008629862039363994848324160522094053927317616200295822777259255734023828976593340661017797447434546173917862448116674971723778943824391593338047470675026246684401359237513603830343735485505244955964979021825038280091068414947402456898653040951017512658092615827588920183472511643316591362664138176309734806343732497430221946880";

    #[test]
    fn huge_values_print_every_digit() {
        // 2^64 + 2^11 is exact in a long double; 1e300 is not, and prints its binary value.
        assert_eq!(
            step("18446744073709551616", "2048"),
            Ok("18446744073709553664".into())
        );
        assert_eq!(step("0", "1e300"), Ok(E300.into()));
        assert_eq!(step(E300, "1e400"), Ok(E400.into()));
        // Many digits and a small negative exponent (the dividend is scaled down).
        assert_eq!(
            step("0", "11805916207174113034240e-1"),
            Ok("1180591620717411303424".into()),
            "2^70"
        );
    }
}
