//! Secrets at rest: the master key that encrypts tenants' Freshservice API
//! keys (ChaCha20-Poly1305), and the bearer tokens Okta presents, which are
//! stored only as SHA-256 hashes and compared in constant time.

use base64::{engine::general_purpose::STANDARD, engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use chacha20poly1305::{
    aead::{Aead, KeyInit},
    ChaCha20Poly1305, Key, Nonce,
};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("master key must be 32 bytes encoded as base64 or 64 hex digits")]
    BadMasterKey,
    #[error("stored secret is corrupt or was encrypted under another master key")]
    Decrypt,
}

/// The 256-bit key that encrypts API keys. Its `Debug` never shows it.
#[derive(Clone)]
pub struct MasterKey([u8; 32]);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

impl MasterKey {
    /// Accepts base64 (standard) or 64 hex digits.
    pub fn parse(text: &str) -> Result<Self, CryptoError> {
        let text = text.trim();
        let bytes = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            hex::decode(text).map_err(|_| CryptoError::BadMasterKey)?
        } else {
            STANDARD
                .decode(text)
                .map_err(|_| CryptoError::BadMasterKey)?
        };
        let arr: [u8; 32] = bytes.try_into().map_err(|_| CryptoError::BadMasterKey)?;
        Ok(Self(arr))
    }

    /// A fresh random key, base64, for `up` scripts and tests.
    pub fn generate_base64() -> String {
        let mut k = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut k);
        STANDARD.encode(k)
    }

    /// Encrypts with a random nonce; output is base64(nonce ‖ ciphertext).
    // The AEAD only fails for buffers larger than it can count; ours are API keys.
    #[allow(clippy::expect_used)]
    pub fn encrypt(&self, plaintext: &str) -> String {
        let cipher = ChaCha20Poly1305::new(Key::from_slice(&self.0));
        let mut nonce = [0u8; 12];
        rand::thread_rng().fill_bytes(&mut nonce);
        let ct = cipher
            .encrypt(Nonce::from_slice(&nonce), plaintext.as_bytes())
            .expect("chacha20poly1305 encryption cannot fail for in-memory buffers");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        STANDARD.encode(out)
    }

    pub fn decrypt(&self, stored: &str) -> Result<String, CryptoError> {
        let raw = STANDARD.decode(stored).map_err(|_| CryptoError::Decrypt)?;
        if raw.len() < 12 + 16 {
            return Err(CryptoError::Decrypt);
        }
        let (nonce, ct) = raw.split_at(12);
        let cipher = ChaCha20Poly1305::new(Key::from_slice(&self.0));
        let pt = cipher
            .decrypt(Nonce::from_slice(nonce), ct)
            .map_err(|_| CryptoError::Decrypt)?;
        String::from_utf8(pt).map_err(|_| CryptoError::Decrypt)
    }
}

/// A new bearer token: 256 random bits, URL-safe base64 (43 characters).
pub fn new_bearer_token() -> String {
    let mut k = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut k);
    URL_SAFE_NO_PAD.encode(k)
}

/// The form a token is stored in: SHA-256, hex.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Constant-time comparison of two hashes.
pub fn hashes_equal(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_wrong_key() {
        let k = MasterKey::parse(&MasterKey::generate_base64()).unwrap();
        let other = MasterKey::parse(&MasterKey::generate_base64()).unwrap();
        let sealed = k.encrypt("api-key-123");
        assert!(!sealed.contains("api-key-123"));
        assert_eq!(k.decrypt(&sealed).unwrap(), "api-key-123");
        assert!(other.decrypt(&sealed).is_err());
        assert!(k.decrypt("garbage").is_err());
    }

    #[test]
    fn master_key_formats() {
        assert!(MasterKey::parse(&"ab".repeat(32)).is_ok());
        assert!(MasterKey::parse("c2hvcnQ=").is_err());
        assert_eq!(
            format!("{:?}", MasterKey::parse(&"ab".repeat(32)).unwrap()),
            "MasterKey(<redacted>)"
        );
    }

    #[test]
    fn tokens_are_long_and_hash_compares() {
        let t = new_bearer_token();
        assert_eq!(t.len(), 43);
        assert_ne!(t, new_bearer_token());
        assert!(hashes_equal(&token_hash(&t), &token_hash(&t)));
        assert!(!hashes_equal(&token_hash(&t), &token_hash("x")));
    }
}
