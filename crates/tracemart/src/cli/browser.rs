//! `tracemart load --browser N`: N shoppers in headless Chromium, driven over the Chrome
//! DevTools Protocol, so the storefront's own telemetry (page loads, clicks, fetches, web
//! vitals) flows without a person at the keyboard. Each shopper has a browser context of its
//! own (its own session, cart and currency) in one Chromium process; clicks are real input
//! events, so the page's user-interaction spans and web vitals are what a person would make.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use futures::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio::io::AsyncBufReadExt as _;
use tokio::sync::{Mutex, oneshot};
use tokio_tungstenite::tungstenite::Message;

/// Where a Chromium or Chrome is looked for when `CHROMIUM` names none.
const CANDIDATES: &[&str] = &[
    "/usr/bin/chromium",
    "/usr/bin/chromium-browser",
    "/usr/bin/google-chrome",
    "/usr/bin/google-chrome-stable",
    "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
    "/Applications/Chromium.app/Contents/MacOS/Chromium",
];

/// The page has finished rendering a view (it marks the main element busy while it loads one).
const RENDERED: &str = "document.getElementById('app')?.getAttribute('aria-busy') === 'false'";
/// The home page is shown: products, and not a product page's recommendations.
const HOME_SHOWN: &str = "document.getElementById('app')?.getAttribute('aria-busy') === 'false' \
    && !document.querySelector('[data-testid=\"product-detail\"]') \
    && document.querySelector('[data-testid=\"product-card\"]')";
/// A product page is shown.
const PRODUCT_SHOWN: &str = "document.getElementById('app')?.getAttribute('aria-busy') === 'false' \
    && document.querySelector('[data-testid=\"product-detail\"]')";

/// How long one step (a page, a click's effect) may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(20);

/// The browser to run: `CHROMIUM` when set, else the first of [`CANDIDATES`] present.
pub fn find_chromium(chromium: Option<&Path>) -> anyhow::Result<PathBuf> {
    find_in(chromium, CANDIDATES)
}

fn find_in(chromium: Option<&Path>, candidates: &[&str]) -> anyhow::Result<PathBuf> {
    if let Some(p) = chromium {
        if p.is_file() {
            return Ok(p.to_owned());
        }
        bail!(
            "CHROMIUM={} is not a file: point it at a Chromium or Chrome binary",
            p.display()
        );
    }
    candidates
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .context(
            "--browser needs Chromium and none was found: install it (Debian/Ubuntu: \
             apt-get install chromium) or set CHROMIUM=/path/to/chromium",
        )
}

#[derive(Debug, Default)]
pub struct Counts {
    pub journeys: AtomicU64,
    pub page_views: AtomicU64,
    pub added: AtomicU64,
    pub checkouts: AtomicU64,
    pub orders: AtomicU64,
    /// Checkouts that ended on the shop's error page (a scenario, a declined card).
    pub failed_checkouts: AtomicU64,
    /// Journeys that broke off (a page that did not come, a browser error).
    pub broken: AtomicU64,
}

pub struct Options {
    pub target: String,
    pub sessions: usize,
    pub until: Until,
    pub think_ms: (u64, u64),
    pub seed: u64,
    pub chromium: PathBuf,
}

#[derive(Clone, Copy)]
pub enum Until {
    Journeys(u64),
    Deadline(Instant),
}

