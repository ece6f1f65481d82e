//! Built-in TLS through the real binary (issue 14, item 5): a certificate
//! from a CA the test makes, called by a client that verifies it; reload on
//! SIGHUP (a bad pair is refused, the old one stays); a plain-HTTP request on
//! the TLS port fails cleanly.

mod common;
mod serve_support;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use serve_support::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A CA and a server certificate it signed for 127.0.0.1 and localhost.
struct Pki {
    ca_pem: String,
    cert_pem: String,
    key_pem: String,
}

fn make_pki(name: &str) -> Pki {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, format!("cashdesk test CA {name}"));
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let mut params = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
    params.distinguished_name.push(DnType::CommonName, "cashdesk");
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &ca).unwrap();
    Pki { ca_pem: ca.pem(), cert_pem: cert.pem(), key_pem: key.serialize_pem() }
}

fn install(pki: &Pki, dir: &Path) {
    write_file(&dir.join("cert.pem"), &pki.cert_pem);
    write_file(&dir.join("key.pem"), &pki.key_pem);
}

/// A client that trusts only `ca_pem`.
fn agent(ca_pem: &str) -> ureq::Agent {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls::pki_types::CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    ureq::AgentBuilder::new().tls_config(Arc::new(config)).timeout(Duration::from_secs(10)).build()
}

/// A balance call over HTTPS; the answer's Key, or the transport error.
fn balance_over_tls(agent: &ureq::Agent, port: u16) -> Result<String, String> {
    let url = format!("https://127.0.0.1:{port}/api/card/balance/by/number/4000000000006");
    match agent.get(&url).set("Authorization", &basic("cashier")).call() {
        Ok(r) => {
            assert_eq!(r.status(), 200);
            let v: serde_json::Value = r.into_json().unwrap();
            Ok(v["Key"].as_str().unwrap_or("").to_string())
        }
        Err(ureq::Error::Status(code, _)) => Err(format!("HTTP {code}")),
        Err(e) => Err(e.to_string()),
    }
}

/// A TLS server on its own certificate files (the files live beside the test
/// data, where the test can replace them).
fn tls_server(pki: &Pki, flags: &[&str]) -> (Served, tempfile::TempDir) {
    let files = tempfile::tempdir().unwrap();
    install(pki, files.path());
    let cert = files.path().join("cert.pem");
    let key = files.path().join("key.pem");
    let mut all = vec!["--tls-cert", cert.to_str().unwrap(), "--tls-key", key.to_str().unwrap()];
    all.extend_from_slice(flags);
    let server = serve_with(&all, Launch { tls: true, ..Launch::default() });
    (server, files)
}

#[test]
fn https_with_a_verifying_client_and_plain_http_on_the_tls_port_fails_cleanly() {
    let pki = make_pki("one");
    let (server, _files) = tls_server(&pki, &["--header-timeout", "2"]);
    let port = server.addr.port();
    assert_eq!(balance_over_tls(&agent(&pki.ca_pem), port), Ok("CannotFindCardNumber".to_string()));
    // A client that does not trust the CA refuses the server.
    let stranger = make_pki("stranger");
    let e = balance_over_tls(&agent(&stranger.ca_pem), port).unwrap_err();
    assert!(e.to_lowercase().contains("certificate"), "{e}");

    // Plain HTTP on the TLS port: a plain 400 that says so, then the close.
    let t = Instant::now();
    let mut s = TcpStream::connect(server.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(balance_request(false).as_bytes()).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).expect("the server closes the plain connection");
    let (status, json) = parse(&out);
    assert_eq!((status, json["Key"].as_str()), (400, Some("MalformedRequest")), "{}", String::from_utf8_lossy(&out));
    assert!(json["Value"].as_str().unwrap().contains("https"), "{json}");
    assert!(t.elapsed() < Duration::from_secs(2), "plain HTTP took {:?}", t.elapsed());

    // A handshake that stalls after its first byte is closed at the header timeout.
    let mut s = TcpStream::connect(server.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(6))).unwrap();
    s.write_all(&[0x16, 0x03]).unwrap();
    let t = Instant::now();
    let n = s.read(&mut [0u8; 64]).unwrap_or(0);
    assert_eq!(n, 0);
    assert!(t.elapsed() >= Duration::from_millis(1900) && t.elapsed() < Duration::from_secs(4), "{:?}", t.elapsed());

    // The server goes on.
    assert_eq!(balance_over_tls(&agent(&pki.ca_pem), port), Ok("CannotFindCardNumber".to_string()));
}

#[test]
fn sighup_reloads_the_certificate_and_refuses_a_bad_one() {
    let one = make_pki("one");
    let (server, files) = tls_server(&one, &[]);
    let port = server.addr.port();
    assert!(balance_over_tls(&agent(&one.ca_pem), port).is_ok());

    let two = make_pki("two");
    install(&two, files.path());
    server.signal("HUP");
    assert!(server.wait_log("TLS certificate reloaded", Duration::from_secs(10)), "{}", server.stderr_text());
    assert_eq!(balance_over_tls(&agent(&two.ca_pem), port), Ok("CannotFindCardNumber".to_string()));
    assert!(balance_over_tls(&agent(&one.ca_pem), port).is_err(), "the old certificate is still served");

    // A broken certificate and a key that is not the certificate's: refused, the old pair stays.
    write_file(
        &files.path().join("cert.pem"),
        "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n",
    );
    server.signal("HUP");
    assert!(server.wait_log("new TLS certificate refused", Duration::from_secs(10)), "{}", server.stderr_text());
    assert_eq!(balance_over_tls(&agent(&two.ca_pem), port), Ok("CannotFindCardNumber".to_string()));
    let three = make_pki("three");
    write_file(&files.path().join("cert.pem"), &three.cert_pem); // key.pem is still two's
    server.signal("HUP");
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.stderr_text().matches("new TLS certificate refused").count() < 2 {
        assert!(Instant::now() < deadline, "{}", server.stderr_text());
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(balance_over_tls(&agent(&two.ca_pem), port), Ok("CannotFindCardNumber".to_string()));
}

#[test]
fn a_server_with_a_bad_certificate_does_not_start() {
    let files = tempfile::tempdir().unwrap();
    let cert = files.path().join("cert.pem");
    write_file(&cert, "no PEM here\n");
    let key = files.path().join("key.pem");
    write_file(&key, "no PEM here\n");
    let tmp = tempfile::tempdir().unwrap();
    common::write_users(&tmp.path().join("users.toml"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cashdesk"))
        .args(["serve", "--data"])
        .arg(tmp.path().join("data"))
        .arg("--rules")
        .arg(common::rules_dir())
        .arg("--users")
        .arg(tmp.path().join("users.toml"))
        .args(["--listen", "127.0.0.1:0", "--tls-cert"])
        .arg(&cert)
        .arg("--tls-key")
        .arg(&key)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("holds no certificate") && err.contains("cert.pem"), "{err}");
}
