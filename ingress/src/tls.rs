//! The ingress's own HTTPS (Okta only calls `https` URLs): loads
//! `TLS_CERT_FILE` and `TLS_KEY_FILE` (PEM) into a rustls acceptor at start
//! and checks that the key belongs to the certificate, so a wrong file stops
//! the start with an error naming it (the binary exits 2, like any other
//! configuration error) instead of failing every handshake later. The
//! handshake itself runs in each connection's own task
//! (`ingress/src/serve.rs`). TLS 1.2 and 1.3 only (rustls' defaults), ALPN
//! `http/1.1` only (the server speaks HTTP/1).

use std::{
    io,
    path::{Path, PathBuf},
    sync::Arc,
};

use rustls::{
    pki_types::{pem, pem::PemObject, CertificateDer, PrivateKeyDer},
    sign::{CertifiedKey, SingleCertAndKey},
    InconsistentKeys,
};
use tokio_rustls::TlsAcceptor;

use crate::config::TlsConfig;

/// Why the certificate or key cannot be served; each names the variable
/// and the file.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{var} {}: no such file", path.display())]
    Missing { var: &'static str, path: PathBuf },
    #[error("{var} {}: cannot read it: {source}", path.display())]
    Unreadable {
        var: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("{var} {}: not valid PEM: {problem}", path.display())]
    BadPem {
        var: &'static str,
        path: PathBuf,
        problem: &'static str,
    },
    #[error(
        "TLS_CERT_FILE {}: no certificate in it (expected PEM `-----BEGIN CERTIFICATE-----` \
         blocks, the server's own certificate first)",
        path.display()
    )]
    NoCertificate { path: PathBuf },
    #[error("TLS_CERT_FILE {}: the first certificate cannot be parsed: {source}", path.display())]
    BadCertificate {
        path: PathBuf,
        source: rustls::Error,
    },
    #[error(
        "TLS_KEY_FILE {}: no private key in it (expected a PEM `PRIVATE KEY`, \
         `RSA PRIVATE KEY` or `EC PRIVATE KEY` block)",
        path.display()
    )]
    NoPrivateKey { path: PathBuf },
    #[error("TLS_KEY_FILE {}: the private key cannot be used: {source}", path.display())]
    UnusableKey {
        path: PathBuf,
        source: rustls::Error,
    },
    #[error(
        "TLS_KEY_FILE {} does not match TLS_CERT_FILE {}: the key is not the private key of \
         the file's first certificate (the server's own certificate must come first, then \
         its chain)",
        key.display(),
        cert.display()
    )]
    KeyMismatch { cert: PathBuf, key: PathBuf },
    #[error("TLS_CERT_FILE {} / TLS_KEY_FILE {}: {source}", cert.display(), key.display())]
    Rejected {
        cert: PathBuf,
        key: PathBuf,
        source: rustls::Error,
    },
}

/// The acceptor for `config`'s certificate chain and key.
pub fn acceptor(config: &TlsConfig) -> Result<TlsAcceptor, TlsError> {
    let certs = load_certs(&config.cert_file)?;
    let key = load_key(&config.key_file)?;
    // Explicitly ring, the provider already built for reqwest and lapin,
    // not whichever process-wide default happens to be installed.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let signing_key = provider
        .key_provider
        .load_private_key(key)
        .map_err(|source| TlsError::UnusableKey {
            path: config.key_file.clone(),
            source,
        })?;
    let certified = CertifiedKey::new(certs, signing_key);
    match certified.keys_match() {
        // `Unknown`: the key cannot tell its public half; rustls lets it be.
        Ok(()) | Err(rustls::Error::InconsistentKeys(InconsistentKeys::Unknown)) => {}
        Err(rustls::Error::InconsistentKeys(InconsistentKeys::KeyMismatch)) => {
            return Err(TlsError::KeyMismatch {
                cert: config.cert_file.clone(),
                key: config.key_file.clone(),
            })
        }
        Err(source) => {
            return Err(TlsError::BadCertificate {
                path: config.cert_file.clone(),
                source,
            })
        }
    }
    let rejected = |source| TlsError::Rejected {
        cert: config.cert_file.clone(),
        key: config.key_file.clone(),
        source,
    };
    let mut server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(rejected)?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(SingleCertAndKey::from(certified)));
    server.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(server)))
}

fn read(var: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| match source.kind() {
        io::ErrorKind::NotFound => TlsError::Missing {
            var,
            path: path.to_path_buf(),
        },
        _ => TlsError::Unreadable {
            var,
            path: path.to_path_buf(),
            source,
        },
    })
}