/// Runs the shoppers until the bound is reached; their counts.
pub async fn run(o: Options) -> anyhow::Result<Arc<Counts>> {
    let profile = tempdir()?;
    let mut args = vec![
        "--headless=new".to_owned(),
        "--disable-gpu".to_owned(),
        "--no-first-run".to_owned(),
        "--no-default-browser-check".to_owned(),
        "--disable-background-networking".to_owned(),
        "--disable-extensions".to_owned(),
        "--mute-audio".to_owned(),
        "--remote-debugging-port=0".to_owned(),
        format!("--user-data-dir={}", profile.display()),
    ];
    // Chromium's sandbox refuses to run as root (in a container, typically).
    if running_as_root() {
        args.push("--no-sandbox".to_owned());
    }
    args.push("about:blank".to_owned());
    let mut child = tokio::process::Command::new(&o.chromium)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {}", o.chromium.display()))?;
    let stderr = child.stderr.take().context("Chromium's stderr")?;
    let ws_url = tokio::time::timeout(Duration::from_secs(20), async {
        let mut lines = tokio::io::BufReader::new(stderr).lines();
        while let Some(line) = lines.next_line().await? {
            if let Some(at) = line.find("ws://") {
                // Keep reading (and dropping) what it writes, so it never blocks on a full pipe.
                tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
                return Ok::<_, anyhow::Error>(line[at..].trim().to_owned());
            }
        }
        bail!("Chromium exited before it listened for DevTools")
    })
    .await
    .context("Chromium did not start within 20 s")??;
    let cdp = Cdp::connect(&ws_url).await?;
    let counts = Arc::new(Counts::default());
    let started = Arc::new(AtomicU64::new(0));
    let mut shoppers = Vec::new();
    for i in 0..o.sessions {
        let (cdp, counts, target) = (cdp.clone(), counts.clone(), o.target.clone());
        let started = started.clone();
        let (until, think, seed) = (o.until, o.think_ms, o.seed.wrapping_add(i as u64));
        shoppers.push(tokio::spawn(async move {
            let mut shopper = match Shopper::open(cdp, &target, seed, think).await {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("browser shopper {i}: {e:#}");
                    return;
                }
            };
            loop {
                let done = match until {
                    Until::Journeys(n) => started.fetch_add(1, Ordering::Relaxed) >= n,
                    Until::Deadline(at) => Instant::now() >= at,
                };
                if done {
                    break;
                }
                if let Err(e) = shopper.journey(&counts).await {
                    counts.broken.fetch_add(1, Ordering::Relaxed);
                    eprintln!("browser shopper {i}: journey broke off: {e:#}");
                }
                counts.journeys.fetch_add(1, Ordering::Relaxed);
            }
            shopper.close().await;
        }));
    }
    for s in shoppers {
        let _ = s.await;
    }
    let _ = cdp.call(None, "Browser.close", json!({})).await;
    let _ = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
    let _ = child.kill().await;
    let _ = std::fs::remove_dir_all(&profile);
    Ok(counts)
}

fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

fn tempdir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "tracemart-browser-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    ));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Result<Value, String>>>>>;

/// One DevTools connection: commands with ids, answers matched back; events are dropped.
#[derive(Clone)]
struct Cdp {
    out: Arc<
        Mutex<
            futures::stream::SplitSink<
                tokio_tungstenite::WebSocketStream<
                    tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
                >,
                Message,
            >,
        >,
    >,
    pending: Pending,
    next: Arc<AtomicU64>,
}

impl Cdp {
    async fn connect(url: &str) -> anyhow::Result<Self> {
        let (ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .with_context(|| format!("connecting to Chromium's DevTools at {url}"))?;
        let (out, mut incoming) = ws.split();
        let pending: Pending = Arc::default();
        let answers = pending.clone();
        tokio::spawn(async move {
            while let Some(Ok(msg)) = incoming.next().await {
                let Message::Text(text) = msg else { continue };
                let Ok(v) = serde_json::from_str::<Value>(&text) else {
                    continue;
                };
                let Some(id) = v["id"].as_u64() else { continue };
                if let Some(tx) = answers.lock().await.remove(&id) {
                    let answer = match v.get("error") {
                        Some(e) => Err(e["message"].as_str().unwrap_or("error").to_owned()),
                        None => Ok(v["result"].clone()),
                    };
                    let _ = tx.send(answer);
                }
            }
            // The browser went away: every command still waiting fails.
            answers.lock().await.clear();
        });
        Ok(Self {
            out: Arc::new(Mutex::new(out)),
            pending,
            next: Arc::new(AtomicU64::new(1)),
        })
    }

    async fn call(
        &self,
        session: Option<&str>,
        method: &str,
        params: Value,
    ) -> anyhow::Result<Value> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.pending.lock().await.insert(id, tx);
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        self.out
            .lock()
            .await
            .send(Message::Text(msg.to_string().into()))
            .await
            .context("sending to Chromium")?;
        match tokio::time::timeout(STEP_TIMEOUT, rx).await {
            Ok(Ok(Ok(v))) => Ok(v),
            Ok(Ok(Err(e))) => bail!("{method}: {e}"),
            Ok(Err(_)) => bail!("{method}: Chromium closed the connection"),
            Err(_) => {
                self.pending.lock().await.remove(&id);
                bail!("{method}: no answer within {STEP_TIMEOUT:?}")
            }
        }
    }
}

/// One shopper: a browser context and its page.
struct Shopper {
    cdp: Cdp,
    context: String,
    session: String,
    target: String,
    rng: u64,
    think_ms: (u64, u64),
    visits: u64,
}

