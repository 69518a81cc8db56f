//! Real headless browsers, driven over WebDriver: one Chromium and, for the
//! tests that ask, one Firefox per test binary.
//!
//! Chromium is Debian's `chromium`, driven by Debian's `chromedriver` (built
//! for exactly that browser version); Firefox is Debian's `firefox-esr`,
//! driven by `geckodriver` from crates.io. `CHROMIUM`, `CHROMEDRIVER`,
//! `FIREFOX` and `GECKODRIVER` name other binaries. Both start with fake
//! camera and microphone and with permission prompts answered "allow".
//!
//! Tests in one binary take turns at each browser ([`browser`] and
//! [`firefox`] return a turn): WebDriver has one "current window" per
//! session, so two tests driving windows at once would step on each other. A
//! test that needs both takes Chromium's turn first, then Firefox's, so two
//! such tests cannot wait on each other. A test opens a window per person
//! ([`Page`]).
//!
//! Every page gets `page_probe.js` before its own scripts, which records the
//! peer connections and tracks the page creates, so tests can read `getStats()`
//! and track states without knowing the page's variable names. Chromium
//! installs it per window through the DevTools protocol; Firefox once, as a
//! WebDriver BiDi preload script. Firefox also runs test scripts through BiDi
//! (`script.callFunction` in the page's own realm): its classic WebDriver
//! scripts run in a sandbox that cannot see what the probe put on `window`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use fantoccini::wd::{
    Capabilities, TimeoutConfiguration, WebDriverCompatibleCommand, WindowHandle,
};
use fantoccini::{Client, ClientBuilder, Locator};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value as Json};
use tokio::sync::{Mutex, MutexGuard, OnceCell};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

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

/// Firefox preferences for the same purposes as [`CHROMIUM_FLAGS`].
fn firefox_prefs() -> Json {
    json!({
        // Fake camera (a test pattern) and microphone (a tone), no prompts.
        "media.navigator.streams.fake": true,
        "media.navigator.permission.disabled": true,
        // Remote <audio> must start without a click.
        "media.autoplay.default": 0,
        "media.autoplay.blocking_policy": 0,
        // Host candidates as addresses, not mDNS names that Chromium on the
        // same machine would have to resolve.
        "media.peerconnection.ice.obfuscate_host_addresses": false,
        // Windows that are not in front keep full-speed timers.
        "dom.timeout.enable_budget_timer_throttling": false,
        "dom.min_background_timeout_value": 4,
    })
}

/// Which browser engine runs a window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Chromium,
    Firefox,
}

impl Engine {
    pub fn name(self) -> &'static str {
        match self {
            Engine::Chromium => "Chromium",
            Engine::Firefox => "Firefox",
        }
    }

    /// The turn at this engine's browser.
    pub async fn turn(self) -> BrowserTurn {
        match self {
            Engine::Chromium => browser().await,
            Engine::Firefox => firefox().await,
        }
    }
}

/// Defines one `#[test]` per engine for the async scenario
/// `fn $scenario(engine: Engine)`, in a module of the same name:
/// `app02_...::chromium` and `app02_...::firefox`.
#[macro_export]
macro_rules! in_each_engine {
    ($scenario:ident) => {
        mod $scenario {
            use $crate::common::browser::Engine;
            use $crate::common::deadline::run;
            #[test]
            fn chromium() {
                run(super::$scenario(Engine::Chromium));
            }
            #[test]
            fn firefox() {
                run(super::$scenario(Engine::Firefox));
            }
        }
    };
}

/// Longest a single script may run in the page (our waits poll inside one script).
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(120);
/// Longest we wait for chromedriver to accept connections after starting it.
const DRIVER_START_TIMEOUT: Duration = Duration::from_secs(30);

const INSTALL_HINT: &str = "install Debian's chromium and chromium-driver \
(`sudo apt-get install chromium chromium-driver`, which `bash scripts/test.sh` does for you), \
or set CHROMIUM and CHROMEDRIVER to the browser and its matching driver";

const FIREFOX_INSTALL_HINT: &str = "install Debian's firefox-esr and geckodriver \
(`sudo apt-get install firefox-esr` and `cargo install --locked geckodriver`, which \
`bash scripts/test.sh` does for you), or set FIREFOX and GECKODRIVER";

use super::deadline::{spawn, waiting_for};