/// What is wrong with a PEM file, in words (the parser's own messages print
/// the offending line as a list of bytes).
fn pem_problem(e: &pem::Error) -> &'static str {
    match e {
        pem::Error::MissingSectionEnd { .. } => "a block has no matching `-----END` line",
        pem::Error::IllegalSectionStart { .. } => "a `-----BEGIN` line is malformed",
        pem::Error::Base64Decode(_) => "a block is not valid base64",
        pem::Error::SectionTooLarge => "a block is larger than 256 MB",
        _ => "it cannot be parsed",
    }
}

fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    const VAR: &str = "TLS_CERT_FILE";
    let bytes = read(VAR, path)?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::BadPem {
            var: VAR,
            path: path.to_path_buf(),
            problem: pem_problem(&e),
        })?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate {
            path: path.to_path_buf(),
        });
    }
    Ok(certs)
}

fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    const VAR: &str = "TLS_KEY_FILE";
    let bytes = read(VAR, path)?;
    match PrivateKeyDer::from_pem_slice(&bytes) {
        Ok(key) => Ok(key),
        Err(pem::Error::NoItemsFound) => Err(TlsError::NoPrivateKey {
            path: path.to_path_buf(),
        }),
        Err(e) => Err(TlsError::BadPem {
            var: VAR,
            path: path.to_path_buf(),
            problem: pem_problem(&e),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh directory under the system's temp dir, removed on drop.
    struct Dir(PathBuf);

    impl Dir {
        fn new() -> Self {
            let dir = std::env::temp_dir().join(format!("ingress-tls-{}", uuid::Uuid::new_v4()));
            std::fs::create_dir_all(&dir).unwrap();
            Self(dir)
        }

        fn write(&self, name: &str, contents: &str) -> PathBuf {
            let path = self.0.join(name);
            std::fs::write(&path, contents).unwrap();
            path
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// A self-signed `localhost` certificate and its PKCS#8 key, as PEM.
    fn self_signed() -> (String, String) {
        let made = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        (made.cert.pem(), made.signing_key.serialize_pem())
    }

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/tls")
            .join(name)
    }

    fn config(cert_file: PathBuf, key_file: PathBuf) -> TlsConfig {
        TlsConfig {
            cert_file,
            key_file,
        }
    }

    fn error(config: &TlsConfig) -> (TlsError, String) {
        let err = acceptor(config).err().expect("the files are refused");
        let text = err.to_string();
        (err, text)
    }

    #[test]
    fn a_pkcs8_key_and_its_certificate_make_an_acceptor_for_http1_only() {
        let dir = Dir::new();
        let (cert, key) = self_signed();
        assert!(key.starts_with("-----BEGIN PRIVATE KEY-----"), "{key}");
        let acceptor = acceptor(&config(
            dir.write("tls.crt", &cert),
            dir.write("tls.key", &key),
        ))
        .unwrap();
        assert_eq!(acceptor.config().alpn_protocols, vec![b"http/1.1".to_vec()]);
    }

    #[test]
    fn rsa_pkcs1_and_ec_sec1_keys_are_accepted() {
        for (cert, key, begin) in [
            (
                "rsa-pkcs1.crt",
                "rsa-pkcs1.key",
                "-----BEGIN RSA PRIVATE KEY-----",
            ),
            (
                "ec-sec1.crt",
                "ec-sec1.key",
                "-----BEGIN EC PRIVATE KEY-----",
            ),
        ] {
            let pem = std::fs::read_to_string(fixture(key)).unwrap();
            assert!(pem.starts_with(begin), "{key} is not the encoding it names");
            if let Err(e) = acceptor(&config(fixture(cert), fixture(key))) {
                panic!("{cert} / {key}: {e}");
            }
        }
    }

    #[test]
    fn one_file_with_chain_and_key_serves_as_both() {
        let dir = Dir::new();
        let (cert, key) = self_signed();
        let both = dir.write("both.pem", &format!("{key}{cert}"));
        acceptor(&config(both.clone(), both)).unwrap();
    }

    #[test]
    fn a_missing_file_is_named() {
        let dir = Dir::new();
        let (cert, key) = self_signed();
        let cert = dir.write("tls.crt", &cert);
        let key = dir.write("tls.key", &key);
        let nowhere = dir.0.join("nowhere.pem");
        let (err, text) = error(&config(nowhere.clone(), key));
        assert!(
            matches!(
                err,
                TlsError::Missing {
                    var: "TLS_CERT_FILE",
                    ..
                }
            ),
            "{text}"
        );
        assert_eq!(
            text,
            format!("TLS_CERT_FILE {}: no such file", nowhere.display())
        );
        let (err, text) = error(&config(cert, nowhere.clone()));
        assert!(
            matches!(
                err,
                TlsError::Missing {
                    var: "TLS_KEY_FILE",
                    ..
                }
            ),
            "{text}"
        );
        assert_eq!(
            text,
            format!("TLS_KEY_FILE {}: no such file", nowhere.display())
        );
    }

    #[test]
    fn a_directory_is_unreadable() {
        let dir = Dir::new();
        let (_, key) = self_signed();
        let key = dir.write("tls.key", &key);
        let (err, text) = error(&config(dir.0.clone(), key));
        assert!(matches!(err, TlsError::Unreadable { .. }), "{text}");
        assert!(text.starts_with("TLS_CERT_FILE "), "{text}");
        assert!(text.contains("cannot read it"), "{text}");
    }

    #[test]
    fn a_file_without_a_certificate_says_so() {
        let dir = Dir::new();
        let (_, key) = self_signed();
        let key = dir.write("tls.key", &key);
        // The classic mix-up: the key file given as the certificate.
        for (name, contents) in [
            ("swapped.pem", std::fs::read_to_string(&key).unwrap()),
            ("empty.pem", String::new()),
            ("text.pem", "not a certificate\n".to_string()),
        ] {
            let path = dir.write(name, &contents);
            let (err, text) = error(&config(path.clone(), key.clone()));
            assert!(
                matches!(err, TlsError::NoCertificate { .. }),
                "{name}: {text}"
            );
            assert!(
                text.starts_with(&format!(
                    "TLS_CERT_FILE {}: no certificate in it",
                    path.display()
                )),
                "{text}"
            );
        }
    }

    #[test]
    fn a_file_without_a_private_key_says_so() {
        let dir = Dir::new();
        let (cert, _) = self_signed();
        let cert = dir.write("tls.crt", &cert);
        let (err, text) = error(&config(cert.clone(), cert.clone()));
        assert!(matches!(err, TlsError::NoPrivateKey { .. }), "{text}");
        assert!(
            text.starts_with(&format!(
                "TLS_KEY_FILE {}: no private key in it",
                cert.display()
            )),
            "{text}"
        );
    }

    #[test]
    fn broken_pem_is_named() {
        let dir = Dir::new();
        let (cert, key) = self_signed();
        let key_path = dir.write("tls.key", &key);
        // Cut before its END line.
        let cut = dir.write("cut.crt", &cert[..cert.len() / 2]);
        let (err, text) = error(&config(cut.clone(), key_path));
        assert!(
            matches!(
                err,
                TlsError::BadPem {
                    var: "TLS_CERT_FILE",
                    ..
                }
            ),
            "{text}"
        );
        assert!(text.contains("no matching `-----END` line"), "{text}");
        let cert_path = dir.write("tls.crt", &cert);
        let garbled = dir.write(
            "garbled.key",
            "-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n",
        );
        let (err, text) = error(&config(cert_path, garbled));
        assert!(
            matches!(
                err,
                TlsError::BadPem {
                    var: "TLS_KEY_FILE",
                    ..
                }
            ),
            "{text}"
        );
        assert!(text.contains("not valid base64"), "{text}");
    }

    #[test]
    fn a_key_of_another_certificate_is_a_mismatch() {
        let dir = Dir::new();
        let (cert, _) = self_signed();
        let (_, other_key) = self_signed();
        let cert = dir.write("tls.crt", &cert);
        let key = dir.write("other.key", &other_key);
        let (err, text) = error(&config(cert.clone(), key.clone()));
        assert!(matches!(err, TlsError::KeyMismatch { .. }), "{text}");
        assert!(
            text.starts_with(&format!(
                "TLS_KEY_FILE {} does not match TLS_CERT_FILE {}",
                key.display(),
                cert.display()
            )),
            "{text}"
        );
        // An RSA key for an EC certificate is refused the same way.
        let (err, text) = error(&config(fixture("ec-sec1.crt"), fixture("rsa-pkcs1.key")));
        assert!(matches!(err, TlsError::KeyMismatch { .. }), "{text}");
    }

    #[test]
    fn a_certificate_that_is_not_der_is_refused() {
        let dir = Dir::new();
        let (_, key) = self_signed();
        let key = dir.write("tls.key", &key);
        // Valid PEM and base64 around bytes that are no certificate.
        let junk = dir.write(
            "junk.crt",
            "-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n",
        );
        let (err, text) = error(&config(junk, key));
        assert!(matches!(err, TlsError::BadCertificate { .. }), "{text}");
        assert!(text.starts_with("TLS_CERT_FILE "), "{text}");
    }
}
