//! Typed values: what an entry's value bytes hold, and the byte encoding of a hash.
//!
//! This file only encodes and decodes; it must not lock, hash keys or read the clock. A hash is
//! stored as one ordinary value (so memory accounting, quotas, eviction and expiry treat it
//! exactly like a string of the same size) whose bytes are its fields in insertion order, each
//! as `[field_len: u32 LE][field][value_len: u32 LE][value]`. Insertion order is what Redis
//! shows for small hashes, so replies match it field for field.

/// What an entry's value bytes hold, as Redis `TYPE` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Raw bytes (`GET`/`SET`, counters).
    String,
    /// Field/value pairs (`HSET`/`HGET`), encoded by [`HashFields`].
    Hash,
}

impl Kind {
    /// The name `TYPE` answers and `SCAN … TYPE` matches.
    pub fn name(self) -> &'static str {
        match self {
            Kind::String => "string",
            Kind::Hash => "hash",
        }
    }
}

/// The fields of a hash, decoded, in insertion order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HashFields {
    fields: Vec<(Vec<u8>, Vec<u8>)>,
}

fn read_chunk<'a>(bytes: &'a [u8], at: &mut usize) -> Option<&'a [u8]> {
    let len_bytes = bytes.get(*at..at.checked_add(4)?)?;
    let len = u32::from_le_bytes(<[u8; 4]>::try_from(len_bytes).ok()?) as usize;
    let start = *at + 4;
    let chunk = bytes.get(start..start.checked_add(len)?)?;
    *at = start + len;
    Some(chunk)
}

impl HashFields {
    /// Decodes stored bytes; `None` when they are not a well-formed hash (never written by
    /// [`HashFields::encode`]), which callers treat as a corrupt entry rather than panicking.
    pub fn decode(bytes: &[u8]) -> Option<HashFields> {
        let mut fields = Vec::new();
        let mut at = 0;
        while at < bytes.len() {
            let field = read_chunk(bytes, &mut at)?;
            let value = read_chunk(bytes, &mut at)?;
            fields.push((field.to_vec(), value.to_vec()));
        }
        Some(HashFields { fields })
    }

    /// The stored form. Fields or values longer than `u32::MAX` bytes are refused upstream by
    /// the value size limit, so lengths always fit.
    pub fn encode(&self) -> Vec<u8> {
        let size = self.fields.iter().map(|(f, v)| 8 + f.len() + v.len()).sum();
        let mut out = Vec::with_capacity(size);
        for (field, value) in &self.fields {
            out.extend_from_slice(&(field.len() as u32).to_le_bytes());
            out.extend_from_slice(field);
            out.extend_from_slice(&(value.len() as u32).to_le_bytes());
            out.extend_from_slice(value);
        }
        out
    }

    /// The value of `field`, if set.
    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        self.fields
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, v)| v.as_slice())
    }

    /// Sets `field`, keeping its position when it exists; true when it was new.
    pub fn set(&mut self, field: &[u8], value: &[u8]) -> bool {
        match self.fields.iter_mut().find(|(f, _)| f == field) {
            Some((_, v)) => {
                *v = value.to_vec();
                false
            }
            None => {
                self.fields.push((field.to_vec(), value.to_vec()));
                true
            }
        }
    }

    /// Removes `field`; true when it existed.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match self.fields.iter().position(|(f, _)| f == field) {
            Some(i) => {
                self.fields.remove(i);
                true
            }
            None => false,
        }
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// True when no field is left (Redis deletes such a hash).
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Field/value pairs in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.fields
            .iter()
            .map(|(f, v)| (f.as_slice(), v.as_slice()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_in_insertion_order() {
        let mut h = HashFields::default();
        assert!(h.set(b"b", b"2"));
        assert!(h.set(b"a", b""));
        assert!(!h.set(b"b", b"3"));
        let back = HashFields::decode(&h.encode()).unwrap();
        let pairs: Vec<_> = back.iter().collect();
        assert_eq!(pairs, [(&b"b"[..], &b"3"[..]), (&b"a"[..], &b""[..])]);
        assert_eq!(back.get(b"a"), Some(&b""[..]));
        assert_eq!(back.get(b"c"), None);
    }

    #[test]
    fn remove_and_empty() {
        let mut h = HashFields::default();
        h.set(b"x", b"1");
        assert!(!h.remove(b"y"));
        assert!(h.remove(b"x"));
        assert!(h.is_empty());
        assert_eq!(h.encode(), Vec::<u8>::new());
        assert_eq!(HashFields::decode(&[]), Some(HashFields::default()));
    }

    #[test]
    fn malformed_bytes_are_refused() {
        assert_eq!(HashFields::decode(&[5, 0, 0, 0, b'a']), None);
        assert_eq!(HashFields::decode(&[1, 0, 0]), None);
        assert_eq!(HashFields::decode(&[1, 0, 0, 0, b'a']), None);
    }
}
