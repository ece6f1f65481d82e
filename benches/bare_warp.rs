//! A bare warp server for `benches/http_load.sh`: every request is answered 200
//! with a fixed JSON body of the given size, on the same runtime the real
//! server uses (`tokio::runtime::Runtime::new()`, warp 0.4). It is the
//! baseline the balance endpoint is compared with: what HTTP, warp and the
//! socket cost before any auth, rules or store work.
//!
//! `cargo bench --bench bare_warp -- PORT BYTES` (cargo adds `--bench`, ignored).

/// The allocator the `cashdesk` binary runs with, so figures match the server.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

use warp::Filter;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let (port, bytes) = match (args.first().map(|p| p.parse::<u16>()), args.get(1).map(|b| b.parse::<usize>())) {
        (Some(Ok(p)), Some(Ok(b))) => (p, b),
        _ => {
            eprintln!("usage: bare_warp PORT BYTES");
            std::process::exit(2);
        }
    };
    let body = json_body(bytes);
    let route = warp::any().map(move || {
        warp::http::Response::builder()
            .header("content-type", "application/json; charset=utf-8")
            .body(body.clone())
            .expect("static response")
    });
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.expect("cannot listen");
        println!("bare_warp listening on 127.0.0.1:{port}, body {bytes} bytes");
        warp::serve(route).incoming(listener).run().await;
    });
}

/// `{"Status":true,"Pad":"xxx…"}` padded to exactly `bytes` bytes (at least the
/// shortest such object).
fn json_body(bytes: usize) -> bytes::Bytes {
    let head = r#"{"Status":true,"Pad":""#;
    let tail = r#""}"#;
    let pad = bytes.saturating_sub(head.len() + tail.len());
    let mut s = String::with_capacity(head.len() + pad + tail.len());
    s.push_str(head);
    s.extend(std::iter::repeat_n('x', pad));
    s.push_str(tail);
    bytes::Bytes::from(s)
}
