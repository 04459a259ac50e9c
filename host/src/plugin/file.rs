//! Opening a plugin file: once, checked on what was opened, and loaded from those bytes.
//!
//! A tenant controls the files of its own plugin directory, so a name there must never lead
//! the server to read anything else: not through a symlink to another tenant's plugin, nor by
//! swapping a file for a symlink between a check and the read. So the final path component is
//! opened with `O_NOFOLLOW` (a symlink is followed only by one explicit hop, when its target
//! resolves to a file directly inside the same directory, and that target is again opened with
//! `O_NOFOLLOW`), and every check is made on the open descriptor: `fstat` says a regular file
//! of bounded size with no other hard links, and (on Linux) `/proc/self/fd` says where the
//! opened file actually lives. The bytes compiled are the bytes read from that descriptor.
//! `O_NONBLOCK` keeps a FIFO planted in the directory from hanging the loader.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::LoadError;

/// Largest plugin file read (Python components run to a few tens of MiB).
pub const MAX_PLUGIN_BYTES: u64 = 256 << 20;

/// A plugin file's bytes and the label it is known by.
#[derive(Debug)]
pub struct PluginFile {
    /// `dir/name` for a confined file, the path as given otherwise.
    pub label: String,
    /// What was read from the checked descriptor.
    pub bytes: Vec<u8>,
}

/// Reads the plugin at `path`. With `dir` (canonical), the file must be directly inside it and
/// nothing outside it is read; without, any regular file is read (an administrator's path).
pub fn read_plugin(path: &Path, dir: Option<&Path>) -> Result<PluginFile, LoadError> {
    match dir {
        Some(dir) => read_confined(path, dir),
        None => {
            let label = path.display().to_string();
            let file = open(path, false).map_err(|source| LoadError::Read {
                path: label.clone(),
                source,
            })?;
            let bytes = read_checked(file, &label, None)?;
            Ok(PluginFile { label, bytes })
        }
    }
}

/// Whether `path` names an entry directly inside the canonical `dir`, without following a
/// symlink in its last component.
pub fn is_directly_inside(path: &Path, dir: &Path) -> bool {
    entry_in(path, dir).is_some()
}

fn entry_in(path: &Path, dir: &Path) -> Option<PathBuf> {
    let name = path.file_name()?;
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.canonicalize().ok()?,
        _ => std::env::current_dir().ok()?.canonicalize().ok()?,
    };
    (parent == dir).then(|| dir.join(name))
}

fn read_confined(path: &Path, dir: &Path) -> Result<PluginFile, LoadError> {
    let unsafe_file = |label: &str, reason: String| LoadError::Unsafe {
        path: label.to_owned(),
        reason,
    };
    let Some(entry) = entry_in(path, dir) else {
        let label = path.display().to_string();
        return Err(unsafe_file(
            &label,
            format!(
                "is not directly inside the plugin directory {}",
                dir.display()
            ),
        ));
    };
    let label = entry.display().to_string();
    let file = match open(&entry, true) {
        Ok(file) => file,
        Err(error) if error.raw_os_error() == Some(libc::ELOOP) => {
            // A symlink: one explicit hop, only to a file directly inside the same directory.
            let target = std::fs::read_link(&entry)
                .and_then(|t| dir.join(t).canonicalize())
                .map_err(|source| LoadError::Read {
                    path: label.clone(),
                    source,
                })?;
            if target.parent() != Some(dir) {
                return Err(unsafe_file(
                    &label,
                    format!(
                        "is a symlink to {}, outside the plugin directory; not followed",
                        target.display()
                    ),
                ));
            }
            open(&target, true).map_err(|source| {
                if source.raw_os_error() == Some(libc::ELOOP) {
                    unsafe_file(&label, "is a chain of symlinks; not followed".into())
                } else {
                    LoadError::Read {
                        path: label.clone(),
                        source,
                    }
                }
            })?
        }
        Err(source) => {
            return Err(LoadError::Read {
                path: label,
                source,
            });
        }
    };
    let bytes = read_checked(file, &label, Some(dir))?;
    Ok(PluginFile { label, bytes })
}

fn open(path: &Path, no_follow: bool) -> std::io::Result<File> {
    let mut flags = libc::O_NONBLOCK | libc::O_CLOEXEC;
    if no_follow {
        flags |= libc::O_NOFOLLOW;
    }
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(path)
}

