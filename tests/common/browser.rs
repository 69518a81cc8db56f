//! One real headless Chromium per test binary, driven over WebDriver.
//!
//! Chromium is Debian's `chromium`, driven by Debian's `chromedriver` (built
//! for exactly that browser version). `CHROMIUM` and `CHROMEDRIVER` name other
//! binaries. The browser starts with fake camera and microphone and with
//! permission prompts answered "allow".
//!
//! Tests in one binary take turns ([`browser`] returns a turn): WebDriver has
//! one "current window" per session, so two tests driving windows at once
//! would step on each other. A test opens a window per person ([`Page`]).
//!
//! Every page gets `page_probe.js` before its own scripts, which records the
//! peer connections and tracks the page creates, so tests can read `getStats()`
//! and track states without knowing the page's variable names.

use std::future::Future;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{LazyLock, OnceLock};
use std::time::{Duration, Instant};

use fantoccini::wd::{
    Capabilities, TimeoutConfiguration, WebDriverCompatibleCommand, WindowHandle,
};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value as Json};
use tokio::sync::{Mutex, MutexGuard, OnceCell};

/// Flags every test browser starts with. The first group is what the
/// project's test contract names; the second keeps windows that are not in
/// front running at full speed (timers, rendering), since a test drives
/// several windows at once.
const CHROMIUM_FLAGS: &[&str] = &[
    "--headless=new",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-background-timer-throttling",
    "--disable-backgrounding-occluded-windows",
    "--disable-renderer-backgrounding",
    // Remote <audio> must start without a click, as it does after a person's first click.
    "--autoplay-policy=no-user-gesture-required",
    // Containers often have a tiny /dev/shm; Chromium then crashes tabs.
    "--disable-dev-shm-usage",
    "--window-size=1000,800",
];

/// Longest a single script may run in the page (our waits poll inside one script).
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(120);
/// Longest we wait for chromedriver to accept connections after starting it.
const DRIVER_START_TIMEOUT: Duration = Duration::from_secs(30);

const INSTALL_HINT: &str = "install Debian's chromium and chromium-driver \
(`sudo apt-get install chromium chromium-driver`, which `bash scripts/test.sh` does for you), \
or set CHROMIUM and CHROMEDRIVER to the browser and its matching driver";

/// The runtime every browser test runs on. Shared (not one per test) because
/// the WebDriver client's connection task must outlive any single test.
static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("build the test runtime")
});

/// Runs an async test body on the shared runtime.
pub fn run<F: Future>(future: F) -> F::Output {
    RUNTIME.block_on(future)
}

static BROWSER: OnceCell<Browser> = OnceCell::const_new();

/// What the exit hook needs to close the browser when the test binary ends.
struct Cleanup {
    driver_port: u16,
    session_id: String,
    driver_pid: u32,
    profile_dir: PathBuf,
}
static CLEANUP: OnceLock<Cleanup> = OnceLock::new();

pub struct Browser {
    client: Client,
    /// The flags this test binary added to [`CHROMIUM_FLAGS`].
    extra_flags: Vec<String>,
    /// A blank window that stays open: closing a session's last window ends it.
    home: WindowHandle,
    turn: Mutex<()>,
}

/// The shared browser, held for the length of one test.
pub struct BrowserTurn {
    browser: &'static Browser,
    _turn: MutexGuard<'static, ()>,
}

/// Waits for this test's turn at the shared browser, starting it on first use,
/// and closes any window an earlier (perhaps failed) test left open.
pub async fn browser() -> BrowserTurn {
    browser_with(&[]).await
}

/// [`browser`], for a test binary whose browser needs flags of its own (a
/// host-resolver rule, a certificate to trust). Every test of the binary
/// must ask for the same flags: there is one browser per binary.
pub async fn browser_with(extra_flags: &[String]) -> BrowserTurn {
    let browser = BROWSER.get_or_init(|| launch(extra_flags.to_vec())).await;
    assert_eq!(
        browser.extra_flags, extra_flags,
        "one test binary, one browser: every test must ask for the same flags"
    );
    let turn = browser.turn.lock().await;
    let windows = browser.client.windows().await.expect("list windows");
    for window in windows.into_iter().filter(|w| *w != browser.home) {
        browser
            .client
            .switch_to_window(window)
            .await
            .expect("switch window");
        browser
            .client
            .close_window()
            .await
            .expect("close a left-over window");
    }
    browser
        .client
        .switch_to_window(browser.home.clone())
        .await
        .expect("switch to the home window");
    BrowserTurn {
        browser,
        _turn: turn,
    }
}