/// One Chromium per set of extra flags, each started on first use: most
/// tests share the plain one, while HTTPS (a host-resolver rule, a
/// certificate to trust) and step 18's devices (three fake cameras) need
/// their own.
type Chromiums = Vec<(Where, &'static OnceCell<Browser>)>;

/// Where a Chromium runs and with which extra flags.
#[derive(Clone, PartialEq, Eq)]
struct Where {
    /// A network namespace (the NAT tests' homes), or this machine's own network.
    namespace: Option<String>,
    flags: Vec<String>,
}
static CHROMIUMS: std::sync::Mutex<Chromiums> = std::sync::Mutex::new(Vec::new());
static FIREFOX: OnceCell<Browser> = OnceCell::const_new();
/// The homes' Firefoxes, one per namespace (see [`firefox_in`]).
static FIREFOXES: std::sync::Mutex<Vec<(String, &'static OnceCell<Browser>)>> =
    std::sync::Mutex::new(Vec::new());

/// Where a home's Firefox runs, and the preferences it adds.
struct FirefoxHome {
    namespace: String,
    prefs: serde_json::Map<String, Json>,
}

/// What the exit hook needs to close a browser when the test binary ends.
struct Cleanup {
    driver_port: u16,
    session_id: String,
    driver_pid: u32,
    profile_dir: PathBuf,
}
static CLEANUPS: std::sync::Mutex<Vec<Cleanup>> = std::sync::Mutex::new(Vec::new());
static AT_EXIT: OnceLock<()> = OnceLock::new();

pub struct Browser {
    engine: Engine,
    client: Client,
    /// Firefox's WebDriver BiDi connection; Chromium has none.
    bidi: Option<Bidi>,
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

/// [`browser`], for tests whose Chromium needs flags of its own (a
/// host-resolver rule, a certificate to trust, more fake devices): the
/// tests that ask for the same flags share one Chromium.
pub async fn browser_with(extra_flags: &[String]) -> BrowserTurn {
    chromium_at(Where {
        namespace: None,
        flags: extra_flags.to_vec(),
    })
    .await
}

/// A Chromium whose network is the namespace `namespace` (a home of
/// [`super::netns`]), driven from this process all the same: chromedriver
/// runs here and starts the browser through `ip netns exec`, talking to it
/// over the DevTools pipe (`--remote-debugging-pipe`, two file descriptors
/// the browser inherits across the `exec`), so no management network is
/// needed and the home has no address but its own.
pub async fn browser_in(namespace: &str, extra_flags: &[String]) -> BrowserTurn {
    chromium_at(Where {
        namespace: Some(namespace.to_string()),
        flags: extra_flags.to_vec(),
    })
    .await
}

async fn chromium_at(place: Where) -> BrowserTurn {
    let cell = {
        let mut started = CHROMIUMS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match started.iter().find(|(at, _)| *at == place) {
            Some((_, cell)) => *cell,
            None => {
                // Lives as long as the test binary, like the statics it joins.
                let cell: &'static OnceCell<Browser> = Box::leak(Box::new(OnceCell::new()));
                started.push((place.clone(), cell));
                cell
            }
        }
    };
    let browser = cell.get_or_init(|| launch_chromium(place)).await;
    take_turn(browser).await
}

/// Waits for this test's turn at the shared Firefox, starting it on first use.
pub async fn firefox() -> BrowserTurn {
    take_turn(FIREFOX.get_or_init(|| launch_firefox(None)).await).await
}

/// A Firefox whose network is the namespace `namespace` (a home of
/// [`super::netns`]), with `prefs` added to the usual preferences; one per
/// namespace, started on first use.
///
/// Firefox has no pipe to be driven over, so geckodriver runs inside the
/// home with it (started through `ip netns exec`, it starts Firefox there
/// and speaks to it on the home's loopback). The test reaches geckodriver,
/// and Firefox's BiDi socket, through [`super::netns::loopback_link`]s:
/// links from this machine's loopback to the home's that carry only the
/// test's commands.
pub async fn firefox_in(namespace: &str, prefs: Json) -> BrowserTurn {
    let cell = {
        let mut started = FIREFOXES
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match started.iter().find(|(at, _)| at == namespace) {
            Some((_, cell)) => *cell,
            None => {
                // Lives as long as the test binary, like the statics it joins.
                let cell: &'static OnceCell<Browser> = Box::leak(Box::new(OnceCell::new()));
                started.push((namespace.to_string(), cell));
                cell
            }
        }
    };
    let prefs = prefs.as_object().cloned().unwrap_or_default();
    let home = FirefoxHome {
        namespace: namespace.to_string(),
        prefs,
    };
    take_turn(cell.get_or_init(|| launch_firefox(Some(home))).await).await
}

/// Waits for the turn at `browser` and closes any window an earlier (perhaps
/// failed) test left open.
async fn take_turn(browser: &'static Browser) -> BrowserTurn {
    waiting_for(&format!("this test's turn at {}", browser.engine.name()));
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
        if self.browser.engine == Engine::Chromium {
            client
                .issue_cmd(Cdp::new(
                    "Page.addScriptToEvaluateOnNewDocument",
                    json!({ "source": include_str!("page_probe.js") }),
                ))
                .await
                .expect("install the page probe");
        }
        client.goto(url).await.expect("load the page");
        Page {
            turn: self,
            window,
            name: format!("{name} ({})", self.browser.engine.name()),
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
    /// The person and the browser, as failure messages name them: "bob (Firefox)".
    pub fn name(&self) -> &str {
        &self.name
    }

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
        match self.try_eval(script, args).await {
            Ok(value) => value,
            Err(err) => panic!("{}: script failed: {err}\nscript: {script}", self.name),
        }
    }

    async fn try_eval(&self, script: &str, args: Vec<Json>) -> Result<Json, String> {
        match &self.turn.browser.bidi {
            None => {
                self.focus().await;
                self.client()
                    .execute(script, args)
                    .await
                    .map_err(|err| err.to_string())
            }
            Some(bidi) => {
                let context: String = self.window.clone().into();
                bidi.call_in_page(&context, script, &args).await
            }
        }
    }

    /// The element `css` selects, in this window; fails the test if there is none.
    async fn element(&self, css: &str) -> fantoccini::elements::Element {
        self.focus().await;
        self.client()
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{}: no element {css}: {e}", self.name))
    }

    /// Clicks the element `css` selects, as a person would.
    pub async fn click(&self, css: &str) {
        let element = self.element(css).await;
        if let Err(err) = element.click().await {
            panic!(
                "{}: clicking {css} failed: {err}\n{}",
                self.name,
                self.diagnostics().await
            );
        }
    }

    /// Makes this window a phone held upright (Chromium only): a viewport of
    /// `width` x `height` CSS pixels at three device pixels each, the mobile
    /// layout rules (the page's `<meta name="viewport">` counts), and touch
    /// input in place of a mouse.
    pub async fn emulate_phone(&self, width: u32, height: u32) {
        self.focus().await;
        let commands = [
            Cdp::new(
                "Emulation.setDeviceMetricsOverride",
                json!({ "width": width, "height": height, "deviceScaleFactor": 3, "mobile": true }),
            ),
            Cdp::new(
                "Emulation.setTouchEmulationEnabled",
                json!({ "enabled": true, "maxTouchPoints": 5 }),
            ),
        ];
        for command in commands {
            self.client()
                .issue_cmd(command)
                .await
                .unwrap_or_else(|e| panic!("{}: phone emulation: {e}", self.name));
        }
    }

    /// Taps the element `css` selects with a finger, as a person on a phone
    /// does: scrolls the page up or down until the element is in view (never
    /// sideways: a page that needs that is broken), checks that its middle is
    /// on screen and that nothing covers it, and touches there. Fails the
    /// test if a person could not tap it.
    pub async fn tap(&self, css: &str) {
        let spot = self
            .eval(
                "const el = document.querySelector(arguments[0]);
                 if (!el) return { problem: 'no such element' };
                 const before = el.getBoundingClientRect();
                 window.scrollBy(0, before.top + before.height / 2 - innerHeight / 2);
                 const r = el.getBoundingClientRect();
                 const x = r.left + r.width / 2, y = r.top + r.height / 2;
                 if (r.width === 0 || r.height === 0) return { problem: 'not visible' };
                 const screen = window.visualViewport ?? { width: innerWidth, height: innerHeight };
                 if (x < 0 || x > screen.width || y < 0 || y > screen.height) {
                   return { problem: `its middle (${x}, ${y}) is off the ${screen.width}x${screen.height} screen` };
                 }
                 const hit = document.elementFromPoint(x, y);
                 if (!hit || !(hit === el || el.contains(hit) || hit.contains(el) && hit.tagName === 'LABEL')) {
                   return { problem: `a tap there lands on ${hit ? hit.outerHTML.slice(0, 80) : 'nothing'}` };
                 }
                 return { x, y, height: r.height };",
                vec![json!(css)],
            )
            .await;
        if let Some(problem) = spot["problem"].as_str() {
            panic!(
                "{}: cannot tap {css}: {problem}\n{}",
                self.name,
                self.diagnostics().await
            );
        }
        self.focus().await;
        let point = json!([{ "x": spot["x"], "y": spot["y"] }]);
        for (kind, points) in [("touchStart", point), ("touchEnd", json!([]))] {
            self.client()
                .issue_cmd(Cdp::new(
                    "Input.dispatchTouchEvent",
                    json!({ "type": kind, "touchPoints": points }),
                ))
                .await
                .unwrap_or_else(|e| panic!("{}: tapping {css}: {e}", self.name));
        }
    }

    /// Fails the test if the page is wider than the screen, so that a person
    /// would have to scroll sideways (`what` names the screen in the message).
    ///
    /// The screen is the visual viewport, not `innerWidth`: on a phone the
    /// browser widens the layout viewport (and `innerWidth` with it) to fit
    /// a page that is too wide, so `scrollWidth <= innerWidth` would always
    /// hold there.
    pub async fn expect_no_sideways_scrolling(&self, what: &str) {
        let sizes = self
            .eval(
                "const screen = window.visualViewport;
                 const width = Math.round(screen ? screen.width * screen.scale : innerWidth);
                 const tooWide = [...document.body.querySelectorAll('*')]
                   .filter((el) => {
                     const box = el.getBoundingClientRect();
                     return Math.max(box.right, box.left + el.scrollWidth) > width;
                   })
                   .slice(-5)
                   .map((el) => `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}.${el.className}`);
                 return { page: document.documentElement.scrollWidth, window: width, tooWide };",
                vec![],
            )
            .await;
        let page = sizes["page"].as_u64().unwrap_or(u64::MAX);
        let window = sizes["window"].as_u64().unwrap_or(0);
        assert!(
            page <= window,
            "{}: the {what} is {page} px wide on a {window} px screen (past its edge: {})\n{}",
            self.name,
            sizes["tooWide"],
            self.diagnostics().await
        );
    }

    /// Picks the option with `value` in the `<select>` at `css`, as a person
    /// picks from the list (WebDriver's own selection: a `change` event follows).
    pub async fn choose_option(&self, css: &str, value: &str) {
        let element = self.element(css).await;
        if let Err(err) = element.select_by_value(value).await {
            panic!(
                "{}: choosing {value:?} in {css} failed: {err}\n{}",
                self.name,
                self.diagnostics().await
            );
        }
    }

    /// Replaces the text of the field `css` selects by typing `text`.
    pub async fn type_into(&self, css: &str, text: &str) {
        let element = self.element(css).await;
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
        // The condition is written into the script's text, not compiled in
        // the page: the pages' Content-Security-Policy forbids `new Function`.
        let poll = format!(
            r#"
            const timeoutMs = arguments[0];
            const check = async () => {{ {condition} }};
            const deadline = performance.now() + timeoutMs;
            let last = null;
            for (;;) {{
              try {{
                last = await check();
                if (last) return {{ ok: true, value: last }};
              }} catch (error) {{
                last = `threw ${{error}}`;
              }}
              if (performance.now() > deadline) return {{ ok: false, value: last ?? null }};
              await new Promise((resolve) => setTimeout(resolve, 50));
            }}"#
        );
        waiting_for(&format!("{}: {what}", self.name));
        let result = self
            .eval(&poll, vec![json!(timeout.as_millis() as u64)])
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

    /// The page's clock: milliseconds since the epoch, as the probe stamps
    /// the lines the page logs.
    pub async fn clock(&self) -> f64 {
        let now = self
            .eval("return performance.timeOrigin + performance.now();", vec![])
            .await;
        now.as_f64().unwrap_or(0.0)
    }

    /// The lines the page logged at or after `since` (its [`Page::clock`];
    /// 0 for all of them) that contain `needle`.
    pub async fn logged(&self, needle: &str, since: f64) -> Vec<String> {
        let lines = self
            .eval(
                "return window.__probe.timeline \
                   .filter(([at, line]) => at >= arguments[1] && line.includes(arguments[0])) \
                   .map(([, line]) => line);",
                vec![json!(needle), json!(since)],
            )
            .await;
        serde_json::from_value(lines).unwrap_or_default()
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
        let script =
            "return { status: document.getElementById('status')?.textContent ?? '(no #status)', \
                      console: (window.__probe?.console ?? []).slice(-40) };";
        match self.try_eval(script, vec![]).await {
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
async fn launch_chromium(place: Where) -> Browser {
    let chromium = find_program(
        "CHROMIUM",
        &["chromium", "chromium-browser", "google-chrome"],
    )
    .unwrap_or_else(|| panic!("no Chromium found: {INSTALL_HINT}"));
    let chromedriver = find_program("CHROMEDRIVER", &["chromedriver"])
        .unwrap_or_else(|| panic!("no chromedriver found: {INSTALL_HINT}"));

    let profile_dir = profile_dir("chromium");
    let port = free_port();
    let driver = start_driver(
        &chromedriver,
        &[format!("--port={port}")],
        &profile_dir,
        INSTALL_HINT,
    );
    wait_for_port(port);

    let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|f| f.to_string()).collect();
    args.extend(place.flags.iter().cloned());
    let chromium = match &place.namespace {
        None => chromium,
        Some(namespace) => {
            args.push("--remote-debugging-pipe".to_string());
            in_namespace_script(&profile_dir, namespace, &chromium)
        }
    };
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
    let client = new_session(capabilities, port, &profile_dir, INSTALL_HINT).await;
    register_cleanup(&client, port, driver, profile_dir).await;
    let home = client.window().await.expect("the first window");
    Browser {
        engine: Engine::Chromium,
        client,
        bidi: None,
        home,
        turn: Mutex::new(()),
    }
}

/// Starts geckodriver and a Firefox session with a WebDriver BiDi connection,
/// and installs the probe as a preload script for every page it will load.
/// With `home`, both run inside that network namespace with its extra
/// preferences (see [`firefox_in`]).
async fn launch_firefox(home: Option<FirefoxHome>) -> Browser {
    let firefox = find_program("FIREFOX", &["firefox-esr", "firefox"])
        .unwrap_or_else(|| panic!("no Firefox found: {FIREFOX_INSTALL_HINT}"));
    let geckodriver = find_program("GECKODRIVER", &["geckodriver"])
        .unwrap_or_else(|| panic!("no geckodriver found: {FIREFOX_INSTALL_HINT}"));

    let profile_dir = profile_dir("firefox");
    // In a home, each port is one end of a loopback link into it (chosen
    // first, so the servers inside can listen on the same number).
    let (port, bidi_port) = match &home {
        None => (free_port(), 0),
        Some(home) => (
            super::netns::loopback_link(&home.namespace),
            super::netns::loopback_link(&home.namespace),
        ),
    };
    let driver_args = vec![
        format!("--port={port}"),
        // BiDi's WebSocket port; 0 lets Firefox choose a free one.
        format!("--websocket-port={bidi_port}"),
    ];
    let driver = match &home {
        None => {
            let driver = start_driver(
                &geckodriver,
                &driver_args,
                &profile_dir,
                FIREFOX_INSTALL_HINT,
            );
            wait_for_port(port);
            driver
        }
        Some(home) => {
            let script = in_namespace_script(&profile_dir, &home.namespace, &geckodriver);
            let driver = start_driver(&script, &driver_args, &profile_dir, FIREFOX_INSTALL_HINT);
            super::netns::inside(&home.namespace, move || wait_for_port(port));
            driver
        }
    };

    let mut prefs = firefox_prefs();
    if let (Some(home), Some(prefs)) = (&home, prefs.as_object_mut()) {
        prefs.extend(home.prefs.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    let mut capabilities = Capabilities::new();
    capabilities.insert("browserName".into(), json!("firefox"));
    capabilities.insert("webSocketUrl".into(), json!(true));
    capabilities.insert(
        "moz:firefoxOptions".into(),
        json!({
            "binary": firefox,
            "args": ["-headless", "-width", "1000", "-height", "800"],
            "prefs": prefs,
        }),
    );
    let client = new_session(capabilities, port, &profile_dir, FIREFOX_INSTALL_HINT).await;
    let bidi_url = client
        .capabilities()
        .and_then(|c| c.get("webSocketUrl"))
        .and_then(Json::as_str)
        .expect("geckodriver returns a webSocketUrl for BiDi")
        .to_string();
    register_cleanup(&client, port, driver, profile_dir).await;
    let bidi = Bidi::connect(&bidi_url).await;
    let probe = format!("() => {{ {} }}", include_str!("page_probe.js"));
    bidi.call(
        "script.addPreloadScript",
        json!({ "functionDeclaration": probe }),
    )
    .await
    .expect("install the page probe as a preload script");
    let home = client.window().await.expect("the first window");
    Browser {
        engine: Engine::Firefox,
        client,
        bidi: Some(bidi),
        home,
        turn: Mutex::new(()),
    }
}

/// A fresh folder for one browser's profile and its driver's log.
/// A script that runs `program` inside `namespace` with the arguments it is
/// given (chromedriver takes one program to start as the browser).
fn in_namespace_script(profile_dir: &Path, namespace: &str, program: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let script = profile_dir.join("browser-in-namespace.sh");
    let text = format!(
        "#!/bin/sh\nexec ip netns exec {namespace} {} \"$@\"\n",
        program.display()
    );
    std::fs::write(&script, text).expect("write the namespace launcher");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))
        .expect("make the namespace launcher executable");
    script
}

fn profile_dir(engine: &str) -> PathBuf {
    // A test binary may start more than one Chromium (see `CHROMIUMS`).
    static STARTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let nth = STARTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!(
        "videochat-test-{engine}-{}-{nth}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).expect("create the browser profile folder");
    dir
}

/// Starts a WebDriver server logging into `profile_dir/driver.log`, in its
/// own process group, so the exit hook (or, if the binary is killed, the
/// watchdog of [`super::deadline`]) ends the driver and every browser
/// process it started in one signal.
fn start_driver(
    program: &Path,
    args: &[String],
    profile_dir: &Path,
    hint: &str,
) -> std::process::Child {
    let log = std::fs::File::create(profile_dir.join("driver.log")).expect("create the driver log");
    spawn(
        Command::new(program)
            .args(args)
            .stdout(Stdio::from(log.try_clone().expect("clone the log handle")))
            .stderr(Stdio::from(log)),
    )
    .unwrap_or_else(|e| panic!("cannot start {}: {e}; {hint}", program.display()))
}

/// Opens the WebDriver session and sets the script timeout.
async fn new_session(
    capabilities: Capabilities,
    port: u16,
    profile_dir: &Path,
    hint: &str,
) -> Client {
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let client = ClientBuilder::new(connector)
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .unwrap_or_else(|e| {
            panic!(
                "the driver could not start the browser: {e} (see {}); {hint}",
                profile_dir.join("driver.log").display()
            )
        });
    client
        .update_timeouts(TimeoutConfiguration::new(Some(SCRIPT_TIMEOUT), None, None))
        .await
        .expect("set the script timeout");
    client
}

/// Remembers what the exit hook needs to close this browser.
async fn register_cleanup(
    client: &Client,
    driver_port: u16,
    driver: std::process::Child,
    profile_dir: PathBuf,
) {
    let session_id = client
        .session_id()
        .await
        .ok()
        .flatten()
        .expect("a WebDriver session id");
    CLEANUPS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .push(Cleanup {
            driver_port,
            session_id,
            driver_pid: driver.id(),
            profile_dir,
        });
    AT_EXIT.get_or_init(|| {
        // SAFETY: registering a plain `extern "C" fn` with no arguments is
        // what atexit expects; the function only reads a static.
        unsafe {
            libc::atexit(close_browsers_at_exit);
        }
    });
}

/// Runs when the test binary exits: ends each WebDriver session (the browser
/// closes), then the driver's whole process group, then removes the profile.
/// Every session is asked to end before any answer is awaited, so the
/// browsers close side by side, and each answer is read only as far as its
/// length: the drivers answer and keep the connection open, and waiting for
/// them to close it cost 10 s per browser (over a minute a run).
extern "C" fn close_browsers_at_exit() {
    let cleanups = CLEANUPS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let asked: Vec<Option<TcpStream>> = cleanups
        .iter()
        .map(|cleanup| {
            let mut stream = TcpStream::connect(("127.0.0.1", cleanup.driver_port)).ok()?;
            write!(
                stream,
                "DELETE /session/{} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
                cleanup.session_id
            )
            .ok()?;
            Some(stream)
        })
        .collect();
    for (cleanup, stream) in cleanups.iter().zip(asked) {
        if let Some(mut stream) = stream {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            // A zero timeout would mean "wait for ever".
            let _ = stream.set_read_timeout(Some(left.max(Duration::from_millis(1))));
            read_one_response(&mut stream);
        }
        // SAFETY: kill(2) with a negative pid signals the process group we created.
        unsafe {
            libc::kill(-(cleanup.driver_pid as i32), libc::SIGKILL);
        }
        let _ = std::fs::remove_dir_all(&cleanup.profile_dir);
    }
}

/// Reads one HTTP response from `stream`: its head, then as many body bytes
/// as its Content-Length says (or until the stream ends or times out).
fn read_one_response(stream: &mut TcpStream) {
    let mut received = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(head_end) = received.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&received[..head_end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .and_then(|value| value.trim().parse().ok())
                .unwrap_or(0);
            if received.len() >= head_end + 4 + length {
                return;
            }
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(read) => received.extend_from_slice(&chunk[..read]),
        }
    }
}

/// A WebDriver BiDi connection: JSON commands over a WebSocket, each answered
/// by a message with the same id. Only commands are sent (no event
/// subscriptions), and a test holds the browser's turn while it calls, so a
/// lock around the socket is all the bookkeeping needed.
struct Bidi {
    socket: Mutex<WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>>,
    next_id: std::sync::atomic::AtomicU64,
}

impl Bidi {
    async fn connect(url: &str) -> Bidi {
        let (socket, _) = tokio_tungstenite::connect_async(url)
            .await
            .unwrap_or_else(|e| panic!("connect to WebDriver BiDi at {url}: {e}"));
        Bidi {
            socket: Mutex::new(socket),
            next_id: std::sync::atomic::AtomicU64::new(1),
        }
    }

    /// Sends one command and returns its `result`, or the error it got.
    async fn call(&self, method: &str, params: Json) -> Result<Json, String> {
        let id = self
            .next_id
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut socket = self.socket.lock().await;
        let command = json!({ "id": id, "method": method, "params": params });
        socket
            .send(Message::text(command.to_string()))
            .await
            .map_err(|e| format!("BiDi send: {e}"))?;
        // A script may run for SCRIPT_TIMEOUT; a reply later than that
        // (and a margin) is not coming.
        let reply_by = tokio::time::Instant::now() + SCRIPT_TIMEOUT + Duration::from_secs(30);
        loop {
            let message = match tokio::time::timeout_at(reply_by, socket.next()).await {
                Ok(Some(message)) => message,
                Ok(None) => break,
                Err(_) => {
                    return Err(format!(
                        "no BiDi reply to {method} within {SCRIPT_TIMEOUT:?}"
                    ))
                }
            };
            let Message::Text(text) = message.map_err(|e| format!("BiDi receive: {e}"))? else {
                continue;
            };
            let reply: Json =
                serde_json::from_str(&text).map_err(|e| format!("BiDi reply: {e}"))?;
            if reply["id"] != json!(id) {
                continue; // an event: none are subscribed, but skip any
            }
            if reply["type"] == "error" {
                return Err(format!("{}: {}", reply["error"], reply["message"]));
            }
            return Ok(reply["result"].clone());
        }
        Err("the BiDi connection closed".to_string())
    }

    /// Runs `script` (a function body; `arguments` holds `args`) in the page's
    /// own realm of window `context`, and returns its awaited result. Values
    /// cross as JSON text both ways, which is all the tests pass.
    async fn call_in_page(
        &self,
        context: &str,
        script: &str,
        args: &[Json],
    ) -> Result<Json, String> {
        let function = format!(
            "async function (argsJson) {{
               const result = await (async function () {{ {script} }}).apply(null, JSON.parse(argsJson));
               return JSON.stringify(result === undefined ? null : result);
             }}"
        );
        let outcome = self
            .call(
                "script.callFunction",
                json!({
                    "functionDeclaration": function,
                    "arguments": [{ "type": "string", "value": Json::from(args.to_vec()).to_string() }],
                    "awaitPromise": true,
                    "target": { "context": context },
                    "resultOwnership": "none",
                }),
            )
            .await?;
        if outcome["type"] != "success" {
            return Err(format!(
                "the script threw: {}",
                outcome["exceptionDetails"]["text"]
            ));
        }
        let text = outcome["result"]["value"].as_str().unwrap_or("null");
        serde_json::from_str(text).map_err(|e| format!("the script's result: {e}"))
    }
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
            "the WebDriver server did not listen on port {port} within {DRIVER_START_TIMEOUT:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
