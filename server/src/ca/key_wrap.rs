//! Private keys at rest: encrypted with SM4-GCM under a 128-bit master key. The `KeyWrap` trait
//! is the seam where an HSM or a KMS can take over later.

use std::path::Path;

use aes_gcm::{
    AesGcm, KeyInit, Nonce,
    aead::{Aead, Payload, consts::U12},
};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sm4::Sm4;
use zeroize::{Zeroize, Zeroizing};

use super::CaError;

type Sm4Gcm = AesGcm<Sm4, U12>;

/// Format tag of a sealed blob: version 1 = SM4-GCM, 96-bit nonce, 128-bit tag.
const SEALED_V1: u8 = 1;
const NONCE_LEN: usize = 12;

/// Encrypts and decrypts secrets for storage (key wrapping). `label` is bound in as AEAD
/// associated data, so a wrapped key moved to another row does not decrypt.
pub trait KeyWrap: Send + Sync + std::fmt::Debug {
    /// Encrypts `plaintext` for storage.
    fn encrypt(&self, label: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CaError>;
    /// Decrypts what `encrypt` produced; a wrong key or a tampered blob is `MasterKeyWrong`.
    fn decrypt(&self, label: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, CaError>;
}

/// The software master key. Not `Clone`; prints as `[redacted]`; zeroized on drop.
pub struct MasterKey {
    key: [u8; 16],
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey([redacted])")
    }
}

impl Drop for MasterKey {
    fn drop(&mut self) {
        self.key.zeroize();
    }
}

impl MasterKey {
    /// Parses 32 hexadecimal digits.
    pub fn from_hex(hex_digits: &SecretString) -> Result<Self, CaError> {
        let text = hex_digits.expose_secret().trim();
        let mut key = [0u8; 16];
        hex::decode_to_slice(text, &mut key).map_err(|_| CaError::MasterKeyFormat)?;
        Ok(Self { key })
    }

    /// A fresh random key.
    pub fn generate() -> Self {
        let mut key = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut key);
        Self { key }
    }

    /// The configured key if there is one; otherwise the key file, created when
    /// `may_create` (no sealed keys exist yet) and the file is absent.
    pub fn resolve(
        configured: Option<&SecretString>,
        key_file: &Path,
        may_create: bool,
    ) -> Result<Self, CaError> {
        if let Some(hex_digits) = configured {
            return Self::from_hex(hex_digits);
        }
        let file_error = |source| CaError::MasterKeyFile {
            path: key_file.display().to_string(),
            source,
        };
        match std::fs::read_to_string(key_file) {
            Ok(text) => Self::from_hex(&SecretString::from(text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && may_create => {
                let key = Self::generate();
                write_private_file(key_file, hex::encode(key.key).as_bytes())
                    .map_err(file_error)?;
                tracing::warn!(
                    path = %key_file.display(),
                    "created a master key file; in production set MCERT_MASTER_KEY from a secret store"
                );
                Ok(key)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(CaError::MasterKeyMissing {
                path: key_file.display().to_string(),
            }),
            Err(e) => Err(file_error(e)),
        }
    }
}

fn write_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(contents)
}

impl KeyWrap for MasterKey {
    fn encrypt(&self, label: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CaError> {
        let cipher = Sm4Gcm::new_from_slice(&self.key).map_err(|_| CaError::MasterKeyFormat)?;
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ciphertext = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: label,
                },
            )
            .map_err(|_| CaError::Crypto {
                detail: "SM4-GCM seal",
            })?;
        let mut sealed = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
        sealed.push(SEALED_V1);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        Ok(sealed)
    }

    fn decrypt(&self, label: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, CaError> {
        let Some((&SEALED_V1, rest)) = sealed.split_first() else {
            return Err(CaError::MasterKeyWrong);
        };
        if rest.len() < NONCE_LEN {
            return Err(CaError::MasterKeyWrong);
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let cipher = Sm4Gcm::new_from_slice(&self.key).map_err(|_| CaError::MasterKeyFormat)?;
        cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: label,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| CaError::MasterKeyWrong)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encrypt_round_trip_and_binding() {
        let key = MasterKey::generate();
        let sealed = key.encrypt(b"root", b"secret scalar").unwrap();
        assert_eq!(
            key.decrypt(b"root", &sealed).unwrap().as_slice(),
            b"secret scalar"
        );
        assert!(matches!(
            key.decrypt(b"issuing", &sealed),
            Err(CaError::MasterKeyWrong)
        ));
        let other = MasterKey::generate();
        assert!(matches!(
            other.decrypt(b"root", &sealed),
            Err(CaError::MasterKeyWrong)
        ));
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(matches!(
            key.decrypt(b"root", &tampered),
            Err(CaError::MasterKeyWrong)
        ));
    }

    #[test]
    fn sm4_gcm_is_sm4() {
        // SM4 single-block known answer from GB/T 32907-2016 Appendix A.1: the GCM
        // construction must sit on the real SM4 block cipher.
        use sm4::cipher::{BlockEncrypt, KeyInit as _, generic_array::GenericArray};
        let key = hex::decode("0123456789abcdeffedcba9876543210").unwrap();
        let cipher = Sm4::new_from_slice(&key).unwrap();
        let mut block = GenericArray::clone_from_slice(&key);
        cipher.encrypt_block(&mut block);
        assert_eq!(hex::encode(block), "681edf34d206965e86b3e94f536e4246");
    }

    #[test]
    fn master_key_parsing_and_files() {
        assert!(matches!(
            MasterKey::from_hex(&SecretString::from("abc")),
            Err(CaError::MasterKeyFormat)
        ));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        assert!(matches!(
            MasterKey::resolve(None, &path, false),
            Err(CaError::MasterKeyMissing { .. })
        ));
        let created = MasterKey::resolve(None, &path, true).unwrap();
        let sealed = created.encrypt(b"x", b"y").unwrap();
        let reread = MasterKey::resolve(None, &path, false).unwrap();
        assert_eq!(reread.decrypt(b"x", &sealed).unwrap().as_slice(), b"y");
        assert_eq!(format!("{reread:?}"), "MasterKey([redacted])");
    }
}
