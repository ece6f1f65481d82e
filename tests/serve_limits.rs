//! The connection layer under slow, broken and hostile clients, through the
//! real binary on loopback (issue 16): half-open connections (slowloris)
//! while tills keep being served, a body trickling at 1 byte/s, idle
//! keep-alive, a flood past the connection cap, running out of descriptors.
//! Every test is bounded in connections and time.

mod common;
mod serve_support;

use serve_support::*;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The head's first line and one header, then nothing: a slowloris.
/// The tests that load the machine run one at a time.
static HEAVY: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const PARTIAL_HEAD: &[u8] = b"GET /api/card/balance/by/number/4000000000006 HTTP/1.1\r\nHost: t\r\n";

/// How many half-open connections fit in this process's and the server's
/// open-files limits (each side holds one descriptor per connection).
fn slowloris_count() -> usize {
    let own = raise_own_open_files();
    let wanted = 4000;
    let fit = own.saturating_sub(300) as usize;
    let n = wanted.min(fit);
    assert!(n >= 500, "the open-files hard limit ({own}) is too low for this test");
    n
}

/// One request on a fresh connection; its latency, or what went wrong.
async fn timed_call(addr: SocketAddr, req: &str) -> Result<Duration, String> {
    let t = Instant::now();
    let mut s = tokio::net::TcpStream::connect(addr).await.map_err(|e| format!("connect: {e}"))?;
    s.write_all(req.as_bytes()).await.map_err(|e| format!("write: {e}"))?;
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.map_err(|e| format!("read: {e}"))?;
    let (status, body) = parse(&out);
    if status != 200 || body["Key"] != "CannotFindCardNumber" {
        return Err(format!("answer {status} {body}"));
    }
    Ok(t.elapsed())
}

/// Holds a half-open connection; returns how long after its partial head the
/// server closed it (`None` if it did not within `limit`).
async fn hold_half_open(
    addr: SocketAddr,
    limit: Duration,
    sent_n: Arc<AtomicUsize>,
) -> Result<Option<Duration>, String> {
    let mut s = tokio::net::TcpStream::connect(addr).await.map_err(|e| format!("connect: {e}"))?;
    s.write_all(PARTIAL_HEAD).await.map_err(|e| format!("write: {e}"))?;
    let sent = Instant::now();
    sent_n.fetch_add(1, Ordering::SeqCst);
    let mut buf = [0u8; 512];
    match tokio::time::timeout(limit, s.read(&mut buf)).await {
        Ok(Ok(0)) | Ok(Err(_)) => Ok(Some(sent.elapsed())),
        Ok(Ok(n)) => Err(format!("the server answered a half-open head: {:?}", String::from_utf8_lossy(&buf[..n]))),
        Err(_) => Ok(None),
    }
}

/// One slowloris wave: `n` half-open connections; the server's RSS once they
/// are all open, and how long after its partial head each was closed.
struct Wave {
    all_open: Duration,
    rss_held: u64,
    closed_after: Vec<Duration>,
    /// The tills' latencies while the wave was held.
    tills: Vec<Duration>,
}

