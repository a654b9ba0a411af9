//! TLS to PostgreSQL, with the `sslmode` values operators know from libpq (`psql`, most
//! drivers, every managed database's connection guide), so a url copied from one works here.
//!
//! | `sslmode` | encrypted | certificate checked |
//! |---|---|---|
//! | `disable` | no | — |
//! | `prefer` (the default), `allow` | when the server offers TLS | no |
//! | `require` | yes | no; against `sslrootcert`'s CAs when one is given, as libpq does |
//! | `verify-ca` | yes | signed by a trusted CA |
//! | `verify-full` | yes | signed by a trusted CA, and names the host |
//!
//! The trusted CAs are the file `sslrootcert` names (PEM), else the system's (libpq reads
//! `~/.postgresql/root.crt` instead; a bot in a container has no home to keep one in).
//! `sslrootcert=system` names the system's explicitly, as libpq 16 does.
//!
//! The driver knows only `disable`, `prefer` and `require` and refuses other url parameters, so
//! the url is split here: the driver gets its part, and the checking is ours (rustls).

use std::path::PathBuf;
use std::sync::Arc;

use rustls::DigitallySignedStruct;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_postgres_rustls::MakeRustlsConnect;

/// What a url's `sslmode` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

/// The TLS part of a url, taken out of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tls {
    pub mode: Mode,
    /// `sslrootcert`: the CAs to trust instead of the system's.
    pub root: Option<PathBuf>,
}

/// Splits `url` into what the driver reads and the TLS settings; an error names the parameter
/// and what it may be.
pub fn split(url: &str) -> Result<(String, Tls), String> {
    let Ok(mut parsed) = url::Url::parse(url) else {
        // Not a url the driver would take either: it says why.
        return Ok((url.to_string(), default_tls()));
    };
    let mut mode = Mode::Prefer;
    let mut root = None;
    let mut rest: Vec<(String, String)> = Vec::new();
    for (key, value) in parsed.query_pairs() {
        match key.as_ref() {
            "sslmode" => {
                mode = match value.as_ref() {
                    "disable" => Mode::Disable,
                    "allow" | "prefer" => Mode::Prefer,
                    "require" => Mode::Require,
                    "verify-ca" => Mode::VerifyCa,
                    "verify-full" => Mode::VerifyFull,
                    other => {
                        return Err(format!(
                            "sslmode={other} is not one of disable, allow, prefer, require, verify-ca, verify-full"
                        ));
                    }
                }
            }
            "sslrootcert" => root = Some(value.into_owned()),
            _ => rest.push((key.into_owned(), value.into_owned())),
        }
    }
    let root = match root.as_deref() {
        None | Some("system") => None,
        Some(path) => Some(PathBuf::from(path)),
    };
    // libpq: with a root CA file, `require` checks the chain as `verify-ca` does.
    if mode == Mode::Require && root.is_some() {
        mode = Mode::VerifyCa;
    }
    let driver_mode = match mode {
        Mode::Disable => "disable",
        Mode::Prefer => "prefer",
        Mode::Require | Mode::VerifyCa | Mode::VerifyFull => "require",
    };
    rest.push(("sslmode".into(), driver_mode.into()));
    parsed.query_pairs_mut().clear().extend_pairs(rest);
    Ok((parsed.to_string(), Tls { mode, root }))
}

fn default_tls() -> Tls {
    Tls {
        mode: Mode::Prefer,
        root: None,
    }
}

/// The driver's TLS connector for `tls`.
pub fn connector(tls: &Tls) -> Result<MakeRustlsConnect, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain = match tls.mode {
        Mode::Disable | Mode::Prefer | Mode::Require => None,
        Mode::VerifyCa | Mode::VerifyFull => Some(
            WebPkiServerVerifier::builder_with_provider(
                roots(tls.root.as_ref())?,
                provider.clone(),
            )
            .build()
            .map_err(|e| format!("TLS set-up failed: {e}"))?,
        ),
    };
    let verifier = Verifier {
        chain,
        name_checked: tls.mode == Mode::VerifyFull,
        provider: provider.clone(),
    };
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS set-up failed: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

