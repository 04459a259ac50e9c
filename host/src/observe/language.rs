//! Which language a plugin was written in, for the admin page: read from
//! the `producers` custom sections the toolchains leave in the component
//! (and in the core modules inside it). A best guess, never an error.

/// Depth of nested components and modules looked into.
const MAX_DEPTH: usize = 4;

/// `rust`, `python`, `javascript`, `c`, or `unknown`.
pub fn detect(wasm: &[u8]) -> &'static str {
    let mut producers = Vec::new();
    collect_producers(wasm, 0, &mut producers);
    let has = |needle: &[u8]| producers.iter().any(|p| contains(p, needle));
    if has(b"componentize-py") {
        "python"
    } else if has(b"ComponentizeJS") || has(b"componentize-js") || has(b"StarlingMonkey") {
        "javascript"
    } else if has(b"wit-bindgen-rust") || has(b"rustc") {
        "rust"
    } else if has(b"clang") || has(b"C11") || has(b"C99") || has(b"wit-bindgen-c") {
        "c"
    } else {
        "unknown"
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn leb(bytes: &[u8], at: &mut usize) -> Option<usize> {
    let mut value: u64 = 0;
    for shift in (0..35).step_by(7) {
        let byte = *bytes.get(*at)?;
        *at += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return usize::try_from(value).ok();
        }
    }
    None
}

fn collect_producers<'a>(wasm: &'a [u8], depth: usize, out: &mut Vec<&'a [u8]>) {
    if depth > MAX_DEPTH || wasm.len() < 8 || &wasm[..4] != b"\0asm" {
        return;
    }
    let component = wasm[4..8] != [1, 0, 0, 0];
    let mut at = 8;
    while at < wasm.len() {
        let id = wasm[at];
        at += 1;
        let Some(size) = leb(wasm, &mut at) else {
            return;
        };
        let Some(payload) = wasm.get(at..at.saturating_add(size)) else {
            return;
        };
        at += size;
        match id {
            0 => {
                let mut p = 0;
                let Some(len) = leb(payload, &mut p) else {
                    continue;
                };
                if payload.get(p..p + len) == Some(b"producers".as_slice()) {
                    out.push(&payload[p + len..]);
                }
            }
            // A core module (1) or a nested component (4) inside a component.
            1 | 4 if component => collect_producers(payload, depth + 1, out),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn module_with_producers(text: &[u8]) -> Vec<u8> {
        let mut custom = vec![9];
        custom.extend_from_slice(b"producers");
        custom.extend_from_slice(text);
        let mut wasm = b"\0asm\x01\0\0\0".to_vec();
        wasm.push(0);
        wasm.push(custom.len() as u8);
        wasm.extend_from_slice(&custom);
        wasm
    }

    #[test]
    fn reads_the_producers_section_of_nested_modules() {
        // What a release Rust plugin keeps: rustc's own entry is stripped,
        // and the component tooling lists both binding generators.
        let module = module_with_producers(
            b"\x01\x0cprocessed-by\x02\x10wit-bindgen-rust\x060.45.0\x0dwit-bindgen-c\x060.51.0",
        );
        let mut component = b"\0asm\x0d\0\x01\0".to_vec();
        component.push(1);
        component.push(module.len() as u8);
        component.extend_from_slice(&module);
        assert_eq!(detect(&component), "rust");
        assert_eq!(detect(&module_with_producers(b"componentize-py")), "python");
        assert_eq!(detect(b"not wasm"), "unknown");
    }
}