impl BrowserTurn {
    /// Opens `url` in a new window, with the probe installed. `name` labels
    /// the page in failure messages ("alice", "bob").
    pub async fn open(&self, name: &str, url: &str) -> Page<'_> {
        let client = &self.browser.client;
        let window = client
            .new_window(false)
            .await
            .expect("open a window")
            .handle;
        client
            .switch_to_window(window.clone())
            .await
            .expect("switch window");
        client
            .issue_cmd(Cdp::new(
                "Page.addScriptToEvaluateOnNewDocument",
                json!({ "source": include_str!("page_probe.js") }),
            ))
            .await
            .expect("install the page probe");
        client.goto(url).await.expect("load the page");
        Page {
            turn: self,
            window,
            name: name.to_string(),
        }
    }
}

/// One window, as one person sees it.
pub struct Page<'t> {
    turn: &'t BrowserTurn,
    window: WindowHandle,
    name: String,
}

impl Page<'_> {
    fn client(&self) -> &Client {
        &self.turn.browser.client
    }

    /// Makes this window the one WebDriver commands go to.
    async fn focus(&self) {
        self.client()
            .switch_to_window(self.window.clone())
            .await
            .unwrap_or_else(|e| panic!("{}: switch to its window: {e}", self.name));
    }

    /// Runs `script` (a function body; `arguments` holds `args`) and returns
    /// its result. A returned promise is awaited.
    pub async fn eval(&self, script: &str, args: Vec<Json>) -> Json {
        self.focus().await;
        match self.client().execute(script, args).await {
            Ok(value) => value,
            Err(err) => panic!("{}: script failed: {err}\nscript: {script}", self.name),
        }
    }

    /// Clicks the element `css` selects, as a person would.
    pub async fn click(&self, css: &str) {
        self.focus().await;
        let element = self
            .client()
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{}: no element {css}: {e}", self.name));
        if let Err(err) = element.click().await {
            panic!(
                "{}: clicking {css} failed: {err}\n{}",
                self.name,
                self.diagnostics().await
            );
        }
    }

    /// Replaces the text of the field `css` selects by typing `text`.
    pub async fn type_into(&self, css: &str, text: &str) {
        self.focus().await;
        let element = self
            .client()
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{}: no element {css}: {e}", self.name));
        element.clear().await.expect("clear the field");
        element.send_keys(text).await.expect("type into the field");
    }

    /// Pastes `text` into the field `css` selects, replacing what it held:
    /// the field gets the whole text at once and an `input` event, as from
    /// Ctrl+V. (Typing kilobytes of SDP key by key would take seconds.)
    pub async fn paste_into(&self, css: &str, text: &str) {
        self.click(css).await;
        let script = "const field = document.querySelector(arguments[0]);
                      field.value = arguments[1];
                      field.dispatchEvent(new InputEvent('input', { bubbles: true, inputType: 'insertFromPaste', data: arguments[1] }));";
        self.eval(script, vec![json!(css), json!(text)]).await;
    }

    /// The text content of the element `css` selects ("" if there is none).
    pub async fn text(&self, css: &str) -> String {
        self.string_property(css, "textContent").await
    }

    /// The value of the form field `css` selects ("" if there is none).
    pub async fn value(&self, css: &str) -> String {
        self.string_property(css, "value").await
    }

    async fn string_property(&self, css: &str, property: &str) -> String {
        let value = self
            .eval(
                "const el = document.querySelector(arguments[0]); return el ? String(el[arguments[1]]) : '';",
                vec![json!(css), json!(property)],
            )
            .await;
        value.as_str().unwrap_or_default().to_string()
    }

    /// What `#status` says now.
    pub async fn status(&self) -> String {
        self.text("#status").await
    }

    /// Polls `condition` (an async function body) in the page every 50 ms until
    /// it returns something truthy, and returns that. On timeout the test fails
    /// with `what`, the last value, `#status`, and the page's console.
    pub async fn wait_for(&self, what: &str, condition: &str, timeout: Duration) -> Json {
        const POLL: &str = r#"
            const [body, timeoutMs] = arguments;
            const check = new (Object.getPrototypeOf(async function () {}).constructor)(body);
            const deadline = performance.now() + timeoutMs;
            let last = null;
            for (;;) {
              try {
                last = await check();
                if (last) return { ok: true, value: last };
              } catch (error) {
                last = `threw ${error}`;
              }
              if (performance.now() > deadline) return { ok: false, value: last ?? null };
              await new Promise((resolve) => setTimeout(resolve, 50));
            }"#;
        let result = self
            .eval(
                POLL,
                vec![json!(condition), json!(timeout.as_millis() as u64)],
            )
            .await;
        if result["ok"] != json!(true) {
            panic!(
                "{}: timed out after {timeout:?} waiting for {what} (last value: {})\n{}",
                self.name,
                result["value"],
                self.diagnostics().await
            );
        }
        result["value"].clone()
    }

    /// Waits until `#status` contains `needle` (case-insensitive).
    pub async fn wait_for_status(&self, needle: &str, timeout: Duration) -> String {
        let condition = format!(
            "const s = document.getElementById('status').textContent; return s.toLowerCase().includes({}) && s;",
            json!(needle.to_lowercase())
        );
        let value = self
            .wait_for(
                &format!("#status to mention {needle:?}"),
                &condition,
                timeout,
            )
            .await;
        value.as_str().unwrap_or_default().to_string()
    }

    /// Asserts the `<video>` at `css` shows a picture (`videoWidth > 0`) and
    /// keeps presenting new frames.
    pub async fn expect_video_playing(&self, css: &str) {
        let condition = format!(
            "const v = document.querySelector({}); return v && v.videoWidth > 0 && v.videoWidth;",
            json!(css)
        );
        self.wait_for(
            &format!("{css} to show a picture"),
            &condition,
            Duration::from_secs(20),
        )
        .await;
        const WANTED: u64 = 10;
        let counted = self
            .eval(
                "return window.__probe.videoFrames(arguments[0], arguments[1], 10000);",
                vec![json!(css), json!(WANTED)],
            )
            .await;
        let frames = counted["frames"].as_u64().unwrap_or(0);
        let width = counted["width"].as_u64().unwrap_or(0);
        assert!(
            frames >= WANTED && width > 0,
            "{}: {css} presented {frames} frames (wanted {WANTED}) at width {width}\n{}",
            self.name,
            self.diagnostics().await
        );
    }

    /// Summed `inbound-rtp` counters of `kind` ("video" or "audio") over every
    /// peer connection the page made.
    pub async fn inbound(&self, kind: &str) -> Json {
        self.eval(
            "return window.__probe.inbound(arguments[0]);",
            vec![json!(kind)],
        )
        .await
    }

    /// Asserts that `counter` of the inbound `kind` stream grows: media is
    /// arriving and being decoded now, not just once.
    pub async fn expect_inbound_growing(&self, kind: &str, counter: &str) {
        let before = self.inbound(kind).await[counter].as_f64().unwrap_or(0.0);
        let condition = format!(
            "const now = (await window.__probe.inbound({}))[{}]; return now > {before} && now;",
            json!(kind),
            json!(counter)
        );
        self.wait_for(
            &format!("inbound {kind} {counter} to grow past {before}"),
            &condition,
            Duration::from_secs(20),
        )
        .await;
    }

    /// Ticks Camera and then Microphone (steps 02 on) and waits until both run.
    pub async fn turn_devices_on(&self) {
        self.set_device("camera", true).await;
        self.set_device("microphone", true).await;
    }

    /// Clicks the `#camera` or `#microphone` box and waits until the page
    /// holds a live track of that kind (`on`) or none (`off`). Waits on the
    /// tracks, not on `#status`: during a call a connection's state change can
    /// replace the device's message before a test reads it.
    pub async fn set_device(&self, checkbox: &str, on: bool) {
        let kind = if checkbox == "camera" {
            "video"
        } else {
            "audio"
        };
        self.click(&format!("#{checkbox}")).await;
        let condition = format!(
            "const live = window.__probe.tracks.some((t) => t.kind === {kind:?} && t.readyState === 'live'); \
             return document.getElementById({checkbox:?}).checked === {on} && live === {on};"
        );
        let what = format!("the {checkbox} to be {}", if on { "on" } else { "off" });
        self.wait_for(&what, &condition, Duration::from_secs(10))
            .await;
    }

    /// Asserts the page threw nothing it did not catch and broke no rule of
    /// its Content-Security-Policy.
    pub async fn assert_no_uncaught_errors(&self) {
        let uncaught = self.eval("return window.__probe.uncaught();", vec![]).await;
        assert_eq!(
            uncaught,
            json!([]),
            "{}: the page threw errors it did not catch",
            self.name
        );
    }

    /// `#status` and the last console lines, for failure messages.
    pub async fn diagnostics(&self) -> String {
        self.focus().await;
        let script =
            "return { status: document.getElementById('status')?.textContent ?? '(no #status)', \
                      console: (window.__probe?.console ?? []).slice(-40) };";
        match self.client().execute(script, vec![]).await {
            Ok(info) => {
                let console: Vec<String> = info["console"]
                    .as_array()
                    .map(|lines| {
                        lines
                            .iter()
                            .map(|l| format!("    {}", l.as_str().unwrap_or("")))
                            .collect()
                    })
                    .unwrap_or_default();
                format!(
                    "  [{}] #status: {}\n  [{}] console:\n{}",
                    self.name,
                    info["status"],
                    self.name,
                    console.join("\n")
                )
            }
            Err(err) => format!("  [{}] (page unreadable: {err})", self.name),
        }
    }

    /// Closes the window, as a person closes a tab.
    pub async fn close(self) {
        self.focus().await;
        self.client()
            .close_window()
            .await
            .expect("close the window");
        self.client()
            .switch_to_window(self.turn.browser.home.clone())
            .await
            .expect("switch to the home window");
    }
}