/// The CAs to trust: `root`'s certificates, else the system's (read once per process: every
/// connection, reader and reconnect asks).
fn roots(root: Option<&PathBuf>) -> Result<Arc<rustls::RootCertStore>, String> {
    static SYSTEM: std::sync::OnceLock<Arc<rustls::RootCertStore>> = std::sync::OnceLock::new();
    let Some(path) = root else {
        let system = SYSTEM.get_or_init(|| {
            let mut store = rustls::RootCertStore::empty();
            store.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
            Arc::new(store)
        });
        if system.is_empty() {
            return Err("no CA certificates found on this system (install ca-certificates), or give the CA with sslrootcert=/path/ca.pem in the url".into());
        }
        return Ok(system.clone());
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect())
        .map_err(|e| format!("sslrootcert={}: cannot read it ({e}); give a PEM file of the CA that signed the server's certificate", path.display()))?;
    let mut store = rustls::RootCertStore::empty();
    let (added, _) = store.add_parsable_certificates(certs);
    if added == 0 {
        return Err(format!(
            "sslrootcert={}: holds no certificate; give a PEM file of the CA that signed the server's certificate",
            path.display()
        ));
    }
    Ok(Arc::new(store))
}

/// The server's certificate checked as the mode asks. Without a `chain` (`prefer`, `require`,
/// as libpq means them) the connection is encrypted and the handshake's signatures are
/// checked, but not who the certificate belongs to. With one, the chain must lead to a trusted
/// CA; `name_checked` (`verify-full`) also asks that it name the url's host, while `verify-ca`
/// lets the name differ.
#[derive(Debug)]
struct Verifier {
    chain: Option<Arc<WebPkiServerVerifier>>,
    name_checked: bool,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        use rustls::CertificateError::{NotValidForName, NotValidForNameContext};
        let Some(chain) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        // webpki checks the name only once the chain is good: a name error means the chain is.
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Err(rustls::Error::InvalidCertificate(
                NotValidForName | NotValidForNameContext { .. },
            )) if !self.name_checked => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libpq_sslmodes_are_split_from_what_the_driver_reads() {
        let (driver, tls) =
            split("postgres://u:p@db.example:5432/standup?sslmode=verify-full&application_name=x")
                .unwrap();
        assert_eq!(tls.mode, Mode::VerifyFull);
        assert_eq!(tls.root, None);
        assert_eq!(
            driver,
            "postgres://u:p@db.example:5432/standup?application_name=x&sslmode=require"
        );
        driver
            .parse::<postgres::Config>()
            .expect("the driver takes it");

        let (_, tls) = split("postgres://h/db?sslmode=require&sslrootcert=/etc/ca.pem").unwrap();
        assert_eq!(
            tls,
            Tls {
                mode: Mode::VerifyCa,
                root: Some(PathBuf::from("/etc/ca.pem"))
            },
            "require with a CA file checks the chain, as libpq does"
        );
        let (_, tls) = split("postgres://h/db?sslmode=verify-ca&sslrootcert=system").unwrap();
        assert_eq!((tls.mode, tls.root), (Mode::VerifyCa, None));
        let (driver, tls) = split("postgres://h/db").unwrap();
        assert_eq!(tls.mode, Mode::Prefer);
        assert_eq!(driver, "postgres://h/db?sslmode=prefer");
        let (driver, tls) = split("postgres://h/db?sslmode=disable").unwrap();
        assert_eq!(tls.mode, Mode::Disable);
        assert!(driver.ends_with("sslmode=disable"));
    }

    #[test]
    fn an_unknown_sslmode_or_an_unreadable_ca_file_is_named() {
        let err = split("postgres://h/db?sslmode=verify").unwrap_err();
        assert!(err.starts_with("sslmode=verify is not one of"), "{err}");
        let tls = Tls {
            mode: Mode::VerifyFull,
            root: Some(PathBuf::from("/nonexistent/ca.pem")),
        };
        let err = connector(&tls).map(|_| ()).unwrap_err();
        assert!(
            err.starts_with("sslrootcert=/nonexistent/ca.pem: cannot read it"),
            "{err}"
        );
    }
}