/// The checks on the open descriptor, then the read (bounded even if the file grows).
fn read_checked(mut file: File, label: &str, dir: Option<&Path>) -> Result<Vec<u8>, LoadError> {
    let unsafe_file = |reason: String| LoadError::Unsafe {
        path: label.to_owned(),
        reason,
    };
    let read_error = |source| LoadError::Read {
        path: label.to_owned(),
        source,
    };
    let meta = file.metadata().map_err(read_error)?;
    if !meta.file_type().is_file() {
        return Err(unsafe_file("is not a regular file".into()));
    }
    if meta.len() > MAX_PLUGIN_BYTES {
        return Err(unsafe_file(format!(
            "is {} bytes, over the {MAX_PLUGIN_BYTES}-byte limit for plugins",
            meta.len()
        )));
    }
    if let Some(dir) = dir {
        if meta.nlink() > 1 {
            return Err(unsafe_file(
                "has other hard links, which may be outside the plugin directory".into(),
            ));
        }
        if let Some(opened) = opened_path(&file)
            && opened.parent() != Some(dir)
        {
            return Err(unsafe_file(format!(
                "opened {}, outside the plugin directory",
                opened.display()
            )));
        }
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    (&mut file)
        .take(MAX_PLUGIN_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() as u64 > MAX_PLUGIN_BYTES {
        return Err(unsafe_file(format!(
            "grew past the {MAX_PLUGIN_BYTES}-byte limit for plugins while being read"
        )));
    }
    Ok(bytes)
}

/// Where the descriptor's file lives, as the kernel sees it (Linux); `None` elsewhere.
fn opened_path(file: &File) -> Option<PathBuf> {
    use std::os::fd::AsRawFd;
    std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd())).ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn dirs() -> (crate::test_dir::TestDir, PathBuf, PathBuf) {
        let root = crate::test_dir::TestDir::new();
        let a = root.path().join("a");
        let b = root.path().join("b");
        std::fs::create_dir(&a).unwrap();
        std::fs::create_dir(&b).unwrap();
        (root, a.canonicalize().unwrap(), b.canonicalize().unwrap())
    }

    #[test]
    fn reads_a_regular_file_inside() {
        let (_root, a, _) = dirs();
        std::fs::write(a.join("p.wasm"), b"bytes").unwrap();
        let got = read_plugin(&a.join("p.wasm"), Some(&a)).unwrap();
        assert_eq!(got.bytes, b"bytes");
        assert_eq!(got.label, a.join("p.wasm").display().to_string());
    }

    #[test]
    fn refuses_symlinks_and_paths_leading_outside() {
        let (_root, a, b) = dirs();
        std::fs::write(b.join("other.wasm"), b"secret").unwrap();
        std::os::unix::fs::symlink(b.join("other.wasm"), a.join("link.wasm")).unwrap();
        let err = read_plugin(&a.join("link.wasm"), Some(&a)).unwrap_err();
        assert!(
            err.to_string().contains("outside the plugin directory"),
            "{err}"
        );
        let err = read_plugin(&a.join("../b/other.wasm"), Some(&a)).unwrap_err();
        assert!(err.to_string().contains("not directly inside"), "{err}");
        std::fs::hard_link(b.join("other.wasm"), a.join("hard.wasm")).unwrap();
        let err = read_plugin(&a.join("hard.wasm"), Some(&a)).unwrap_err();
        assert!(err.to_string().contains("hard links"), "{err}");
        std::fs::create_dir(a.join("dir.wasm")).unwrap();
        let err = read_plugin(&a.join("dir.wasm"), Some(&a)).unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
    }

    #[test]
    fn follows_one_symlink_that_stays_inside() {
        let (_root, a, _) = dirs();
        std::fs::write(a.join("real.wasm"), b"mine").unwrap();
        std::os::unix::fs::symlink("real.wasm", a.join("alias.wasm")).unwrap();
        let got = read_plugin(&a.join("alias.wasm"), Some(&a)).unwrap();
        assert_eq!(got.bytes, b"mine");
        assert_eq!(got.label, a.join("alias.wasm").display().to_string());
    }
}
