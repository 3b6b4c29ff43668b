//! A self-made certificate authority and a `localhost` / `127.0.0.1`
//! server certificate it signed, made at run time with `rcgen` and written
//! as PEM files for the ingress's `TLS_CERT_FILE` / `TLS_KEY_FILE`
//! ([`crate::StackOptions::tls`]). Clients trust [`TestTls::ca`].

use std::path::PathBuf;

use anyhow::Context;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

/// The files of one test's certificate, removed on drop.
pub struct TestTls {
    dir: PathBuf,
    /// The server's certificate then the CA's (a chain of two, as a real
    /// deployment's file would hold the leaf and its intermediates).
    pub cert_file: PathBuf,
    /// The server certificate's private key (PKCS#8 PEM).
    pub key_file: PathBuf,
    /// The CA certificate (PEM) a client must trust.
    pub ca_pem: String,
}

impl TestTls {
    /// Makes the CA and the server certificate under the temp dir, named
    /// after `label` (the stack's prefix).
    pub fn new(label: &str) -> anyhow::Result<TestTls> {
        let mut ca = CertificateParams::new(Vec::<String>::new())?;
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, format!("bridge e2e test CA {label}"));
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_key = KeyPair::generate()?;
        let ca_cert = ca.self_signed(&ca_key)?;
        let issuer = Issuer::new(ca, ca_key);

        let mut leaf =
            CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])?;
        leaf.distinguished_name
            .push(DnType::CommonName, "localhost");
        leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let leaf_key = KeyPair::generate()?;
        let leaf_cert = leaf.signed_by(&leaf_key, &issuer)?;

        let dir = std::env::temp_dir().join(format!("e2e-tls-{label}"));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let cert_file = dir.join("tls.crt");
        let key_file = dir.join("tls.key");
        std::fs::write(&cert_file, format!("{}{}", leaf_cert.pem(), ca_cert.pem()))
            .with_context(|| format!("writing {}", cert_file.display()))?;
        std::fs::write(&key_file, leaf_key.serialize_pem())
            .with_context(|| format!("writing {}", key_file.display()))?;
        Ok(TestTls {
            dir,
            cert_file,
            key_file,
            ca_pem: ca_cert.pem(),
        })
    }

    /// The CA as reqwest takes it (`ClientBuilder::add_root_certificate`).
    pub fn ca(&self) -> anyhow::Result<reqwest::Certificate> {
        Ok(reqwest::Certificate::from_pem(self.ca_pem.as_bytes())?)
    }

    /// A client that trusts this CA (and no other: built-in roots off).
    pub fn client(&self) -> anyhow::Result<reqwest::Client> {
        Ok(reqwest::Client::builder()
            .tls_built_in_root_certs(false)
            .add_root_certificate(self.ca()?)
            .build()?)
    }
}

impl Drop for TestTls {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