/// Against the test server (`STANDUP_TEST_POSTGRES`), when it offers TLS.
#[cfg(test)]
mod server_tests {
    use crate::store::sql::Conn;
    use crate::store::{Error, pg, test_postgres_url};

    fn encrypted(conn: &Conn) -> bool {
        conn.query_row(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            (),
            |r| r.get(0),
        )
        .unwrap()
    }

    fn with(url: &str, host: &str, query: &str) -> String {
        let mut url = url::Url::parse(url).unwrap();
        url.set_host(Some(host)).unwrap();
        url.set_query(Some(query));
        url.to_string()
    }

    #[test]
    fn each_sslmode_encrypts_and_checks_the_certificate_as_libpq_does() {
        let Some(url) = test_postgres_url() else {
            eprintln!("skipped: TLS to PostgreSQL is tested with STANDUP_TEST_POSTGRES set");
            return;
        };
        let plain = pg::connect(&with(&url, "localhost", "sslmode=disable")).unwrap();
        let ssl: String = plain.query_row("SHOW ssl", (), |r| r.get(0)).unwrap();
        let cert: String = plain
            .query_row("SHOW ssl_cert_file", (), |r| r.get(0))
            .unwrap();
        assert!(!encrypted(&plain));
        if ssl != "on" || std::fs::metadata(&cert).is_err() {
            eprintln!(
                "skipped: the test server has no TLS (ssl = {ssl}) or its certificate is not readable here"
            );
            return;
        }
        // The default and `require` encrypt, without asking who signed the certificate.
        assert!(encrypted(
            &pg::connect(&with(&url, "localhost", "")).unwrap()
        ));
        assert!(encrypted(
            &pg::connect(&with(&url, "127.0.0.1", "sslmode=require")).unwrap()
        ));

        // The test server's certificate is its own (self-signed), signed by none of the public
        // CAs. (Debian's /etc/ssl/certs also holds the machine's own "snakeoil" certificate,
        // which the system's store then trusts: the bundle of public CAs stands in for it here.)
        let public = "/etc/ssl/certs/ca-certificates.crt";
        if std::fs::metadata(public).is_err() {
            eprintln!(
                "skipped: no {public} (the ca-certificates package) to refuse the certificate with"
            );
            return;
        }
        let refused = pg::connect(&with(
            &url,
            "localhost",
            &format!("sslmode=verify-full&sslrootcert={public}"),
        ))
        .map(|_| ())
        .unwrap_err();
        let Error::Connect { reason, .. } = &refused else {
            panic!("{refused}")
        };
        assert!(
            reason.contains("the server's certificate was not accepted (sslmode=verify-full); give the CA that signed it with sslrootcert="),
            "{refused}"
        );
        assert!(!refused.to_string().contains('\n'), "{refused}");

        // Given as the CA, it is trusted; verify-ca does not ask for the host's name in it, and
        // the certificate names no IP address.
        let root = format!("sslrootcert={cert}");
        let conn = pg::connect(&with(
            &url,
            "127.0.0.1",
            &format!("sslmode=verify-ca&{root}"),
        ))
        .unwrap();
        assert!(encrypted(&conn));
        let by_ip = pg::connect(&with(
            &url,
            "127.0.0.1",
            &format!("sslmode=verify-full&{root}"),
        ))
        .map(|_| ())
        .unwrap_err()
        .to_string();
        assert!(by_ip.contains("certificate was not accepted"), "{by_ip}");
        // By the name in the certificate (Debian's is made for the machine's own name).
        let named = pg::connect(&with(
            &url,
            "localhost",
            &format!("sslmode=verify-full&{root}"),
        ));
        match named {
            Ok(conn) => assert!(encrypted(&conn)),
            Err(e) => assert!(
                e.to_string().contains("NotValidForName"),
                "only the name may differ: {e}"
            ),
        }
    }
}