impl Shopper {
    async fn open(cdp: Cdp, target: &str, seed: u64, think_ms: (u64, u64)) -> anyhow::Result<Self> {
        let context = cdp
            .call(None, "Target.createBrowserContext", json!({}))
            .await?["browserContextId"]
            .as_str()
            .context("a browser context id")?
            .to_owned();
        let page = cdp
            .call(
                None,
                "Target.createTarget",
                json!({"url": "about:blank", "browserContextId": context}),
            )
            .await?["targetId"]
            .as_str()
            .context("a target id")?
            .to_owned();
        let session = cdp
            .call(
                None,
                "Target.attachToTarget",
                json!({"targetId": page, "flatten": true}),
            )
            .await?["sessionId"]
            .as_str()
            .context("a session id")?
            .to_owned();
        cdp.call(
            Some(&session),
            "Emulation.setDeviceMetricsOverride",
            json!({"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": false}),
        )
        .await?;
        Ok(Self {
            cdp,
            context,
            session,
            target: target.trim_end_matches('/').to_owned(),
            rng: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
            think_ms,
            visits: 0,
        })
    }

    fn random(&mut self, below: u64) -> u64 {
        // xorshift64*
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D) % below.max(1)
    }

    async fn think(&mut self) {
        let (min, max) = self.think_ms;
        let ms = min + self.random(max - min + 1);
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }

    async fn eval(&self, expression: &str) -> anyhow::Result<Value> {
        let r = self
            .cdp
            .call(
                Some(&self.session),
                "Runtime.evaluate",
                json!({"expression": expression, "awaitPromise": true, "returnByValue": true}),
            )
            .await?;
        if let Some(e) = r.get("exceptionDetails") {
            bail!(
                "in the page: {}",
                e["exception"]["description"]
                    .as_str()
                    .unwrap_or("an exception")
            );
        }
        Ok(r["result"]["value"].clone())
    }

    /// Waits until `condition` (a JavaScript expression) is true in the page.
    async fn wait_for(&self, what: &str, condition: &str) -> anyhow::Result<()> {
        let script = format!(
            "new Promise((ok) => {{ const end = Date.now() + {ms}; const tick = () => {{ \
             let v = false; try {{ v = !!({condition}); }} catch (e) {{}} \
             if (v || Date.now() > end) ok(v); else setTimeout(tick, 100); }}; tick(); }})",
            ms = STEP_TIMEOUT.as_millis() - 2000
        );
        match self.eval(&script).await? {
            Value::Bool(true) => Ok(()),
            _ => bail!("{what} did not come"),
        }
    }

    /// A real click (mouse events at the element's centre) on the first match of `selector`.
    async fn click(&self, selector: &str) -> anyhow::Result<()> {
        self.click_nth(selector, 0).await
    }

    /// The same on the `n`th match.
    async fn click_nth(&self, selector: &str, n: u64) -> anyhow::Result<()> {
        let at = self
            .eval(&format!(
                "(() => {{ const e = document.querySelectorAll({sel})[{n}]; if (!e) return null; \
                 e.scrollIntoView({{block: 'center'}}); const r = e.getBoundingClientRect(); \
                 return [r.x + r.width / 2, r.y + r.height / 2]; }})()",
                sel = json!(selector)
            ))
            .await?;
        let (Some(x), Some(y)) = (at[0].as_f64(), at[1].as_f64()) else {
            bail!("nothing to click at {selector}");
        };
        for kind in ["mouseMoved", "mousePressed", "mouseReleased"] {
            self.cdp
                .call(
                    Some(&self.session),
                    "Input.dispatchMouseEvent",
                    json!({"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1}),
                )
                .await?;
        }
        Ok(())
    }

    /// Types into a form field as a person would (focus, then the text as input).
    async fn fill(&self, selector: &str, text: &str) -> anyhow::Result<()> {
        self.eval(&format!(
            "(() => {{ const e = document.querySelector({sel}); e.focus(); e.select?.(); }})()",
            sel = json!(selector)
        ))
        .await?;
        self.cdp
            .call(
                Some(&self.session),
                "Input.insertText",
                json!({"text": text}),
            )
            .await?;
        Ok(())
    }

    async fn cart_count(&self) -> anyhow::Result<u64> {
        let v = self
            .eval(
                "Number(document.querySelector('[data-testid=\"cart-count\"]')?.textContent || 0)",
            )
            .await?;
        Ok(v.as_u64().unwrap_or(0))
    }

    /// From the home page, a product's page. The page re-renders now and then (the cart
    /// summary, the live config), so a card that went away is looked for again.
    async fn open_a_product(&mut self) -> anyhow::Result<()> {
        let mut last = None;
        for _ in 0..3 {
            self.wait_for("the home page", HOME_SHOWN).await?;
            let cards = self
                .eval("document.querySelectorAll('[data-testid=\"product-card\"] a').length")
                .await?
                .as_u64()
                .unwrap_or(0);
            let n = self.random(cards.max(1));
            match self.click_nth("[data-testid=\"product-card\"] a", n).await {
                Ok(()) => match self.wait_for("the product page", PRODUCT_SHOWN).await {
                    Ok(()) => return Ok(()),
                    Err(e) => last = Some(e),
                },
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Err(last.unwrap_or_else(|| anyhow::anyhow!("no product page")))
    }

    /// Home page, a product or two, and for some a checkout with a test card.
    async fn journey(&mut self, counts: &Counts) -> anyhow::Result<()> {
        // A new visit each journey (a query the page ignores makes it a document load, not a
        // hash change): its own documentLoad span and web vitals.
        self.visits += 1;
        let url = format!("{}/?visit={}#/", self.target, self.visits);
        self.cdp
            .call(Some(&self.session), "Page.navigate", json!({"url": url}))
            .await?;
        self.wait_for("the home page", HOME_SHOWN).await?;
        counts.page_views.fetch_add(1, Ordering::Relaxed);
        self.think().await;
        let products = 1 + self.random(2);
        let mut added = false;
        for _ in 0..products {
            self.open_a_product().await?;
            counts.page_views.fetch_add(1, Ordering::Relaxed);
            self.think().await;
            if self.random(10) < 7 {
                let before = self.cart_count().await?;
                self.click("[data-testid=\"add-to-cart\"]").await?;
                self.wait_for(
                    "the cart to grow",
                    &format!("Number(document.querySelector('[data-testid=\"cart-count\"]')?.textContent || 0) > {before}"),
                )
                .await?;
                counts.added.fetch_add(1, Ordering::Relaxed);
                added = true;
                self.think().await;
            }
            self.click("a[href=\"#/\"]").await?;
            self.wait_for("the home page", HOME_SHOWN).await?;
        }
        if !added || self.random(10) >= 6 {
            return self.flush().await;
        }
        self.click("[data-testid=\"cart-link\"]").await?;
        self.wait_for(
            "the cart",
            &format!("{RENDERED} && document.querySelector('[data-testid=\"go-to-checkout\"]')"),
        )
        .await?;
        self.think().await;
        self.click("[data-testid=\"go-to-checkout\"]").await?;
        self.wait_for(
            "the checkout form",
            &format!("{RENDERED} && document.querySelector('[data-testid=\"checkout-form\"]')"),
        )
        .await?;
        self.fill(
            "[data-testid=\"checkout-email\"]",
            "shopper@tracemart.example",
        )
        .await?;
        self.fill(
            "[data-testid=\"checkout-card-number\"]",
            "4242 4242 4242 4242",
        )
        .await?;
        self.fill("[data-testid=\"checkout-cvv\"]", "123").await?;
        self.think().await;
        self.click("[data-testid=\"checkout-submit\"]").await?;
        counts.checkouts.fetch_add(1, Ordering::Relaxed);
        self.wait_for(
            "the confirmation or the error page",
            "document.querySelector('[data-testid=\"confirmation\"], [data-testid=\"error-page\"]')",
        )
        .await?;
        let ordered = self
            .eval("!!document.querySelector('[data-testid=\"confirmation\"]')")
            .await?;
        if ordered == Value::Bool(true) {
            counts.orders.fetch_add(1, Ordering::Relaxed);
        } else {
            counts.failed_checkouts.fetch_add(1, Ordering::Relaxed);
        }
        self.think().await;
        self.flush().await
    }

    /// Hands what the page has buffered to its exporter (the page flushes on `pagehide`).
    async fn flush(&self) -> anyhow::Result<()> {
        self.eval("dispatchEvent(new Event('pagehide')), true")
            .await?;
        Ok(())
    }

    async fn close(self) {
        let _ = self.flush().await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let _ = self
            .cdp
            .call(
                None,
                "Target.disposeBrowserContext",
                json!({"browserContextId": self.context}),
            )
            .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_browser_is_named_with_how_to_install_one() {
        let e = find_chromium(Some(Path::new("/nonexistent/chromium"))).expect_err("missing");
        assert!(
            e.to_string().contains("CHROMIUM=/nonexistent/chromium"),
            "{e}"
        );
        let e = find_in(None, &["/nonexistent/chrome"]).expect_err("none installed");
        assert!(
            format!("{e:#}").contains("apt-get install chromium"),
            "{e:#}"
        );
        assert!(format!("{e:#}").contains("CHROMIUM="), "{e:#}");
    }
}
