//! Page figures: every page of the console's menu, and an identity's and a role's page, loaded
//! by `wrk` (the HTTP load generator `make bench` installs from Debian) as a signed-in
//! administrator, on a demo ledger and on the benchmark ledger.

use crate::domain::actor::{Actor, ConsoleRole};
use crate::service;
use crate::store::Store;
use std::time::Duration;

/// How a page was measured and what it must reach.
pub struct Load {
    /// Concurrent connections (`wrk -c`).
    pub connections: u32,
    pub seconds: u32,
    /// Printed beside the figures.
    pub target: &'static str,
}

/// One page's figures, from `wrk --latency`.
struct PageFigures {
    requests_per_second: f64,
    p50: Duration,
    p99: Duration,
    /// Answers other than 2xx/3xx (a page that fails is not fast).
    failed: u64,
}

/// A demo ledger (`nhidb seed-demo --sources`, as `make run` makes) in a scratch SQLite file,
/// served and loaded with `load`.
pub async fn demo_figures(site_root: &str, load: &Load) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("nhidb-bench-pages-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let url = format!("sqlite://{}", dir.join("demo.sqlite").display());
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    for args in [&["migrate"][..], &["seed-demo", "--sources", "--quiet"][..]] {
        let status =
            tokio::process::Command::new(&exe).args(args).env("NHIDB_DATABASE_URL", &url).env("NHIDB_LOG", "warn").status().await.map_err(|e| e.to_string())?;
        if !status.success() {
            return Err(format!("nhidb {} failed on the demo ledger", args.join(" ")));
        }
    }
    let result = figures(&url, site_root, "demo ledger", load).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// Every page of the menu and the two detail pages on the ledger at `database_url`.
pub async fn figures(database_url: &str, site_root: &str, ledger: &str, load: &Load) -> Result<(), String> {
    if std::process::Command::new("wrk").arg("--version").output().is_err() {
        println!("page figures: wrk is not installed (make bench installs it)");
        return Ok(());
    }
    let store = Store::connect(database_url, 2).await?;
    let cookie = session(&store).await?;
    let (identity, role) = examples(&store).await?;
    let server = super::bench::Server::start(database_url, site_root).await?;
    let mut pages: Vec<String> = crate::ui::MENU.iter().flat_map(|(_, links)| links.iter().map(|(href, _)| (*href).to_owned())).collect();
    pages.push(format!("/identities/{identity}"));
    pages.push(format!("/roles/{role}"));
    println!(
        "{:<28} {:>10} {:>10} {:>10}   (console pages, {ledger}, signed in as an admin; wrk -c{} for {} s each; {})",
        "page", "req/s", "p50", "p99", load.connections, load.seconds, load.target
    );
    for page in pages {
        let label = page.replace(&identity, "{id}").replace(&role, "{id}");
        match wrk(&server.addr, &page, &cookie, load) {
            Ok(f) => println!(
                "{label:<28} {:>10.0} {:>10} {:>10}{}",
                f.requests_per_second,
                super::bench::ms(f.p50),
                super::bench::ms(f.p99),
                if f.failed > 0 { format!("   {} answers failed", f.failed) } else { String::new() }
            ),
            Err(e) => println!("{label:<28} {e}"),
        }
    }
    Ok(())
}

/// A session cookie of a new administrator (the benchmark ledger has no operators of its own).
async fn session(store: &Store) -> Result<String, String> {
    let email = format!("bench-{}@example.com", ulid::Ulid::new().to_string().to_lowercase());
    let password = "a long enough bench password";
    let input = crate::domain::operator::OperatorInput { name: "Bench".into(), email: email.clone(), roles: vec![ConsoleRole::Admin.as_str().to_owned()] };
    service::operators::create(store, &Actor::system("bench"), &input, Some(password)).await.map_err(|e| e.to_string())?;
    let client = service::auth::Client { addr: Some("127.0.0.1".into()), user_agent: Some("nhidb bench".into()) };
    let (cookie, _) = service::auth::sign_in(store, &Default::default(), &email, password, &client).await.map_err(|e| e.to_string())?;
    Ok(cookie.value)
}

/// An identity and a role whose pages are measured: the most held role, and an identity
/// holding it (the heaviest of each page on a generated ledger).
async fn examples(store: &Store) -> Result<(String, String), String> {
    let mut conn = store.read().await.map_err(|e| e.to_string())?;
    let (role, identity) =
        crate::store::bench::busiest_role_and_holder(&mut conn).await.map_err(|e| e.to_string())?.ok_or("no grant on this ledger to measure pages with")?;
    Ok((identity, role))
}

/// Runs `wrk` on one page and reads its summary.
fn wrk(addr: &str, page: &str, cookie: &str, load: &Load) -> Result<PageFigures, String> {
    let output = std::process::Command::new("wrk")
        // wrk wants at least one connection per thread.
        .args([&format!("-t{}", load.connections.min(2)), &format!("-c{}", load.connections), &format!("-d{}s", load.seconds), "--latency", "--timeout", "10s"])
        .args(["-H", &format!("Cookie: __Host-nhidb_session={cookie}"), "-H", "Accept-Encoding: br, gzip"])
        .arg(format!("http://{addr}{page}"))
        .output()
        .map_err(|e| format!("wrk did not run: {e}"))?;
    let text = String::from_utf8_lossy(&output.stdout);
    let field = |prefix: &str| text.lines().map(str::trim).find_map(|l| l.strip_prefix(prefix).map(|v| v.trim().to_owned()));
    let requests_per_second = field("Requests/sec:").and_then(|v| v.parse().ok()).ok_or_else(|| format!("wrk printed no figures: {text}"))?;
    let latency = |q: &str| field(q).and_then(|v| duration(&v)).ok_or_else(|| format!("wrk printed no {q} latency"));
    let failed = field("Non-2xx or 3xx responses:").and_then(|v| v.parse().ok()).unwrap_or(0);
    Ok(PageFigures { requests_per_second, p50: latency("50%")?, p99: latency("99%")?, failed })
}

/// A `wrk` latency such as `812.00us`, `1.23ms` or `2.01s`.
fn duration(text: &str) -> Option<Duration> {
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let seconds = match unit {
        "us" => number / 1e6,
        "ms" => number / 1e3,
        "s" => number,
        "m" => number * 60.0,
        _ => return None,
    };
    Some(Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::duration;
    use std::time::Duration;

    #[test]
    fn reads_wrk_latencies() {
        assert_eq!(duration("812.00us"), Some(Duration::from_micros(812)));
        assert_eq!(duration("1.50ms"), Some(Duration::from_micros(1500)));
        assert_eq!(duration("2.00s"), Some(Duration::from_secs(2)));
        assert_eq!(duration("fast"), None);
    }
}
