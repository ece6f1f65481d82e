//! Built-in TLS: the certificate chain and key from PEM files (rustls),
//! swapped whole on reload (a pair that does not load is refused and the old
//! one stays), and the handshake of each connection. A plain-HTTP request on
//! the TLS port gets a plain 400 that says so, then the connection closes.

use arc_swap::ArcSwap;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Why a certificate/key pair was not taken.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read the certificate chain {}: {error}", path.display())]
    Cert { path: PathBuf, error: rustls::pki_types::pem::Error },
    #[error("{} holds no certificate", path.display())]
    NoCert { path: PathBuf },
    #[error("cannot read the private key {}: {error}", path.display())]
    Key { path: PathBuf, error: rustls::pki_types::pem::Error },
    #[error("the certificate and key do not make a TLS configuration: {0}")]
    Config(rustls::Error),
}

/// Where the PEM files are.
#[derive(Debug, Clone, PartialEq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// The TLS configuration in force, replaceable while connections use it.
pub struct Tls {
    files: TlsFiles,
    config: ArcSwap<ServerConfig>,
}

fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let cert_err = |error| TlsError::Cert { path: path.to_path_buf(), error };
    let certs =
        CertificateDer::pem_file_iter(path).map_err(cert_err)?.collect::<Result<Vec<_>, _>>().map_err(cert_err)?;
    if certs.is_empty() {
        return Err(TlsError::NoCert { path: path.to_path_buf() });
    }
    Ok(certs)
}

/// Reads and checks a pair: the key must be the certificate's.
pub fn load_config(files: &TlsFiles) -> Result<ServerConfig, TlsError> {
    let certs = load_certs(&files.cert)?;
    let key =
        PrivateKeyDer::from_pem_file(&files.key).map_err(|error| TlsError::Key { path: files.key.clone(), error })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Config)?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(TlsError::Config)?;
    // The API is HTTP/1.1 (the connection layer's timeouts assume one
    // request at a time per connection).
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

impl Tls {
    pub fn open(files: TlsFiles) -> Result<Tls, TlsError> {
        let config = load_config(&files)?;
        Ok(Tls { files, config: ArcSwap::from_pointee(config) })
    }

    pub fn files(&self) -> &TlsFiles {
        &self.files
    }

    /// SIGHUP: reads the files again; new connections use the new pair,
    /// open ones keep theirs. On error the old pair stays.
    pub fn reload(&self) -> Result<(), TlsError> {
        let config = load_config(&self.files)?;
        self.config.store(Arc::new(config));
        Ok(())
    }

    /// The acceptor for one new connection, with the pair in force now.
    pub fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        tokio_rustls::TlsAcceptor::from(self.config.load_full())
    }
}

/// The first byte of every TLS connection: a handshake record.
pub const TLS_HANDSHAKE: u8 = 0x16;

/// The answer to a plain-HTTP request on the TLS port.
const PLAIN_ON_TLS: &[u8] = b"HTTP/1.1 400 Bad Request\r\n\
content-type: application/json; charset=utf-8\r\n\
connection: close\r\n\
content-length: 97\r\n\r\n\
{\"Status\":false,\"Key\":\"MalformedRequest\",\"Value\":\"this port speaks HTTPS: call it with https://\"}";

/// Answers a plain-HTTP client on the TLS port and closes.
pub async fn refuse_plain_http<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S) {
    let mut buf = [0u8; 4096];
    // The client's head first, then the answer; then read until the client
    // closes, so bytes left unread do not turn our close into a reset that
    // could reach the client before the answer does.
    let _ = stream.read(&mut buf).await;
    let _ = stream.write_all(PLAIN_ON_TLS).await;
    let _ = stream.shutdown().await;
    let drain = async { while matches!(stream.read(&mut buf).await, Ok(1..)) {} };
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), drain).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plain_http_answer_is_an_envelope_of_its_declared_length() {
        let text = std::str::from_utf8(PLAIN_ON_TLS).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("content-length: {}", body.len())), "{head}");
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!((v["Status"].as_bool(), v["Key"].as_str()), (Some(false), Some("MalformedRequest")));
    }

    #[test]
    fn missing_or_empty_files_are_refused_with_their_path() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "").unwrap();
        let files = TlsFiles { cert: dir.path().join("nope.pem"), key: empty.clone() };
        let e = load_config(&files).unwrap_err().to_string();
        assert!(e.contains("nope.pem"), "{e}");
        let files = TlsFiles { cert: empty.clone(), key: empty };
        let e = load_config(&files).unwrap_err().to_string();
        assert!(e.contains("holds no certificate"), "{e}");
    }
}