/// A Chrome DevTools Protocol command sent through chromedriver.
#[derive(Debug)]
struct Cdp {
    method: &'static str,
    params: Json,
}

impl Cdp {
    fn new(method: &'static str, params: Json) -> Cdp {
        Cdp { method, params }
    }
}

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/goog/cdp/execute",
            session.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _url: &url::Url) -> (http::Method, Option<String>) {
        let body = json!({ "cmd": self.method, "params": self.params });
        (http::Method::POST, Some(body.to_string()))
    }
}

/// Starts chromedriver and a browser session; panics with install advice if
/// either is missing.
async fn launch(extra_flags: Vec<String>) -> Browser {
    let chromium = find_program(
        "CHROMIUM",
        &["chromium", "chromium-browser", "google-chrome"],
    )
    .unwrap_or_else(|| panic!("no Chromium found: {INSTALL_HINT}"));
    let chromedriver = find_program("CHROMEDRIVER", &["chromedriver"])
        .unwrap_or_else(|| panic!("no chromedriver found: {INSTALL_HINT}"));

    let profile_dir =
        std::env::temp_dir().join(format!("videochat-test-browser-{}", std::process::id()));
    std::fs::create_dir_all(&profile_dir).expect("create the browser profile folder");
    let port = free_port();
    let log =
        std::fs::File::create(profile_dir.join("chromedriver.log")).expect("create the driver log");
    let driver = {
        use std::os::unix::process::CommandExt;
        Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::from(log.try_clone().expect("clone the log handle")))
            .stderr(Stdio::from(log))
            // Its own process group, so the exit hook can end the driver and
            // every browser process it started in one signal.
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {}: {e}; {INSTALL_HINT}",
                    chromedriver.display()
                )
            })
    };
    wait_for_port(port);

    let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|f| f.to_string()).collect();
    args.extend(extra_flags.iter().cloned());
    args.push(format!(
        "--user-data-dir={}",
        profile_dir.join("profile").display()
    ));
    let mut capabilities = Capabilities::new();
    capabilities.insert("browserName".into(), json!("chrome"));
    capabilities.insert(
        "goog:chromeOptions".into(),
        json!({ "binary": chromium, "args": args }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let client = ClientBuilder::new(connector)
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .unwrap_or_else(|e| {
            panic!(
                "chromedriver could not start {}: {e} (see {}); {INSTALL_HINT}",
                chromium.display(),
                profile_dir.join("chromedriver.log").display()
            )
        });
    client
        .update_timeouts(TimeoutConfiguration::new(Some(SCRIPT_TIMEOUT), None, None))
        .await
        .expect("set the script timeout");

    let session_id = client
        .session_id()
        .await
        .ok()
        .flatten()
        .expect("a WebDriver session id");
    let _ = CLEANUP.set(Cleanup {
        driver_port: port,
        session_id,
        driver_pid: driver.id(),
        profile_dir,
    });
    // SAFETY: registering a plain `extern "C" fn` with no arguments is what
    // atexit expects; the function only reads a fully initialised static.
    unsafe {
        libc::atexit(close_browser_at_exit);
    }
    let home = client.window().await.expect("the first window");
    Browser {
        client,
        extra_flags,
        home,
        turn: Mutex::new(()),
    }
}

/// Runs when the test binary exits: ends the WebDriver session (Chromium
/// closes), then the driver's whole process group, then removes the profile.
extern "C" fn close_browser_at_exit() {
    let Some(cleanup) = CLEANUP.get() else { return };
    if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", cleanup.driver_port)) {
        let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
        let _ = write!(
            stream,
            "DELETE /session/{} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
            cleanup.session_id
        );
        let _ = stream.read_to_end(&mut Vec::new());
    }
    // SAFETY: kill(2) with a negative pid signals the process group we created.
    unsafe {
        libc::kill(-(cleanup.driver_pid as i32), libc::SIGKILL);
    }
    let _ = std::fs::remove_dir_all(&cleanup.profile_dir);
}

/// `$var` if set, else the first of `names` found on `PATH`.
fn find_program(var: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(var) {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("find a free port")
}

fn wait_for_port(port: u16) {
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < DRIVER_START_TIMEOUT,
            "chromedriver did not listen on port {port} within {DRIVER_START_TIMEOUT:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
