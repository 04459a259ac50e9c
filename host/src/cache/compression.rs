//! Value compression for definitions that ask for it (LZ4: cheap enough to
//! sit on every write and read of a cache).
//!
//! Decompression is bounded: the size a compressed value claims is checked
//! against a limit before anything is allocated.

/// A compressed value that cannot be restored.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CompressionError {
    /// The stored bytes are not valid LZ4 or claim an implausible size.
    #[error("corrupt compressed value: {0}")]
    Corrupt(String),
}

/// Compresses `data`; `None` when compression would not make it smaller.
pub fn compress(data: &[u8]) -> Option<Vec<u8>> {
    let packed = lz4_flex::compress_prepend_size(data);
    (packed.len() < data.len()).then_some(packed)
}

/// Restores a value written by [`compress`], refusing anything that claims
/// to be larger than `max_len` once restored.
pub fn decompress(data: &[u8], max_len: usize) -> Result<Vec<u8>, CompressionError> {
    let Some(prefix) = data.get(..4) else {
        return Err(CompressionError::Corrupt("shorter than its header".into()));
    };
    let claimed = u32::from_le_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]) as usize;
    if claimed > max_len {
        return Err(CompressionError::Corrupt(format!(
            "claims {claimed} bytes, over the {max_len}-byte limit"
        )));
    }
    lz4_flex::decompress_size_prepended(data).map_err(|e| CompressionError::Corrupt(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compressible_values_shrink_and_come_back() {
        let data = vec![b'a'; 10_000];
        let packed = compress(&data).unwrap();
        assert!(packed.len() < 200);
        assert_eq!(decompress(&packed, 10_000).unwrap(), data);
    }

    #[test]
    fn incompressible_values_are_left_alone() {
        assert_eq!(compress(b"ab"), None);
    }

    #[test]
    fn claims_over_the_limit_are_refused_before_allocating() {
        let packed = compress(&vec![0u8; 4096]).unwrap();
        assert!(decompress(&packed, 100).is_err());
        assert!(decompress(&[1, 2], 100).is_err());
        assert!(decompress(&[0xff, 0xff, 0xff, 0x7f, 0, 0], usize::MAX).is_err());
    }
}