async fn slowloris_wave(server: &Served, n: usize, header: Duration, with_tills: bool) -> Wave {
    let addr = server.addr;
    let opened = Instant::now();
    let sent = Arc::new(AtomicUsize::new(0));
    let limit = header + Duration::from_secs(3);
    let holders: Vec<_> = (0..n).map(|_| tokio::spawn(hold_half_open(addr, limit, sent.clone()))).collect();
    while sent.load(Ordering::SeqCst) < n {
        assert!(
            opened.elapsed() < Duration::from_secs(4),
            "only {} of {n} connected in 4 s",
            sent.load(Ordering::SeqCst)
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let all_open = opened.elapsed();
    let rss_held = server.rss_kib();
    // A till's requests while they are held, until shortly before the first
    // would time out.
    let mut tills = Vec::new();
    let req = balance_request(false);
    while with_tills && opened.elapsed() < header - Duration::from_millis(500) {
        tills.push(timed_call(addr, &req).await.expect("a till's request during the slowloris"));
    }
    let mut closed_after = Vec::new();
    for h in holders {
        let got = h.await.unwrap().expect("a half-open connection");
        closed_after.push(got.expect("a half-open connection was still open past the header timeout + 3 s"));
    }
    Wave { all_open, rss_held, closed_after, tills }
}

/// The server's RSS once it is at most `bound` KiB, polled for up to 5 s
/// (the last reading if it never gets there), and how long that took.
async fn settled_rss(server: &Served, bound: u64) -> (u64, Duration) {
    let started = Instant::now();
    loop {
        let rss = server.rss_kib();
        if rss <= bound || started.elapsed() >= Duration::from_secs(5) {
            return (rss, started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_does_not_deny_service_and_is_closed_within_the_header_timeout() {
    let _heavy = HEAVY.lock().await;
    let n = slowloris_count();
    let header = Duration::from_secs(5);
    let max = (n + 200).to_string();
    let server = serve(&["--header-timeout", "5", "--idle-timeout", "30", "--max-connections", &max]);
    let req = balance_request(false);
    // Warm up (the credential cache, the store) and take the baseline.
    for _ in 0..50 {
        timed_call(server.addr, &req).await.unwrap();
    }
    let rss_before = server.rss_kib();
    let mut first = slowloris_wave(&server, n, header, true).await;
    // A second wave: the memory of the first is reused, not added to.
    let mut second = slowloris_wave(&server, n, header, false).await;
    let (rss_after, settled_in) = settled_rss(&server, rss_before + 8 * n as u64).await;

    let p99 = quantile(&mut first.tills, 0.99);
    let mut closed: Vec<Duration> = first.closed_after.drain(..).chain(second.closed_after.drain(..)).collect();
    let earliest = quantile(&mut closed, 0.0);
    let latest = quantile(&mut closed, 1.0);
    eprintln!(
        "{n} half-open (all open after {:?} / {:?}): till p99 {p99:?} over {} requests; closed after {earliest:?}..{latest:?}; \
         RSS {rss_before} KiB before, {} / {} KiB held, {rss_after} KiB {settled_in:?} after",
        first.all_open,
        second.all_open,
        first.tills.len(),
        first.rss_held,
        second.rss_held,
    );
    assert!(first.tills.len() >= 100, "only {} requests in the window", first.tills.len());
    assert!(p99 < Duration::from_millis(100), "p99 {p99:?}");
    // (The client takes its time after its write returns: a few ms early is
    // the test's own scheduling.)
    assert!(earliest >= header - Duration::from_millis(100), "closed before the header timeout: {earliest:?}");
    assert!(latest <= header + Duration::from_millis(1500), "closed late: {latest:?}");
    // Bounded memory: at the peak under 48 KiB per held connection, over
    // two waves (a per-connection leak would add up); once they are closed,
    // the memory goes back: within 5 s under 8 KiB per connection above the
    // baseline (jemalloc's background thread purges freed pages after about
    // a second; measured: back to the baseline or below within 3 s).
    let n_kib = n as u64;
    let peak = first.rss_held.max(second.rss_held);
    assert!(peak < rss_before + 48 * n_kib, "RSS peaked at {peak} KiB (baseline {rss_before})");
    assert!(rss_after <= rss_before + 8 * n_kib, "RSS stayed at {rss_after} KiB (baseline {rss_before})");
    // And the server is still fine.
    timed_call(server.addr, &req).await.unwrap();
}

#[test]
fn a_body_sent_at_one_byte_per_second_gets_408_and_the_connection_closes() {
    let server = serve(&["--body-timeout", "2"]);
    let body = br#"{"Number":"4000000000006","BlockReasonCode":"0"}"#;
    let mut s = TcpStream::connect(server.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    let head = format!(
        "POST /api/card/Block HTTP/1.1\r\nHost: t\r\nAuthorization: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        basic("administrator"),
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    let started = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let mut w = s.try_clone().unwrap();
    let trickle = std::thread::spawn({
        let stop = stop.clone();
        move || {
            for b in body.iter() {
                if stop.load(Ordering::SeqCst) || w.write_all(&[*b]).is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_secs(1));
            }
        }
    });
    let (status, json) = read_answer(&mut s).expect("an answer before the body is complete");
    let took = started.elapsed();
    assert_eq!((status, json["Key"].as_str()), (408, Some("RequestTimeout")), "{json}");
    assert_eq!(json["Status"], false);
    assert!(took >= Duration::from_secs(2) && took < Duration::from_millis(3500), "408 after {took:?}");
    // Then the connection is closed.
    let mut rest = [0u8; 64];
    let n = s.read(&mut rest).unwrap_or(0);
    assert_eq!(n, 0, "the connection stayed open after 408");
    stop.store(true, Ordering::SeqCst);
    trickle.join().unwrap();
    // The timeout is an integration error: it is in the journal.
    drop(server);
}

#[test]
fn an_idle_keep_alive_connection_lives_past_the_header_timeout_and_ends_at_the_idle_timeout() {
    let server = serve(&["--header-timeout", "1", "--idle-timeout", "3"]);
    let mut s = TcpStream::connect(server.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(balance_request(true).as_bytes()).unwrap();
    assert_eq!(read_answer(&mut s).unwrap().0, 200);
    // Idle for twice the header timeout: still served.
    std::thread::sleep(Duration::from_secs(2));
    s.write_all(balance_request(true).as_bytes()).unwrap();
    assert_eq!(read_answer(&mut s).unwrap().0, 200);
    let answered = Instant::now();
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).unwrap_or(0);
    let took = answered.elapsed();
    assert_eq!(n, 0);
    assert!(took >= Duration::from_millis(2900) && took < Duration::from_millis(4500), "closed after {took:?}");
}

/// What a connection of the flood got.
#[derive(Debug, PartialEq)]
enum Flooded {
    /// Past the cap: closed (or reset) at once, without an answer.
    Refused,
    /// Admitted: its request was answered.
    Served,
    /// Neither within a second: the server let it hang.
    Hung,
}

async fn flood_one(addr: SocketAddr) -> Flooded {
    let one = async {
        let mut s = tokio::net::TcpStream::connect(addr).await?;
        // An unknown path: answered (404) without credentials or the store,
        // so the admitted part of the flood costs the server little.
        s.write_all(b"GET /flood HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").await?;
        let mut out = Vec::new();
        s.read_to_end(&mut out).await?;
        Ok::<_, std::io::Error>(out)
    };
    match tokio::time::timeout(Duration::from_secs(1), one).await {
        Ok(Ok(out)) if out.is_empty() => Flooded::Refused,
        Ok(Ok(out)) if parse(&out).0 == 404 => Flooded::Served,
        Ok(Ok(out)) => panic!("a flood connection got {:?}", String::from_utf8_lossy(&out)),
        Ok(Err(_)) => Flooded::Refused,
        Err(_) => Flooded::Hung,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_past_the_cap_is_closed_at_once_and_does_not_starve_open_connections() {
    let _heavy = HEAVY.lock().await;
    raise_own_open_files();
    let server = serve(&["--max-connections", "16"]);
    let addr = server.addr;
    // Eight tills on keep-alive connections, served before the flood.
    let mut tills = Vec::new();
    for _ in 0..8 {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(balance_request(true).as_bytes()).unwrap();
        assert_eq!(read_answer(&mut s).unwrap().0, 200);
        tills.push(s);
    }
    // 3,000 connections, 300 at a time, each sending a request.
    let flood = tokio::spawn(async move {
        let mut got = Vec::new();
        for _wave in 0..10 {
            let wave: Vec<_> = (0..300).map(|_| tokio::spawn(flood_one(addr))).collect();
            for h in wave {
                got.push(h.await.unwrap());
            }
        }
        got
    });
    // The tills go on meanwhile, on their own connections.
    let (flood, mut lat) = tokio::task::spawn_blocking(move || {
        let mut lat = Vec::new();
        while !flood.is_finished() {
            for s in tills.iter_mut() {
                let t = Instant::now();
                s.write_all(balance_request(true).as_bytes()).unwrap();
                let (status, json) = read_answer(s).expect("a till's keep-alive connection during the flood");
                assert_eq!((status, json["Key"].as_str()), (200, Some("CannotFindCardNumber")));
                lat.push(t.elapsed());
            }
        }
        (flood, lat)
    })
    .await
    .unwrap();
    let got = flood.await.unwrap();
    let count = |k: Flooded| got.iter().filter(|g| **g == k).count();
    let (refused, served, hung) = (count(Flooded::Refused), count(Flooded::Served), count(Flooded::Hung));
    let p99 = quantile(&mut lat, 0.99);
    eprintln!(
        "flood of {}: {refused} refused at once, {served} served, {hung} hung; tills p99 {p99:?} over {} requests",
        got.len(),
        lat.len()
    );
    assert_eq!(hung, 0, "flood connections left hanging");
    assert!(refused > got.len() / 2, "the cap did not refuse: {refused} of {}", got.len());
    assert!(p99 < Duration::from_millis(100), "p99 {p99:?}");
    assert!(server.stderr_text().contains("connection cap reached"), "{}", server.stderr_text());
    // Once the flood is over, new connections are admitted again.
    assert_eq!(call(addr, &balance_request(false)).0, 200);
}

#[test]
fn running_out_of_descriptors_neither_spins_nor_stops_the_accept_loop() {
    let _heavy = HEAVY.blocking_lock();
    let own = raise_own_open_files();
    assert!(own >= 600, "this test needs 600 descriptors of its own, has {own}");
    // The server may hold 128 descriptors and is told to admit more
    // connections than that, so accept fails with EMFILE.
    let server = serve_with(
        &["--max-connections", "10000", "--idle-timeout", "60"],
        Launch { open_files: Some(128), ..Launch::default() },
    );
    let mut held = Vec::new();
    for _ in 0..300 {
        held.push(TcpStream::connect(server.addr).unwrap());
    }
    assert!(server.wait_log("accept failed; backing off", Duration::from_secs(5)), "{}", server.stderr_text());
    let cpu0 = server.cpu_secs();
    std::thread::sleep(Duration::from_secs(2));
    let cpu = server.cpu_secs() - cpu0;
    eprintln!("server CPU while out of descriptors: {cpu:.3} s in 2 s");
    assert!(cpu < 0.4, "the accept loop spun: {cpu:.3} s of CPU in 2 s");
    drop(held);
    // The loop goes on: new connections are served once descriptors are free.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (status, json) = call(server.addr, &balance_request(false));
        if status == 200 {
            assert_eq!(json["Key"], "CannotFindCardNumber");
            break;
        }
        assert!(Instant::now() < deadline, "not served after the descriptors came back: {status} {json}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
