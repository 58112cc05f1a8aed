//! The web console end to end in a real headless browser: Debian's Chromium driven through
//! ChromeDriver's W3C WebDriver protocol (a few JSON calls, spoken here over plain HTTP).
//! Sign in with an admin token, create a SCIM token, use it against `/scim/v2/Users`, revoke it,
//! see the 401 and the audit entries.
//!
//! `.ci/run` installs `chromium` and `chromium-driver`; where they are missing the test says so
//! and passes without running. With `SCIM_CONSOLE_SCREENSHOTS=DIR` it saves a screenshot of each
//! page there (those of `docs/console.md`).

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};

use crate::{free_port, request, Scratch, Server};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

fn find_program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    names.iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    })
}

/// A ChromeDriver process and one browser session, ended when dropped.
struct Browser {
    driver: Child,
    port: u16,
    session: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    fn start(driver: &Path, chromium: &Path) -> Browser {
        let port = free_port();
        let driver = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while call(port, "GET", "/status", None).is_none() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = tempfile::tempdir().unwrap();
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--window-size=1100,900",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            },
        }}});
        let created = call(port, "POST", "/session", Some(&capabilities)).unwrap();
        let session = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {created}"))
            .to_owned();
        Browser {
            driver,
            port,
            session,
            _profile: profile,
        }
    }

    fn send(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        let full = format!("/session/{}{path}", self.session);
        let answer = call(self.port, method, &full, body).expect("chromedriver answers");
        assert!(
            answer["value"].get("error").is_none(),
            "{method} {path}: {answer}"
        );
        answer["value"].clone()
    }

    fn go(&self, url: &str) {
        self.send("POST", "/url", Some(&json!({ "url": url })));
    }

    fn find(&self, css: &str) -> String {
        let found = self.send(
            "POST",
            "/element",
            Some(&json!({"using": "css selector", "value": css})),
        );
        found[ELEMENT].as_str().unwrap().to_owned()
    }

    fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css);
        self.send(
            "POST",
            &format!("/element/{element}/value"),
            Some(&json!({ "text": text })),
        );
    }

    fn click(&self, css: &str) {
        let element = self.find(css);
        self.send(
            "POST",
            &format!("/element/{element}/click"),
            Some(&json!({})),
        );
    }

    fn property(&self, css: &str, name: &str) -> Value {
        let element = self.find(css);
        self.send("GET", &format!("/element/{element}/property/{name}"), None)
    }

    fn text(&self, css: &str) -> String {
        let element = self.find(css);
        self.send("GET", &format!("/element/{element}/text"), None)
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    fn wait_until(&self, what: &str, mut check: impl FnMut(&Browser) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !check(self) {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn screenshot(&self, name: &str) {
        let Some(dir) = std::env::var_os("SCIM_CONSOLE_SCREENSHOTS") else {
            return;
        };
        let png = self.send("GET", "/screenshot", None);
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap())
            .unwrap();
        std::fs::write(Path::new(&dir).join(format!("{name}.png")), bytes).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = call(
            self.port,
            "DELETE",
            &format!("/session/{}", self.session),
            None,
        );
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// One WebDriver call: `method path` with a JSON body; the JSON answer.
fn call(port: u16, method: &str, path: &str, body: Option<&Value>) -> Option<Value> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .ok()?;
    let body = body.map(Value::to_string).unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    // ChromeDriver keeps the connection open whatever `Connection` says: read the headers, then
    // exactly `Content-Length` bytes.
    let mut response = Vec::new();
    let mut byte = [0u8; 1];
    while !response.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).ok()?;
        response.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&response).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|value| value.trim().parse().ok())?;
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).ok()?;
    serde_json::from_slice(&body).ok()
}

#[test]
fn the_console_signs_in_creates_uses_and_revokes_a_token() {
    let (Some(driver), Some(chromium)) = (
        find_program(&["chromedriver"]),
        find_program(&["chromium", "chromium-browser"]),
    ) else {
        eprintln!(
            "skipping the browser test: chromium and chromedriver are not installed \
             (Debian: apt-get install chromium chromium-driver; .ci/run installs them)"
        );
        return;
    };
    let scratch = Scratch::new();
    scratch.ok(&["org", "create", "acme"]);
    let admin = scratch.ok(&["admin-token", "create", "--org", "acme"]);
    let server = Server::start(&scratch, &[]);
    let browser = Browser::start(&driver, &chromium);

    browser.go(&format!("http://127.0.0.1:{}/admin/", server.port));
    browser.screenshot("sign-in");
    browser.type_into("#admin-token", admin.trim());
    browser.click("#sign-in-form button");
    browser.wait_until("the workspace", |b| {
        b.property("#workspace", "hidden") == json!(false)
    });
    assert_eq!(browser.property("#org", "value"), json!("acme"));

    // Create a token: shown once, with its notice.
    browser.type_into("#token-name", "okta");
    browser.click("#new-token-form button");
    browser.wait_until("the new token", |b| {
        b.property("#new-token-value", "value")
            .as_str()
            .is_some_and(|v| v.starts_with("scim_"))
    });
    assert!(browser.text("#new-token .notice").contains("Shown once"));
    browser.screenshot("token-created");
    let token = browser
        .property("#new-token-value", "value")
        .as_str()
        .unwrap()
        .to_owned();

    // The token works against SCIM.
    let user = r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"bjensen"}"#;
    let (status, _) = request(
        server.port,
        "POST",
        "/scim/v2/Users",
        Some(&token),
        Some(user),
    )
    .expect("the server answers");
    assert_eq!(status, 201);
    browser.click("#done-token");
    browser.wait_until("the token list", |b| b.text("#token-rows").contains("okta"));
    browser.screenshot("tokens");

    // Revoke it from the console: 401 afterwards.
    browser.click("button[aria-label='Revoke token okta']");
    browser.send("POST", "/alert/accept", Some(&json!({})));
    browser.wait_until("the revocation", |b| b.text("#status").contains("Revoked"));
    let (status, _) = server.get("/scim/v2/Users", Some(&token));
    assert_eq!(status, 401);

    // The audit trail shows the user the token created.
    browser.click("nav button[data-tab='audit']");
    browser.click("#audit-form button");
    browser.wait_until("the audit entries", |b| {
        let rows = b.text("#audit-rows");
        rows.contains("created") && rows.contains("User")
    });
    browser.screenshot("audit");

    browser.click("nav button[data-tab='settings']");
    browser.wait_until("the settings", |b| {
        b.property("#settings", "hidden") == json!(false)
    });
    browser.screenshot("settings");

    // The console's responses forbid everything but its own files.
    let (status, _) = server.get("/admin/", None);
    assert_eq!(status, 200);
}
