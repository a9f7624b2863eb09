//! Headless Chromium through chromedriver, for the tests that drive a real browser.
//!
//! Needs `chromedriver` and `/usr/bin/chromium` (Debian: `apt-get install chromium
//! chromium-driver`). Without them the tests fail: a silent pass would hide a broken page.

use fantoccini::{Client, ClientBuilder};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER_CANDIDATES: [&str; 2] = ["/usr/bin/chromedriver", "/usr/local/bin/chromedriver"];
const CHROMEDRIVER_START_TIMEOUT: Duration = Duration::from_secs(20);
pub const PAGE_TIMEOUT: Duration = Duration::from_secs(20);
/// A common laptop screen.
pub const WINDOW_WIDTH: u32 = 1366;
pub const WINDOW_HEIGHT: u32 = 900;

/// The chromedriver child process, killed when the test ends, also when it fails.
pub struct Chromedriver {
    child: Child,
    port: u16,
}

impl Chromedriver {
    pub fn start() -> Chromedriver {
        let binary = CHROMEDRIVER_CANDIDATES
            .iter()
            .copied()
            .find(|path| Path::new(path).exists())
            .unwrap_or_else(|| {
                panic!(
                    "chromedriver is not installed (looked in {CHROMEDRIVER_CANDIDATES:?}); \
                     the browser test needs it: apt-get install -y chromium chromium-driver"
                )
            });
        assert!(
            Path::new(CHROMIUM).exists(),
            "{CHROMIUM} is not installed; the browser test needs it: \
             apt-get install -y chromium chromium-driver"
        );
        let port = free_port();
        let child = Command::new(binary)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("chromedriver at {binary} did not start: {error}"));
        let driver = Chromedriver { child, port };
        let started = Instant::now();
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        while TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_err() {
            assert!(
                started.elapsed() < CHROMEDRIVER_START_TIMEOUT,
                "chromedriver did not listen on port {port} within {CHROMEDRIVER_START_TIMEOUT:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        driver
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port for chromedriver")
}

pub async fn connect(driver: &Chromedriver) -> Client {
    // Two TLS crypto providers are linked in (see Cargo.toml); rustls needs one chosen.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": CHROMIUM,
            "args": [
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-dev-shm-usage",
                format!("--window-size={WINDOW_WIDTH},{WINDOW_HEIGHT}"),
                // Headless Chromium calls itself HeadlessChrome, which the bot list flags (its
                // clicks would never be credited): browse as a visitor's desktop Chrome.
                format!("--user-agent={}", super::BROWSER_UA),
            ],
        }),
    );
    ClientBuilder::rustls()
        .expect("a TLS connector for the WebDriver client")
        .capabilities(capabilities)
        .connect(&driver.url())
        .await
        .expect("a Chromium session through chromedriver")
}
