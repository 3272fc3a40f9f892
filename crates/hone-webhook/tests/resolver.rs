//! The webhook client's resolver: a name that resolves to a private, loopback or link-local
//! address is refused before any connection, and an allowed name connects to exactly the
//! address that was checked.

#![expect(clippy::expect_used, reason = "test code: a failure is a failed test")]

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use hone_webhook::TargetPolicy;
use hone_webhook::target::{GuardedResolver, Lookup, refusal};

/// Answers from a table, as a DNS server controlled by the job's author would.
struct Table(HashMap<&'static str, Vec<IpAddr>>);

impl Lookup for Table {
    fn lookup(
        &self,
        host: String,
    ) -> std::pin::Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send>> {
        let found = self.0.get(host.as_str()).cloned().unwrap_or_default();
        Box::pin(async move { Ok(found) })
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("ip")
}

fn client(allow_private: bool) -> reqwest::Client {
    let table = Table(HashMap::from([
        ("internal.test", vec![ip("10.0.0.1")]),
        ("metadata.test", vec![ip("169.254.169.254")]),
        ("mixed.test", vec![ip("93.184.215.14"), ip("127.0.0.1")]),
        ("receiver.test", vec![ip("127.0.0.1")]),
    ]));
    let resolver = GuardedResolver::new(TargetPolicy { allow_private }, Arc::new(table));
    reqwest::Client::builder()
        .no_proxy()
        .dns_resolver(Arc::new(resolver))
        .build()
        .expect("client")
}

#[tokio::test]
async fn names_of_private_addresses_are_refused_before_connecting() {
    let client = client(false);
    for (name, kind) in [
        ("internal.test", "private"),
        ("metadata.test", "link-local"),
        ("mixed.test", "loopback"),
        ("receiver.test", "loopback"),
    ] {
        let err = client
            .get(format!("http://{name}/hook"))
            .send()
            .await
            .expect_err("refused");
        let refused = refusal(&err).expect("a refusal in the error");
        assert_eq!(refused.kind, kind, "{name}");
        assert_eq!(refused.host, name);
    }
}

#[tokio::test]
async fn an_allowed_name_connects_to_the_checked_address() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        if let Ok((mut sock, _)) = listener.accept().await {
            let mut buf = [0u8; 1024];
            let _ = sock.read(&mut buf).await;
            let _ = sock
                .write_all(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
                .await;
        }
    });
    let resp = client(true)
        .get(format!("http://receiver.test:{port}/hook"))
        .send()
        .await
        .expect("allowed");
    assert_eq!(resp.status().as_u16(), 204);
}
