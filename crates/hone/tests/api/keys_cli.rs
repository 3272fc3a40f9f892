//! Keys as an operator meets them: the first start's admin key (printed once, kept in a 0600
//! file beside the database), `hone keys create|list|revoke` against the database, and no key
//! in clear in the log or the database files afterwards.

use std::path::Path;
use std::process::{Output, Stdio};
use std::time::Duration;

use serde_json::json;
use tokio::process::{Child, Command};

use crate::helpers::client_with;

fn hone_cli(args: &[&str], db: &str) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_hone"))
        .args(args)
        .args(["--database-url", db])
        .env("HONE_LOG", "warn")
        .output()
        .expect("run hone")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `hone serve` on `db` with debug logs into `log`, stdout into `out`, on a port the system
/// picks (a port picked beforehand may be taken by another test's server meanwhile).
fn serve(db: &str, out: &Path, log: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_hone"))
        .args(["serve", "--database-url", db])
        .args(["--listen", "127.0.0.1:0"])
        .args(["--openai-base-url", "http://127.0.0.1:9/v1"])
        .args(["--shutdown-grace-s", "0"])
        .env("OPENAI_API_KEY", "sk-test")
        .env("HONE_LOG", "debug")
        .stdout(std::fs::File::create(out).expect("out file"))
        .stderr(std::fs::File::create(log).expect("log file"))
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start hone serve")
}

