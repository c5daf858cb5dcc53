//! The default file store: a directory, files named by their SM3 hash in 256 subdirectories,
//! written to a temporary name and renamed so a reader never sees half a file.

use std::path::PathBuf;

use super::FileStore;
use crate::failure::StorageError;

/// Files under a root directory (`{data_dir}/uploads` by default).
#[derive(Debug, Clone)]
pub struct FsFileStore {
    root: PathBuf,
}

fn io_error(error: std::io::Error) -> StorageError {
    StorageError::Unavailable {
        source: Box::new(error),
    }
}

impl FsFileStore {
    /// A store under `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The path of `key`; keys are hex digests, anything else is refused.
    fn path(&self, key: &str) -> Result<PathBuf, StorageError> {
        if key.len() < 3 || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(StorageError::Corrupt {
                what: "file key",
                detail: "not a hex digest".into(),
            });
        }
        Ok(self.root.join(&key[..2]).join(key))
    }
}

#[async_trait::async_trait]
impl FileStore for FsFileStore {
    async fn put(&self, key: &str, bytes: &[u8]) -> Result<(), StorageError> {
        let path = self.path(key)?;
        if tokio::fs::try_exists(&path).await.map_err(io_error)? {
            return Ok(());
        }
        if let Some(dir) = path.parent() {
            tokio::fs::create_dir_all(dir).await.map_err(io_error)?;
        }
        let mut suffix = [0u8; 8];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut suffix);
        let temporary = path.with_extension(format!("tmp-{}", hex::encode(suffix)));
        tokio::fs::write(&temporary, bytes)
            .await
            .map_err(io_error)?;
        tokio::fs::rename(&temporary, &path).await.map_err(io_error)
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        match tokio::fs::read(self.path(key)?).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[tokio::test]
    async fn files_round_trip_and_keys_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsFileStore::new(dir.path());
        store.put("abcdef", b"hello").await.unwrap();
        store.put("abcdef", b"hello").await.unwrap();
        assert_eq!(store.get("abcdef").await.unwrap().unwrap(), b"hello");
        assert!(store.get("abcdee").await.unwrap().is_none());
        assert!(store.put("../etc/passwd", b"x").await.is_err());
        assert!(dir.path().join("ab").join("abcdef").exists());
    }
}
