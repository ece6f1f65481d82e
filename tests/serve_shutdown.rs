//! Shutdown through the real binary (issue 14, item 7): SIGTERM — sent to
//! the pid in the server's own pid file — stops accepting, lets the request
//! under way finish and answer, and the process exits promptly; a request
//! that never completes is cut at the shutdown timeout; idle keep-alive
//! connections do not hold the exit up.

mod common;
mod serve_support;

use serve_support::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn kill_from_pid_file(server: &Served, sig: &str) {
    let pid = std::fs::read_to_string(server.pid_file()).expect("the pid file");
    assert_eq!(pid, format!("{}\n", server.pid()), "the pid file names the server");
    let ok = std::process::Command::new("kill").arg(format!("-{sig}")).arg(pid.trim()).status().unwrap();
    assert!(ok.success());
}

/// Sends a PUT of a card with only the first half of its body.
fn half_sent_put(server: &Served, number: &str) -> (TcpStream, Vec<u8>) {
    let body = br#"{"CategoryCode":"0","TypeCode":"0"}"#.to_vec();
    let mut s = TcpStream::connect(server.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let head = format!(
        "PUT /api/admin/cards/{number} HTTP/1.1\r\nHost: t\r\nAuthorization: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        basic("administrator"),
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(&body[..body.len() / 2]).unwrap();
    let rest = body[body.len() / 2..].to_vec();
    (s, rest)
}

#[test]
fn sigterm_lets_the_request_under_way_answer_then_exits_promptly() {
    let mut server = serve(&["--shutdown-timeout", "5"]);
    let (mut inflight, rest) = half_sent_put(&server, "4000000000006");
    std::thread::sleep(Duration::from_millis(300)); // the server is reading the body
    let term = Instant::now();
    kill_from_pid_file(&server, "TERM");

    // It stops accepting: new connections are refused.
    let addr = server.addr;
    loop {
        match TcpStream::connect(addr) {
            Err(_) => break,
            Ok(_) => assert!(term.elapsed() < Duration::from_secs(2), "still accepting 2 s after SIGTERM"),
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    // Still running while the request is under way.
    std::thread::sleep(Duration::from_millis(500));
    assert!(server.wait_exit(Duration::ZERO).is_none(), "exited with a request under way");

    inflight.write_all(&rest).unwrap();
    let (status, json) = read_answer(&mut inflight).expect("the request under way is answered");
    let answered = Instant::now();
    assert_eq!((status, json["Key"].as_str()), (200, Some("OK")), "{json}");
    let exit = server.wait_exit(Duration::from_secs(5)).expect("the server exits");
    let after_answer = answered.elapsed();
    eprintln!("SIGTERM to exit {:?}; answer to exit {after_answer:?}", term.elapsed());
    assert!(exit.success(), "{exit:?}");
    assert!(after_answer < Duration::from_millis(500), "exited {after_answer:?} after its last answer");
    assert!(!server.pid_file().exists(), "the pid file is left behind");
    // The answered change is in the store.
    server.restart();
    let (status, json) = call(server.addr, &format!(
        "GET /api/card/balance/by/number/4000000000006 HTTP/1.1\r\nHost: t\r\nAuthorization: {}\r\nConnection: close\r\n\r\n",
        basic("administrator")
    ));
    assert_eq!((status, json["Key"].as_str()), (200, Some("OK")), "{json}");
}

#[test]
fn a_request_that_never_completes_is_cut_at_the_shutdown_timeout() {
    let mut server = serve(&["--shutdown-timeout", "1", "--body-timeout", "60"]);
    let (mut stuck, _rest) = half_sent_put(&server, "4000000000006");
    std::thread::sleep(Duration::from_millis(300));
    let term = Instant::now();
    server.signal("TERM");
    let exit = server.wait_exit(Duration::from_secs(5)).expect("the server exits");
    let took = term.elapsed();
    eprintln!("SIGTERM to exit with a stuck request: {took:?}");
    assert!(exit.success(), "{exit:?}");
    assert!(took >= Duration::from_millis(950) && took < Duration::from_millis(1800), "exit after {took:?}");
    assert!(server.stderr_text().contains("shutdown timeout"), "{}", server.stderr_text());
    let mut b = [0u8; 16];
    assert_eq!(stuck.read(&mut b).unwrap_or(0), 0, "the stuck connection is closed");
}

#[test]
fn idle_keep_alive_connections_do_not_hold_up_the_exit() {
    let mut server = serve(&[]);
    let mut idle = Vec::new();
    for _ in 0..100 {
        let mut s = TcpStream::connect(server.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(balance_request(true).as_bytes()).unwrap();
        assert_eq!(read_answer(&mut s).unwrap().0, 200);
        idle.push(s);
    }
    let term = Instant::now();
    server.signal("TERM");
    let exit = server.wait_exit(Duration::from_secs(5)).expect("the server exits");
    let took = term.elapsed();
    eprintln!("SIGTERM to exit with 100 idle keep-alive connections: {took:?}");
    assert!(exit.success());
    assert!(took < Duration::from_millis(500), "exit after {took:?}");
    for mut s in idle {
        assert_eq!(s.read(&mut [0u8; 16]).unwrap_or(0), 0, "an idle connection was left open");
    }
}