/// Waits until the `hone serve` logging into `log` listens and answers: its base URL, from
/// its `listening` log line.
async fn wait_up(log: &Path) -> String {
    let http = reqwest::Client::new();
    for _ in 0..200 {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if let Some(base) = listening(&text)
            && http.get(format!("{base}/healthz")).send().await.is_ok()
        {
            return base;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("hone serve did not start");
}

/// The address of the last `listening` line of a log.
fn listening(log: &str) -> Option<String> {
    let line = log.lines().rev().find(|l| l.contains("listening"))?;
    let at = line.find("127.0.0.1:")? + "127.0.0.1:".len();
    let port: String = line[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    (!port.is_empty()).then(|| format!("http://127.0.0.1:{port}"))
}

async fn stop(mut child: Child) {
    if let Some(pid) = child.id() {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(pid).expect("pid"));
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
    }
    let _ = tokio::time::timeout(Duration::from_secs(10), child.wait()).await;
}

/// Every byte of the files in `dir` whose name starts with `hone.db`.
fn database_bytes(dir: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(dir).expect("dir").flatten() {
        if entry.file_name().to_string_lossy().starts_with("hone.db") {
            all.extend(std::fs::read(entry.path()).unwrap_or_default());
        }
    }
    all
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_start_prints_an_admin_key_once_and_keeps_it_in_a_private_file() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let db = format!("sqlite://{}", dir.path().join("hone.db").display());
    let (out, log) = (dir.path().join("out"), dir.path().join("log"));
    let first = serve(&db, &out, &log);
    let base = wait_up(&log).await;
    let key_file = dir.path().join("hone.key");
    let key = std::fs::read_to_string(&key_file).expect("key file");
    let key = key.trim();
    assert_eq!(hone_domain::apikey::check(key), Ok(()));
    let mode = std::fs::metadata(&key_file)
        .expect("meta")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "only the owner reads the key file");
    let printed = std::fs::read_to_string(&out).expect("stdout");
    assert!(printed.contains(key), "the key is printed once: {printed}");
    let reply = client_with(key)
        .get(format!("{base}/v1/keys"))
        .send()
        .await
        .expect("list keys");
    assert_eq!(reply.status().as_u16(), 200);
    stop(first).await;

    // The second start finds a key: it makes none and prints none.
    let second = serve(&db, &out, &log);
    let base = wait_up(&log).await;
    let printed = std::fs::read_to_string(&out).expect("stdout");
    assert!(!printed.contains("hone_"), "{printed}");
    assert_eq!(std::fs::read_to_string(&key_file).expect("key").trim(), key);
    let reply = client_with(key)
        .get(format!("{base}/v1/jobs"))
        .send()
        .await
        .expect("list jobs");
    assert_eq!(reply.status().as_u16(), 200);
    stop(second).await;
    assert!(!contains(&database_bytes(dir.path()), key));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_made_by_the_cli_work_are_revoked_by_it_and_never_appear_in_clear() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = format!("sqlite://{}", dir.path().join("hone.db").display());

    // Bad input is refused, naming the flag, and stores nothing.
    for (flag, args) in [
        (
            "--scopes",
            ["--tenant", "acme", "--scopes", "jobs:delete", "--name", "x"],
        ),
        (
            "--tenant",
            ["--tenant", "Acme Corp", "--scopes", "admin", "--name", "x"],
        ),
        (
            "--name",
            ["--tenant", "acme", "--scopes", "admin", "--name", "a\u{7}b"],
        ),
    ] {
        let mut argv = vec!["keys", "create"];
        argv.extend_from_slice(&args);
        let out = hone_cli(&argv, &db);
        assert!(!out.status.success(), "{flag}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(flag), "{flag}: {err}");
    }
    assert_eq!(stdout(&hone_cli(&["keys", "list"], &db)), "");

    let out = hone_cli(
        &[
            "keys",
            "create",
            "--tenant",
            "acme",
            "--scopes",
            "jobs:read,jobs:write",
            "--name",
            "ci 🚀",
            "--expires-in",
            "90d",
        ],
        &db,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = stdout(&out);
    let key = text.lines().last().expect("last line").to_owned();
    assert_eq!(hone_domain::apikey::check(&key), Ok(()), "{text}");

    let (out_file, log) = (dir.path().join("out"), dir.path().join("log"));
    let server = serve(&db, &out_file, &log);
    let base = wait_up(&log).await;
    let http = client_with(&key);
    let spec = json!({"task": "t", "tests": "assert True", "critic": null});
    let reply = http
        .post(format!("{base}/v1/jobs"))
        .json(&spec)
        .send()
        .await
        .expect("submit");
    assert_eq!(reply.status().as_u16(), 202);
    let reply = http
        .get(format!("{base}/v1/keys"))
        .send()
        .await
        .expect("keys");
    assert_eq!(reply.status().as_u16(), 403, "no admin scope");
    // The last character changed (to `A`, or `B` when it is an `A` already).
    let other = if key.ends_with('A') { 'B' } else { 'A' };
    let mistyped = format!("{}{other}", &key[..key.len() - 1]);
    let reply = client_with(&mistyped)
        .get(format!("{base}/v1/jobs"))
        .send()
        .await
        .expect("list");
    assert_eq!(reply.status().as_u16(), 401);

    let listed = stdout(&hone_cli(&["keys", "list", "--tenant", "acme"], &db));
    assert!(listed.contains(&key[..11]), "{listed}");
    assert!(!listed.contains(&key), "{listed}");
    let id = listed.split_whitespace().next().expect("id").to_owned();
    let out = hone_cli(&["keys", "revoke", &id], &db);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The server trusts a key it checked for at most 5 s.
    let mut status = 0;
    for _ in 0..80 {
        status = http
            .get(format!("{base}/v1/jobs"))
            .send()
            .await
            .expect("list")
            .status()
            .as_u16();
        if status == 401 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, 401, "a revoked key stops working within 5 s");
    stop(server).await;

    let log = std::fs::read(&log).expect("log");
    assert!(contains(&log, "listening"), "the log was written");
    for secret in [&key, &mistyped] {
        assert!(!contains(&log, secret), "a key in the log");
        assert!(
            !contains(&database_bytes(dir.path()), secret),
            "a key in the database"
        );
    }
}

#[test]
fn tenants_quotas_are_set_and_listed_by_the_cli() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = format!("sqlite://{}", dir.path().join("hone.db").display());
    let set = hone_cli(
        &[
            "tenants",
            "set-quota",
            "default",
            "--queued-jobs",
            "5",
            "--tokens-per-day",
            "900",
        ],
        &db,
    );
    assert!(
        set.status.success(),
        "{}",
        String::from_utf8_lossy(&set.stderr)
    );
    assert_eq!(
        stdout(&set).trim(),
        "default  queued 0 of 5  tokens today 0 of 900  spent today $0.000000 of none"
    );
    // A flag left out keeps its value; `none` removes the quota.
    let set = hone_cli(
        &[
            "tenants",
            "set-quota",
            "default",
            "--tokens-per-day",
            "none",
            "--cost-usd-per-day",
            "2.50",
        ],
        &db,
    );
    assert_eq!(
        stdout(&set).trim(),
        "default  queued 0 of 5  tokens today 0 of none  spent today $0.000000 of $2.500000"
    );
    assert!(stdout(&hone_cli(&["tenants", "list"], &db)).contains("queued 0 of 5"));
    for bad in [
        vec!["tenants", "set-quota", "default", "--queued-jobs", "-1"],
        vec!["tenants", "set-quota", "default", "--queued-jobs", "1e3"],
        vec![
            "tenants",
            "set-quota",
            "default",
            "--cost-usd-per-day",
            "-1",
        ],
        vec![
            "tenants",
            "set-quota",
            "default",
            "--cost-usd-per-day",
            "NaN",
        ],
        vec!["tenants", "set-quota", "nobody", "--queued-jobs", "1"],
        vec!["tenants", "set-quota", "Bad Name", "--queued-jobs", "1"],
    ] {
        let out = hone_cli(&bad, &db);
        assert!(!out.status.success(), "{bad:?}");
    }
}
