//! What `--listen` (and `listen` in the config file) accepts: an address
//! (`127.0.0.1:8080`, `[::1]:8080`), a bare port (`8080`, meaning
//! `127.0.0.1:8080`), or a host name with a port (`localhost:8080`), resolved
//! once at start-up.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};

const FORMS: &str = "use ADDRESS:PORT (127.0.0.1:8080, [::1]:8080, 0.0.0.0:8080), HOST:PORT (localhost:8080) or PORT";

/// `listen` in the config file: a string in any form [`parse_listen`]
/// takes, or a bare port written as a TOML integer (`listen = 8083`).
pub fn from_config(value: &toml::Value) -> Result<SocketAddr, String> {
    match value {
        toml::Value::String(text) => parse_listen(text),
        toml::Value::Integer(port) => u16::try_from(*port)
            .map(|port| SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port))
            .map_err(|_| format!("port {port} is not in 0..=65535")),
        other => Err(format!("expected a string or a port number, not a {}", other.type_str())),
    }
}

/// Parses a listen address; the error says what was wrong and what forms
/// are accepted.
pub fn parse_listen(text: &str) -> Result<SocketAddr, String> {
    let text = text.trim();
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        let port = text.parse::<u16>().map_err(|_| format!("port `{text}` is not in 0..=65535"))?;
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    }
    let Some((host, port)) = text.rsplit_once(':') else {
        return Err(format!("`{text}` has no port; {FORMS}"));
    };
    if host.is_empty() || port.parse::<u16>().is_err() {
        return Err(format!("`{text}` is not a listen address; {FORMS}"));
    }
    let addrs: Vec<SocketAddr> = text.to_socket_addrs().map_err(|e| format!("cannot resolve `{host}`: {e}"))?.collect();
    // A name with both kinds (localhost on some systems): IPv4 first, so that
    // the address the server prints is the one most clients try.
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or_else(|| addrs.first())
        .copied()
        .ok_or_else(|| format!("`{host}` resolves to no address"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_ports_and_host_names() {
        assert_eq!(parse_listen("0.0.0.0:8083"), Ok("0.0.0.0:8083".parse().unwrap()));
        assert_eq!(parse_listen("[::1]:8083"), Ok("[::1]:8083".parse().unwrap()));
        assert_eq!(parse_listen("8083"), Ok("127.0.0.1:8083".parse().unwrap()));
        assert_eq!(parse_listen(" 0 "), Ok("127.0.0.1:0".parse().unwrap()));
        let local = parse_listen("localhost:8083").unwrap();
        assert!(local.ip().is_loopback() && local.port() == 8083, "{local}");
    }

    #[test]
    fn bad_values_say_what_is_accepted() {
        for bad in ["", "localhost", "99999", "localhost:http", ":8083", "1.2.3.4:99999"] {
            let message = parse_listen(bad).unwrap_err();
            assert!(message.contains("PORT") || message.contains("0..=65535"), "{bad}: {message}");
        }
        let message = parse_listen("no-such-host.invalid:8083").unwrap_err();
        assert!(message.starts_with("cannot resolve `no-such-host.invalid`"), "{message}");
    }

    #[test]
    fn the_config_file_takes_a_string_or_a_port_number() {
        let resolve = |text: &str| from_config(&text.parse::<toml::Table>().unwrap()["listen"]);
        assert_eq!(resolve("listen = 8083"), Ok("127.0.0.1:8083".parse().unwrap()));
        assert_eq!(resolve("listen = \"0.0.0.0:8083\""), Ok("0.0.0.0:8083".parse().unwrap()));
        assert_eq!(resolve("listen = \"8083\""), Ok("127.0.0.1:8083".parse().unwrap()));
        assert_eq!(resolve("listen = 70000"), Err("port 70000 is not in 0..=65535".into()));
        assert_eq!(resolve("listen = true"), Err("expected a string or a port number, not a boolean".into()));
    }
}
